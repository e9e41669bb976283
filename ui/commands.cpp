#include "ui/commands.h"

#include <fmt/format.h>

#include <charconv>
#include <map>

namespace ascent::ui {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

struct Spec {
    CommandKind kind;
    enum class Arg { None, Optional, Required } arg;
    const char* usage;
};

const std::map<std::string, Spec, std::less<>>& specs() {
    static const std::map<std::string, Spec, std::less<>> m{
        {"help", {CommandKind::Help, Spec::Arg::None, "/help"}},
        {"?", {CommandKind::Help, Spec::Arg::None, "/?"}},
        {"clear", {CommandKind::Clear, Spec::Arg::None, "/clear"}},
        {"system", {CommandKind::System, Spec::Arg::Optional, "/system TEXT"}},
        {"set", {CommandKind::Set, Spec::Arg::Optional, "/set KEY VALUE"}},
        {"mode", {CommandKind::Mode, Spec::Arg::Optional, "/mode eager|graph"}},
        {"stats", {CommandKind::Stats, Spec::Arg::None, "/stats"}},
        {"save", {CommandKind::Save, Spec::Arg::Required, "/save FILE"}},
        {"load", {CommandKind::Load, Spec::Arg::Required, "/load FILE"}},
        {"regen", {CommandKind::Regen, Spec::Arg::None, "/regen"}},
        {"copy", {CommandKind::Copy, Spec::Arg::None, "/copy"}},
        {"quit", {CommandKind::Quit, Spec::Arg::None, "/quit"}},
        {"exit", {CommandKind::Quit, Spec::Arg::None, "/exit"}},
        {"bye", {CommandKind::Quit, Spec::Arg::None, "/bye"}},
    };
    return m;
}

template <typename T>
bool parse_number(const std::string& text, T& out) {
    const char* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc() && p == end;
}

}  // namespace

std::optional<std::variant<Command, CommandError>> parse_command(std::string_view line) {
    std::string_view s = trim(line);
    if (!s.starts_with('/') || s.starts_with("//")) return std::nullopt;
    s.remove_prefix(1);
    const size_t name_end = s.find_first_of(" \t\n");
    const std::string_view name = s.substr(0, name_end);
    const std::string_view arg = name_end == std::string_view::npos ? std::string_view{} : trim(s.substr(name_end));
    auto it = specs().find(name);
    if (it == specs().end()) return CommandError{fmt::format("unknown command /{} (/help lists them)", name)};
    const Spec& spec = it->second;
    if (spec.arg == Spec::Arg::None && !arg.empty())
        return CommandError{fmt::format("{} takes no argument", spec.usage)};
    if (spec.arg == Spec::Arg::Required && arg.empty()) return CommandError{fmt::format("usage: {}", spec.usage)};
    Command c{spec.kind, std::string(arg), {}};
    if (spec.kind == CommandKind::Mode && !arg.empty() && arg != "eager" && arg != "graph")
        return CommandError{fmt::format("/mode takes eager or graph, not {}", arg)};
    if (spec.kind == CommandKind::Set && !arg.empty()) {
        const size_t sp = arg.find_first_of(" \t");
        if (sp == std::string_view::npos)
            return CommandError{fmt::format("usage: /set {} VALUE", arg)};
        c.arg = std::string(arg.substr(0, sp));
        c.value = std::string(trim(arg.substr(sp)));
        GenerationSettings probe;
        if (auto err = apply_setting(probe, c.arg, c.value)) return CommandError{*err};
    }
    return c;
}

std::string message_text(std::string_view line) {
    if (trim(line).starts_with("//")) {
        const size_t at = line.find("//");
        return std::string(line.substr(0, at)) + std::string(line.substr(at + 1));
    }
    return std::string(line);
}

std::optional<std::string> apply_setting(GenerationSettings& s, const std::string& key, const std::string& value) {
    auto bad = [&](const char* what) { return fmt::format("/set {}: {} ({} given)", key, what, value); };
    if (key == "temperature" || key == "top_p" || key == "min_p") {
        float v = 0;
        if (!parse_number(value, v)) return bad("expected a number");
        if (key == "temperature") {
            if (v < 0 || v > 100) return bad("must be between 0 (greedy) and 100");
            s.temperature = v;
        } else {
            if (v < 0 || v > 1) return bad("must be between 0 and 1");
            (key == "top_p" ? s.top_p : s.min_p) = v;
        }
        return std::nullopt;
    }
    if (key == "top_k" || key == "max_tokens") {
        int v = 0;
        if (!parse_number(value, v)) return bad("expected a whole number");
        if (key == "top_k") {
            if (v < 0) return bad("must be 0 (off) or more");
            s.top_k = v;
        } else {
            if (v < -1 || v == 0) return bad("must be -1 (no limit) or at least 1");
            s.max_tokens = v;
        }
        return std::nullopt;
    }
    if (key == "seed") {
        if (value == "random") {
            s.seed.reset();
            return std::nullopt;
        }
        uint64_t v = 0;
        if (!parse_number(value, v)) return bad("expected a non-negative whole number or \"random\"");
        s.seed = v;
        return std::nullopt;
    }
    return fmt::format("/set: unknown setting {} (temperature, top_p, top_k, min_p, max_tokens, seed)", key);
}

std::string describe_settings(const GenerationSettings& s) {
    return fmt::format("temperature {} · top_p {} · top_k {} · min_p {} · max_tokens {} · seed {}", s.temperature,
                       s.top_p, s.top_k, s.min_p, s.max_tokens, s.seed ? std::to_string(*s.seed) : "random");
}

std::vector<std::string> help_lines(bool chat_model) {
    std::vector<std::string> l{
        "Keys",
        "  Enter            send the message" + std::string(chat_model ? "" : " (empty: continue the text)"),
        "  Alt-Enter, Ctrl-J  new line in the message (pasted text keeps its lines)",
        "  Ctrl-C           stop the answer (also while reading the prompt); when idle, quit after asking",
        "  Ctrl-D           quit (on an empty input line)",
        "  F1               this help",
        "  F2               switch eager/graph, from the next token (also mid-answer)",
        "  F3               show/hide the stats pane",
        "  F4               fold/unfold reasoning",
        "  PgUp/PgDn, wheel  scroll the conversation (at the bottom it follows new text)",
        "  Up/Down, Ctrl-R  input history (readline keys: Ctrl-A/E/K/U/W, Alt-B/F, ...)",
        "  Ctrl-L           redraw the screen",
        "Commands",
        "  /help            this help",
        "  /clear           start a new conversation (keeps the system prompt)",
        "  /system TEXT     set the system prompt (/system alone shows it)",
        "  /set KEY VALUE   temperature, top_p, top_k, min_p, max_tokens, seed (/set alone shows them)",
        "  /mode eager|graph  execution mode (alone: switch)",
        "  /stats           copy the stats into the conversation",
        "  /save FILE       save the messages and settings as JSON",
        "  /load FILE       restore a saved conversation",
        "  /regen           answer the last message again",
        "  /copy            last answer to the clipboard (OSC 52, works over SSH)",
        "  /quit            leave (also /exit, /bye)",
        "  //text           send a message that starts with /",
    };
    return l;
}

std::vector<std::string> completion_candidates() {
    std::vector<std::string> out;
    for (const auto& [name, spec] : specs()) out.push_back("/" + name);
    for (const char* k : {"temperature", "top_p", "top_k", "min_p", "max_tokens", "seed"}) out.push_back(std::string("/set ") + k);
    out.push_back("/mode eager");
    out.push_back("/mode graph");
    return out;
}

}  // namespace ascent::ui
