#pragma once
// Added tokens (tokenizer.json "added_tokens", tokenizer_config.json "added_tokens_decoder"):
// strings that are cut out of the input whole, before normalization and the model run, with the
// Hugging Face flags single_word, lstrip, rstrip, normalized and special.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ascent::tok {

class Normalizer;

struct AddedToken {
    int32_t id = 0;
    std::string content;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = true;
    bool special = false;
};

// A stretch of text after added-token extraction: either an added token's id or plain text.
struct Segment {
    std::string text;
    std::optional<int32_t> id;
    bool at_start = false;  // begins at offset 0 of the original input
};

class AddedVocabulary {
public:
    // Tokens are matched in the order the Hugging Face library gives them: special ones first.
    void add(const AddedToken& token);
    // Builds the matchers; normalized tokens are matched in their normalized spelling.
    void finalize(const Normalizer* normalizer);

    // Cuts added tokens out of `text`, normalizing the rest with `normalizer` (may be null).
    // With parse_special false, tokens flagged special are not recognized (their text stays text).
    std::vector<Segment> extract(std::string_view text, const Normalizer* normalizer, bool parse_special) const;

    const AddedToken* find(int32_t id) const;
    std::optional<int32_t> find(std::string_view content) const;
    bool is_special_content(std::string_view content) const;
    int32_t max_id() const;
    const std::vector<AddedToken>& tokens() const { return tokens_; }

private:
    // Byte trie giving the longest token that starts at a position.
    struct Trie {
        struct Node {
            std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
            int32_t token = -1;                                        // index into tokens_
        };
        std::vector<Node> nodes{Node{}};
        bool first_byte[256] = {};
        void insert(std::string_view s, int32_t token);
        // Longest match at `pos`: (token index, length) or token index -1.
        std::pair<int32_t, size_t> longest_at(std::string_view text, size_t pos) const;
    };

    void split(std::string_view text, const Trie& trie, bool parse_special, bool at_start,
               std::vector<Segment>& out) const;

    std::vector<AddedToken> tokens_;
    std::unordered_map<int32_t, size_t> by_id_;
    std::unordered_map<std::string, int32_t> by_content_;
    std::unordered_set<std::string> special_contents_;
    Trie raw_trie_, normalized_trie_;
};

}  // namespace ascent::tok
