#include "app/completion_json.h"

#include <chrono>
#include <random>

namespace ascent::app {

using nlohmann::ordered_json;

namespace {

std::string completion_id(const char* prefix) {
    std::random_device rd;
    std::mt19937_64 g(rd());
    static const char* hex = "0123456789abcdef";
    std::string id = prefix;
    for (int i = 0; i < 24; ++i) id += hex[g() % 16];
    return id;
}

// The fields every OpenAI completion object shares around its one choice.
ordered_json envelope(const char* id_prefix, const char* object, const std::string& model_name, ordered_json choice,
                      const GenerationResult& r) {
    ordered_json j;
    j["id"] = completion_id(id_prefix);
    j["object"] = object;
    j["created"] = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
    j["model"] = model_name;
    j["choices"] = ordered_json::array({std::move(choice)});
    j["usage"] = {{"prompt_tokens", r.stats.prompt_tokens},
                  {"completion_tokens", r.stats.generated_tokens},
                  {"total_tokens", r.stats.prompt_tokens + r.stats.generated_tokens}};
    return j;
}

}  // namespace

ordered_json text_completion_json(const std::string& model_name, const std::string& prompt_text,
                                  const GenerationResult& r, const Tokenizer& tok, bool echo, bool with_logprobs) {
    ordered_json choice;
    choice["index"] = 0;
    choice["text"] = echo ? prompt_text + r.text : r.text;
    if (with_logprobs) {
        ordered_json tokens = ordered_json::array(), lps = ordered_json::array(), tops = ordered_json::array(),
                     offsets = ordered_json::array();
        size_t offset = 0;
        auto add = [&](const TokenLogprob& e) {
            std::string text = tok.decode(std::span<const int32_t>(&e.id, 1));
            tokens.push_back(text);
            lps.push_back(e.logprob ? ordered_json(*e.logprob) : ordered_json(nullptr));
            if (e.top.empty() && !e.logprob) {
                tops.push_back(nullptr);
            } else {
                ordered_json top = ordered_json::object();
                for (const auto& [id, lp] : e.top) top[tok.decode(std::span<const int32_t>(&id, 1))] = lp;
                tops.push_back(top);
            }
            offsets.push_back(offset);
            offset += text.size();
        };
        if (echo)
            for (const auto& e : r.prompt_logprobs) add(e);
        for (const auto& e : r.token_logprobs) add(e);
        choice["logprobs"] = {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops},
                              {"text_offset", offsets}};
    } else {
        choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = r.finish_reason;
    return envelope("cmpl-", "text_completion", model_name, std::move(choice), r);
}

ordered_json chat_completion_json(const std::string& model_name, const std::string& content,
                                  const std::string& reasoning, const GenerationResult& r) {
    ordered_json message = {{"role", "assistant"}, {"content", content}};
    if (!reasoning.empty()) message["reasoning_content"] = reasoning;
    ordered_json choice = {{"index", 0}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", r.finish_reason}};
    return envelope("chatcmpl-", "chat.completion", model_name, std::move(choice), r);
}

}  // namespace ascent::app
