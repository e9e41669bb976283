#pragma once
// The regular expressions tokenizer.json files contain (Split patterns, Replace patterns) were
// written for Oniguruma, which the Hugging Face library uses. PCRE2 in UTF + UCP mode reads them the
// same way once a few differences are bridged; see onig_to_pcre2().
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ascent::tok {

struct Match {
    size_t start;
    size_t end;
};

class Regex {
public:
    // `where` names the file and field for the error message when the pattern does not compile.
    Regex(std::string_view pattern, std::string_view where);

    // All non-overlapping matches from left to right, like Oniguruma's find_iter: after an empty
    // match the search resumes one character later. `text` must be valid UTF-8.
    void find_all(std::string_view text, std::vector<Match>& out) const;

private:
    struct Code;
    std::shared_ptr<const Code> code_;
};

// Rewrites an Oniguruma pattern so that PCRE2 matches the same text. Oniguruma's `\s` is Unicode
// White_Space, which includes U+0085; PCRE2's `\s` in UCP mode does not.
std::string onig_to_pcre2(std::string_view pattern);

}  // namespace ascent::tok
