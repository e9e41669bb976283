// `ascent template`: prints a chat template's rendering of a conversation, exactly, so it can be
// compared byte for byte with transformers' apply_chat_template.
#include <fstream>
#include <sstream>

#include "app/chat_prompt.h"
#include "app/commands.h"
#include "app/model_options.h"
#include "app/terminal_io.h"
#include "engine/error.h"
#include "engine/model_config.h"

namespace ascent::app {

namespace {

using nlohmann::ordered_json;

struct TemplateOptions {
    std::string model;
    std::string template_file;
    std::string messages_file;
    bool no_generation_prompt = false;
    std::string now;
};

ordered_json read_messages(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) input_error("{}: cannot open file", file);
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return ordered_json::parse(ss.str());
    } catch (const ordered_json::parse_error& e) {
        input_error("{}: invalid JSON: {}", file, e.what());
    }
}

int run_template(const TemplateOptions& o) {
    ordered_json input = read_messages(o.messages_file);
    ordered_json vars = ordered_json::object();
    if (input.is_array()) {
        vars["messages"] = input;
    } else if (input.is_object()) {
        vars = input;  // every key is a template variable, as given
    } else {
        input_error("{}: expected a list of messages or an object of template variables", o.messages_file);
    }
    const bool has_tools = vars.contains("tools") && !vars["tools"].is_null();
    std::optional<templates::FoundTemplate> found;
    ordered_json context = ordered_json::object();
    if (!o.model.empty()) {
        ModelOptions mo;
        mo.model = o.model;
        const auto folder = model_folder(mo);
        // The model's special tokens come first; the file's own variables override them.
        const auto tokens = templates::read_special_tokens(folder);
        context = templates::chat_context(templates::ChatRequest{}, tokens);
        context.erase("messages");
        context.erase("tools");
        context.erase("documents");
        context.erase("add_generation_prompt");
        if (o.template_file.empty()) {
            found = templates::find_model_template(folder, has_tools);
            if (!found) input_error("{}", templates::no_template_message(folder));
        }
    } else if (o.template_file.empty()) {
        input_error("give a model (-m) or a template file (--template)");
    }
    if (!o.template_file.empty()) found = templates::template_from_file(o.template_file);
    for (auto& [k, v] : vars.items()) context[k] = v;
    if (o.no_generation_prompt) context["add_generation_prompt"] = false;
    else if (!context.contains("add_generation_prompt")) context["add_generation_prompt"] = true;
    templates::RenderOptions ro;
    if (!o.now.empty()) ro.now = parse_iso8601(o.now);
    const auto t = templates::Template::parse(found->source, found->origin);
    write_stdout(t.render(context, ro));
    return 0;
}

}  // namespace

Runner add_template_command(CLI::App& root) {
    auto o = std::make_shared<TemplateOptions>();
    CLI::App* cmd = root.add_subcommand("template", "Render a chat template for a conversation, exactly as transformers does");
    cmd->add_option("-m,--model", o->model, "Model folder or id whose template and special tokens to use");
    cmd->add_option("--template", o->template_file, "A template file (.jinja) to use instead of the model's");
    cmd->add_option("--messages", o->messages_file,
                    "JSON file: a list of messages, or an object whose keys all become template variables")
        ->required();
    cmd->add_flag("--no-generation-prompt", o->no_generation_prompt, "Render without the assistant turn opener");
    cmd->add_option("--now", o->now, "Fix the clock strftime_now() reads (ISO-8601)");
    return [o] { return run_template(*o); };
}

}  // namespace ascent::app
