// `ascent chat`: the full-screen chat when stdin and stdout are terminals, a line-oriented REPL
// otherwise (or with --plain). Both run the model on an engine thread behind ui::ChatBackend.
#include <fmt/format.h>

#include <cstdio>
#include <optional>
#include <unistd.h>

#include "app/chat_engine.h"
#include "app/chat_prompt.h"
#include "app/commands.h"
#include "app/model_options.h"
#include "app/sampling_options.h"
#include "engine/error.h"
#include "ui/line_editor.h"
#include "ui/plain_repl.h"
#include "ui/tui.h"

namespace ascent::app {

namespace {

// A completion pad stops after this many tokens unless told otherwise: Enter continues, and a
// base model left alone would write until the context is full.
constexpr int kPadMaxTokens = 256;
constexpr int64_t kUiPrefillChunk = 64;  // small chunks: Ctrl-C during a long prompt stops within one

struct ChatOptions {
    ModelOptions model;
    bool plain = false;
    bool no_stats = false;
    ChatTemplateFlags tmpl;
    std::string load;
    std::optional<int> max_tokens;
    SamplingFlags sampling;
    std::optional<uint64_t> seed;
};

ui::GenerationSettings settings_for(const ChatOptions& o, const models::LoadedModel& m, bool chat) {
    const SamplingParams p = resolve_sampling(o.sampling, m);
    ui::GenerationSettings s;
    s.temperature = p.temperature;
    s.top_k = p.top_k;
    s.top_p = p.top_p;
    s.min_p = p.min_p;
    s.repeat_penalty = p.repeat_penalty;
    if (m.generation.max_new_tokens && std::filesystem::exists(m.folder / "generation_config.json"))
        s.max_tokens = *m.generation.max_new_tokens;
    if (!chat && s.max_tokens < 0) s.max_tokens = kPadMaxTokens;
    if (o.max_tokens) s.max_tokens = *o.max_tokens;
    if (o.seed) s.seed = *o.seed;
    return s;
}

int run_chat(const ChatOptions& o) {
    const bool terminal = isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1;
    const auto kwargs = parse_chat_template_kwargs(o.tmpl.chat_template_kwargs);
    std::optional<ui::Conversation> loaded;
    if (!o.load.empty()) loaded = ui::load_conversation(o.load);  // bad files fail before the model loads
    if (terminal && isatty(STDERR_FILENO) == 1) std::fprintf(stderr, "ascent: loading %s…\n", model_folder(o.model).string().c_str());
    auto m = load(o.model);
    SessionOptions so = session_options(o.model, *m);
    so.prefill_chunk = kUiPrefillChunk;
    auto tmpl = resolve_chat_template(m->folder, o.tmpl.chat_template, false);
    ui::Conversation initial;
    initial.settings = settings_for(o, *m, tmpl.has_value());
    initial.system = o.tmpl.system;
    if (loaded) {
        initial = *loaded;
        if (!o.tmpl.system.empty()) initial.system = o.tmpl.system;
    }
    EngineChatBackend backend(std::move(m), so, std::move(tmpl), kwargs, initial.settings);
    if (o.plain || !terminal) return ui::run_plain(backend, initial, {ui::default_history_file()});
    return ui::run_tui(backend, initial, {ui::default_history_file(), !o.no_stats});
}

}  // namespace

Runner add_chat_command(CLI::App& root) {
    auto o = std::make_shared<ChatOptions>();
    CLI::App* cmd = root.add_subcommand(
        "chat", "Chat in a full-screen terminal UI with live stats (a line REPL with --plain or without a terminal)");
    add_model_options(*cmd, o->model);
    cmd->add_flag("--plain", o->plain, "Line-oriented REPL instead of the full-screen UI (dumb terminals, scripts)");
    cmd->add_flag("--no-stats", o->no_stats, "Start with the stats pane hidden (F3 shows it)");
    add_chat_template_options(*cmd, o->tmpl, "");
    cmd->add_option("--load", o->load, "Start from a conversation saved with /save");
    cmd->add_option("-n,--max-tokens", o->max_tokens,
                    fmt::format("Tokens per answer at most (-1: no limit; default: the model's, or {} for a model "
                                "without a chat template)",
                                kPadMaxTokens))
        ->check(CLI::Range(-1, 1 << 30));
    add_sampling_options(*cmd, o->sampling);
    cmd->add_option("--seed,-s", o->seed, "Random seed for every answer (default: a new one each time)");
    return [o] { return run_chat(*o); };
}

}  // namespace ascent::app
