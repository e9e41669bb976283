#pragma once
// The BPE model of tokenizer.json: vocabulary, ranked merges, unknown-token and byte-fallback
// handling, ignore_merges, and a cache of recently encoded pieces.
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/tokenizer/flat_tables.h"
#include "engine/tokenizer/tokenizer_json.h"

namespace ascent::tok {

class BpeModel {
public:
    // `model` is the "model" object of tokenizer.json. Its vocab and merges come from `vocab` /
    // `merges` when the reader streamed them, else from the object. `where` names the file.
    BpeModel(const nlohmann::json& model, std::optional<RawVocab> vocab, std::optional<RawMerges> merges,
             const std::string& where);

    // Appends the ids of one pre-tokenized piece.
    void tokenize(std::string_view piece, std::vector<int32_t>& out) const;

    std::optional<int32_t> token_to_id(std::string_view token) const { return vocab_.find(token); }
    std::optional<std::string_view> id_to_token(int32_t id) const { return vocab_.text(id); }
    // Highest id in the vocabulary, -1 when empty.
    int32_t max_id() const { return vocab_.max_id(); }

private:
    void load_vocab(const RawVocab& raw, const std::string& where);
    void load_merges(const RawMerges& raw, const std::string& where);
    void merge_word(std::string_view word, std::vector<int32_t>& out) const;

    VocabTable vocab_;
    MergeTable merges_;
    std::optional<int32_t> unk_id_;
    bool fuse_unk_ = false;
    bool byte_fallback_ = false;
    bool ignore_merges_ = false;
    std::array<int32_t, 256> byte_ids_{};  // id of "<0xHH>", or -1

    // Pieces repeat a lot in real text ("the", " and", indentation); remember their ids.
    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace ascent::tok
