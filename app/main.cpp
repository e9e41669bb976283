// ascent: a terminal chat and completion tool with its own inference engine.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/terminal_io.h"
#include "chat_templates/jinja/error.h"
#include "engine/error.h"

namespace {

void print_error(const std::string& message) { std::fprintf(stderr, "ascent: error: %s\n", message.c_str()); }

// Without a subcommand (`ascent`, `ascent -m MODEL`), ascent is the chat UI on a terminal and a
// completion in a pipe (DESIGN.md): the arguments are read as those of that subcommand.
std::vector<char*> with_default_subcommand(int argc, char** argv, const std::map<std::string, ascent::app::Runner>& runners) {
    std::vector<char*> args(argv, argv + argc);
    if (argc > 1) {
        const std::string first = argv[1];
        if (runners.count(first) || first == "-h" || first == "--help" || first == "--version") return args;
    }
    static std::string chosen;
    chosen = ascent::app::stdin_is_terminal() && ascent::app::stdout_is_terminal() ? "chat" : "complete";
    args.insert(args.begin() + 1, chosen.data());
    return args;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ascent::app;
    CLI::App app{"ascent: chat with and complete text from small language models, in the terminal"};
    app.set_version_flag("--version", "ascent 0.1.0");
    std::map<std::string, Runner> runners;
    runners["complete"] = add_complete_command(app);
    runners["tokenize"] = add_tokenize_command(app);
    runners["info"] = add_info_command(app);
    runners["template"] = add_template_command(app);
    runners["bench"] = add_bench_command(app);
    runners["chat"] = add_chat_command(app);
    app.require_subcommand(0, 1);
    auto args = with_default_subcommand(argc, argv, runners);
    try {
        app.parse(static_cast<int>(args.size()), args.data());
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        print_error(e.what());
        std::fprintf(stderr, "Run 'ascent --help' for usage.\n");
        return 2;
    }
    try {
        for (auto& [name, run] : runners)
            if (app.got_subcommand(name)) return run();
        return runners["complete"]();  // not reached: a subcommand is always chosen above
    } catch (const ascent::Error& e) {
        print_error(e.what());
        return e.exit_code();
    } catch (const ascent::templates::TemplateError& e) {
        print_error(e.what());  // a template is input: the model folder's or the user's
        return 2;
    } catch (const CLI::ParseError& e) {
        print_error(e.what());
        return 2;
    } catch (const std::bad_alloc&) {
        print_error("out of memory");
        return 1;
    } catch (const std::exception& e) {
        print_error(e.what());
        return 1;
    }
}
