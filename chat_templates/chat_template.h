#pragma once
// Finding a model's chat template and building the context transformers'
// apply_chat_template renders it with.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "chat_templates/jinja/template.h"

namespace ascent::templates {

// Where a model folder's template comes from.
struct FoundTemplate {
    std::string source;
    std::string origin;  // file (+ key/name) it came from, for messages
};

// Looks in the model folder, in this order (as transformers does):
//   chat_template.jinja (with additional_chat_templates/tool_use.jinja when tools are given),
//   chat_template.json ("chat_template"),
//   tokenizer_config.json ("chat_template": a string, or a list of {"name", "template"}:
//   "tool_use" when tools are given and it exists, else "default").
// nullopt means the model has no template (a base model); that is not an error.
// Throws TemplateError (Kind::Source) for unreadable or malformed files.
std::optional<FoundTemplate> find_model_template(const std::filesystem::path& model_folder, bool has_tools);

// A template shipped with ascent (chat_templates/<name>.jinja), e.g. "chatml"; nullopt if there is none.
std::optional<FoundTemplate> bundled_template(const std::string& name, const std::filesystem::path& bundled_dir);

// A template file the user names. Throws TemplateError (Kind::Source) if it cannot be read.
FoundTemplate template_from_file(const std::filesystem::path& file);

// The statement for a model without a template, naming what was looked for and what to do.
std::string no_template_message(const std::filesystem::path& model_folder);

// Special tokens a template sees (bos_token, ...), from tokenizer_config.json. A token
// whose value is null or missing is left out of the context, as transformers does.
struct SpecialTokens {
    std::optional<std::string> bos_token;
    std::optional<std::string> eos_token;
    std::optional<std::string> unk_token;
    std::optional<std::string> pad_token;
};
// Missing tokenizer_config.json gives no tokens; a malformed one throws TemplateError (Kind::Source).
SpecialTokens read_special_tokens(const std::filesystem::path& model_folder);

struct ChatRequest {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    nlohmann::ordered_json tools;      // null when the chat has no tools
    nlohmann::ordered_json documents;  // null when there are none
    bool add_generation_prompt = true;
    // Any further template variables (enable_thinking, reasoning_effort, ...); they
    // override special tokens of the same name.
    nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

// Parses the value of `--now` for RenderOptions::now: "YYYY-MM-DD" or
// "YYYY-MM-DDTHH:MM[:SS[.ffffff]]" (a space may replace the T, a trailing Z is allowed),
// read as UTC, which is also how strftime_now() formats a fixed clock. nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> parse_iso_datetime(std::string_view text);

// The variables of apply_chat_template: messages, tools, documents, add_generation_prompt,
// the special tokens, then `extra`.
nlohmann::ordered_json chat_context(const ChatRequest& request, const SpecialTokens& tokens);

}  // namespace ascent::templates
