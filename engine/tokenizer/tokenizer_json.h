#pragma once
// Reads tokenizer.json. The vocabulary and merges (hundreds of thousands of entries for gpt-oss)
// are streamed into flat buffers instead of a JSON tree, which is what keeps loading fast; every
// other part of the file becomes an ordinary JSON value.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ascent::tok {

// "model.vocab": token -> id pairs, token bytes stored back to back in `arena`.
struct RawVocab {
    struct Entry {
        uint32_t offset;
        uint32_t length;
        int64_t id;
    };
    std::string arena;
    std::vector<Entry> entries;

    std::string_view token(const Entry& e) const { return std::string_view(arena).substr(e.offset, e.length); }
    void add(std::string_view token, int64_t id);
};

// "model.merges": pairs of token strings, in rank order.
struct RawMerges {
    struct Entry {
        uint32_t offset;
        uint32_t left_length;
        uint32_t right_length;
    };
    std::string arena;
    std::vector<Entry> entries;

    std::string_view left(const Entry& e) const { return std::string_view(arena).substr(e.offset, e.left_length); }
    std::string_view right(const Entry& e) const {
        return std::string_view(arena).substr(e.offset + e.left_length, e.right_length);
    }
    void add(std::string_view left, std::string_view right);
};

// Converts JSON values of the two fields (small hand-written files, unusual layouts).
RawVocab raw_vocab_from_json(const nlohmann::json& vocab, const std::string& where);
RawMerges raw_merges_from_json(const nlohmann::json& merges, const std::string& where);
// Splits the "a b" spelling of a merge.
void add_merge_string(RawMerges& merges, std::string_view s, size_t rank, const std::string& where);

struct TokenizerJson {
    nlohmann::json doc;  // the file without model.vocab / model.merges when those were streamed
    std::optional<RawVocab> vocab;
    std::optional<RawMerges> merges;
};

// input_error for a missing file or malformed JSON, naming the file.
TokenizerJson read_tokenizer_json(const std::filesystem::path& path);

// Reads a whole (small) JSON file into a tree, with the same errors.
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace ascent::tok
