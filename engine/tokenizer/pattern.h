#pragma once
// The "pattern" object of tokenizer.json (Split pre-tokenizer, Replace normalizer and decoder):
// {"String": "literal"} or {"Regex": "..."}.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/tokenizer/regex.h"

namespace ascent::tok {

class Pattern {
public:
    // `where` names the file and field for error messages.
    static Pattern from_json(const nlohmann::json& j, const std::string& where);

    // Non-overlapping matches from left to right. An empty literal matches nothing.
    void find_all(std::string_view text, std::vector<Match>& out) const;

    std::string replace_all(std::string_view text, std::string_view with) const;

private:
    std::string literal_;
    std::optional<Regex> regex_;
};

}  // namespace ascent::tok
