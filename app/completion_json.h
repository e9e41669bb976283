#pragma once
// The OpenAI-style objects `complete --json` prints.
#include <nlohmann/json.hpp>
#include <string>
#include "engine/generate.h"
#include "engine/tokenizer/tokenizer.h"

namespace ascent::app {

// A `text_completion` object: choices[0].text, finish_reason, usage, and logprobs in the
// completions API layout (tokens, token_logprobs, top_logprobs, text_offset) when requested.
nlohmann::ordered_json text_completion_json(const std::string& model_name, const std::string& prompt_text,
                                            const GenerationResult& r, const Tokenizer& tok, bool echo,
                                            bool with_logprobs);

// A `chat.completion` object: choices[0].message with content and, when the model reasoned,
// reasoning_content; finish_reason and usage as above.
nlohmann::ordered_json chat_completion_json(const std::string& model_name, const std::string& content,
                                            const std::string& reasoning, const GenerationResult& r);

}  // namespace ascent::app
