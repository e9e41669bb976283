#include "app/chat_prompt.h"

#include <cctype>

#include "app/data_dir.h"
#include "engine/error.h"

namespace ascent::app {

using nlohmann::ordered_json;

std::optional<templates::FoundTemplate> resolve_chat_template(const std::filesystem::path& model_folder,
                                                              const std::string& choice, bool has_tools) {
    if (choice.empty()) return templates::find_model_template(model_folder, has_tools);
    if (std::filesystem::is_regular_file(choice)) return templates::template_from_file(choice);
    const auto dir = data_dir() / "chat_templates";
    if (auto t = templates::bundled_template(choice, dir)) return t;
    std::string names;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".jinja") names += (names.empty() ? "" : ", ") + e.path().stem().string();
    input_error("--chat-template {}: no such file, and no bundled template of that name (bundled: {})", choice, names);
}

namespace {

// The text a template writes right after an assistant message: its end-of-turn marker.
std::optional<std::string> end_marker(const templates::Template& t, const templates::SpecialTokens& tokens) {
    static const std::string kProbe = "ASCENT_END_PROBE";
    templates::ChatRequest req;
    req.messages = ordered_json::array({{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", kProbe}}});
    req.add_generation_prompt = false;
    std::string out;
    try {
        out = t.render(templates::chat_context(req, tokens));
    } catch (const templates::TemplateError&) {
        return std::nullopt;  // a template that refuses this probe conversation: no marker learned
    }
    size_t at = out.rfind(kProbe);
    if (at == std::string::npos) return std::nullopt;
    std::string tail = out.substr(at + kProbe.size());
    size_t nl = tail.find('\n');
    if (nl != std::string::npos) tail.resize(nl);
    while (!tail.empty() && tail.back() == ' ') tail.pop_back();
    if (tail.empty()) return std::nullopt;
    return tail;
}

}  // namespace

TemplateTraits template_traits(const models::LoadedModel& m, const templates::FoundTemplate& found) {
    TemplateTraits traits;
    traits.reasoning = detect_reasoning_format(found.source);
    // gpt-oss ends an analysis message with <|end|> but the reply with <|return|>: its stops
    // come from generation_config.json alone.
    if (traits.reasoning == ReasoningFormat::Harmony) return traits;
    const auto t = templates::Template::parse(found.source, found.origin);
    if (auto marker = end_marker(t, templates::read_special_tokens(m.folder)))
        if (auto id = m.tokenizer->token_id(*marker)) {
            traits.stop_ids.push_back(*id);
            traits.stop_texts.push_back(*marker);
        }
    return traits;
}

ChatPrompt build_chat_prompt(const models::LoadedModel& m, const templates::FoundTemplate& found,
                             const ordered_json& messages, const ordered_json& extra, bool add_generation_prompt) {
    const auto t = templates::Template::parse(found.source, found.origin);
    templates::ChatRequest req;
    req.messages = messages;
    req.extra = extra;
    req.add_generation_prompt = add_generation_prompt;
    ChatPrompt p;
    p.text = t.render(templates::chat_context(req, templates::read_special_tokens(m.folder)));
    const auto traits = template_traits(m, found);
    p.reasoning = traits.reasoning;
    p.stop_ids = traits.stop_ids;
    return p;
}

ordered_json parse_chat_template_kwargs(const std::string& text) {
    if (text.empty()) return ordered_json::object();
    try {
        auto j = ordered_json::parse(text);
        if (!j.is_object()) input_error("--chat-template-kwargs must be a JSON object, got {}", text);
        return j;
    } catch (const ordered_json::parse_error& e) {
        input_error("--chat-template-kwargs is not valid JSON: {}", e.what());
    }
}

std::chrono::system_clock::time_point parse_iso8601(const std::string& s) {
    if (auto t = templates::parse_iso_datetime(s)) return *t;
    input_error("--now {}: expected an ISO-8601 time such as 2025-01-15T12:00:00", s);
}

void add_chat_template_options(CLI::App& cmd, ChatTemplateFlags& f, const std::string& help_prefix) {
    auto help = [&](std::string text) {
        if (help_prefix.empty()) text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
        return help_prefix + text;
    };
    cmd.add_option("--system", f.system, help("a system message first"));
    cmd.add_option("--chat-template", f.chat_template,
                   help("a template file, or a bundled one by name (e.g. chatml), instead of the model's"));
    cmd.add_option("--chat-template-kwargs", f.chat_template_kwargs,
                   help("extra template variables as a JSON object, e.g. '{\"enable_thinking\": false}'"));
}

}  // namespace ascent::app
