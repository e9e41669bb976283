#pragma once
// Turning a conversation into the prompt a chat model expects: find its template (or the one
// the user names), render it with the model's special tokens, and learn from the template how
// the model ends a turn and whether it writes reasoning first.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>
#include "chat_templates/chat_template.h"
#include "engine/reasoning.h"
#include "models/loader.h"

namespace ascent::app {

// --chat-template: a file path, or the name of a bundled template (chat_templates/NAME.jinja).
// Empty: the model's own template, nullopt when it has none.
std::optional<templates::FoundTemplate> resolve_chat_template(const std::filesystem::path& model_folder,
                                                              const std::string& choice, bool has_tools);

// What a template tells about its model's turns: the end-of-turn marker (when it is one token)
// and the reasoning convention.
struct TemplateTraits {
    std::vector<int32_t> stop_ids;
    std::vector<std::string> stop_texts;
    ReasoningFormat reasoning = ReasoningFormat::None;
};
TemplateTraits template_traits(const models::LoadedModel& m, const templates::FoundTemplate& tmpl);

struct ChatPrompt {
    std::string text;
    std::vector<int32_t> stop_ids;  // the template's end-of-turn token, when it is one token
    ReasoningFormat reasoning = ReasoningFormat::None;
};

ChatPrompt build_chat_prompt(const models::LoadedModel& m, const templates::FoundTemplate& tmpl,
                             const nlohmann::ordered_json& messages, const nlohmann::ordered_json& extra,
                             bool add_generation_prompt = true);

// --chat-template-kwargs: a JSON object of extra template variables ("" = none).
nlohmann::ordered_json parse_chat_template_kwargs(const std::string& text);

// --system, --chat-template and --chat-template-kwargs, shared by `complete --chat` and `chat`.
struct ChatTemplateFlags {
    std::string system;
    std::string chat_template;
    std::string chat_template_kwargs;
    bool any() const { return !system.empty() || !chat_template.empty() || !chat_template_kwargs.empty(); }
};
// `help_prefix` starts each flag's help (e.g. "With --chat: ").
void add_chat_template_options(CLI::App& cmd, ChatTemplateFlags& f, const std::string& help_prefix);

// "2025-01-15T12:00:00", "2025-01-15T12:00:00Z" or "2025-01-15", read as UTC.
std::chrono::system_clock::time_point parse_iso8601(const std::string& s);

}  // namespace ascent::app
