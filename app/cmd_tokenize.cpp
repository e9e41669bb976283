// `ascent tokenize`: the ids a text encodes to. Needs only the tokenizer files, no weights.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/model_options.h"
#include "app/terminal_io.h"
#include "engine/error.h"
#include "engine/tokenizer/tokenizer.h"

namespace ascent::app {

namespace {

struct TokenizeOptions {
    ModelOptions model;
    std::string text;
    bool json = false;
    bool no_special = false;
    bool no_bos = false;
};

int run_tokenize(const TokenizeOptions& o) {
    install_signal_handlers();
    std::string text;
    if (o.text.empty() || o.text == "-") {
        if (o.text.empty() && stdin_is_terminal())
            input_error("no text: pass it as an argument or pipe it on standard input");
        text = read_stdin_utf8();
    } else {
        text = o.text;
    }
    // A folder holding only the tokenizer files is enough: no config.json, no weights.
    const bool bare_folder = !o.model.model.empty() && std::filesystem::is_directory(o.model.model);
    const Tokenizer tok = Tokenizer::from_folder(bare_folder ? std::filesystem::path(o.model.model) : model_folder(o.model));
    EncodeOptions enc;
    enc.parse_special = !o.no_special;
    enc.add_special_tokens = !o.no_bos;
    const auto ids = tok.encode(text, enc);
    std::string out;
    if (o.json) {
        out = nlohmann::json(ids).dump() + "\n";
    } else {
        for (int32_t id : ids) {
            const std::string piece = tok.decode(std::span<const int32_t>(&id, 1));
            out += fmt::format("{:>8} {}\n", id, nlohmann::json(piece).dump(-1, ' ', false,
                                                                         nlohmann::json::error_handler_t::replace));
        }
    }
    write_stdout(out);
    return 0;
}

}  // namespace

Runner add_tokenize_command(CLI::App& root) {
    auto o = std::make_shared<TokenizeOptions>();
    CLI::App* cmd = root.add_subcommand("tokenize", "Print the token ids of a text (needs only the tokenizer files)");
    cmd->add_option("text", o->text, "Text; '-' or nothing reads standard input");
    add_model_options(*cmd, o->model, false);
    cmd->add_flag("--json", o->json, "Print the ids as one JSON array");
    cmd->add_flag("--no-special", o->no_special, "Treat special-token text as plain text");
    cmd->add_flag("--no-bos", o->no_bos, "Do not add the tokens the tokenizer adds around a text (BOS)");
    return [o] { return run_tokenize(*o); };
}

}  // namespace ascent::app
