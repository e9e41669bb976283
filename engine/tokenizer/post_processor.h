#pragma once
// tokenizer.json "post_processor": the special tokens wrapped around an encoded sequence (Llama's
// BOS). Supported: TemplateProcessing, ByteLevel (changes offsets only, so nothing here), Sequence.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ascent::tok {

// What the post-processor does to a single sequence: special ids before and after it.
struct Wrapping {
    std::vector<int32_t> before;
    std::vector<int32_t> after;

    void apply(std::vector<int32_t>& ids, bool add_special_tokens) const;
};

// Parses the post_processor object. `token_id` resolves the token strings a template names.
Wrapping parse_post_processor(const nlohmann::json& j, const std::string& where,
                              const std::function<std::optional<int32_t>(std::string_view)>& token_id);

}  // namespace ascent::tok
