#pragma once
// A conversation as the user sees it and `/save` writes it: the messages (OpenAI-style roles,
// with the reasoning a model wrote kept apart from its answer) and the sampling settings.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

namespace ascent::ui {

struct Message {
    std::string role;       // "system", "user" or "assistant"
    std::string content;
    std::string reasoning;  // assistant only: the thinking before the answer

    bool operator==(const Message&) const = default;
};

struct GenerationSettings {
    float temperature = 0.8f;
    float top_p = 0.95f;
    int top_k = 40;
    float min_p = 0.05f;
    float repeat_penalty = 1.f;
    int max_tokens = -1;             // -1: until end of turn or the context is full
    std::optional<uint64_t> seed;    // none: a fresh random seed each turn

    bool operator==(const GenerationSettings&) const = default;
};

struct Conversation {
    std::string system;              // system prompt; empty: none
    std::vector<Message> messages;   // user and assistant turns, in order
    GenerationSettings settings;

    bool operator==(const Conversation&) const = default;
};

// The messages as a chat template takes them (OpenAI roles; reasoning as "reasoning_content",
// which templates such as Qwen3's use to decide which past thinking to keep).
nlohmann::ordered_json conversation_messages(const Conversation& c);

// {"format": "ascent-conversation", "version": 1, "model": ..., "settings": {...},
//  "messages": [{"role": "system", ...}, {"role": "user", "content": ...},
//               {"role": "assistant", "content": ..., "reasoning_content": ...}]}
nlohmann::ordered_json conversation_to_json(const Conversation& c, const std::string& model_name);
// input_error naming `origin` (a file name) and the field when the JSON is not a conversation.
Conversation conversation_from_json(const nlohmann::json& j, const std::string& origin);

void save_conversation(const std::filesystem::path& file, const Conversation& c, const std::string& model_name);
Conversation load_conversation(const std::filesystem::path& file);

}  // namespace ascent::ui
