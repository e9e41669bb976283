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

namespace ascent::tok {

// Hash for std::string keys that also accepts std::string_view (heterogeneous lookup).
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
public:
    // `model` is the "model" object of tokenizer.json; `where` names the file for errors.
    BpeModel(const nlohmann::json& model, const std::string& where);

    // Appends the ids of one pre-tokenized piece.
    void tokenize(std::string_view piece, std::vector<int32_t>& out) const;

    std::optional<int32_t> token_to_id(std::string_view token) const;
    // nullptr for an id that is not in the vocabulary.
    const std::string* id_to_token(int32_t id) const;
    // Highest id in the vocabulary, -1 when empty.
    int32_t max_id() const { return static_cast<int32_t>(id_to_token_.size()) - 1; }
    bool byte_fallback() const { return byte_fallback_; }

private:
    struct MergeInfo {
        int32_t rank;
        int32_t new_id;
    };
    static uint64_t pair_key(int32_t a, int32_t b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }

    void load_vocab(const nlohmann::json& vocab, const std::string& where);
    void load_merges(const nlohmann::json& merges, const std::string& where);
    void merge_word(std::string_view word, std::vector<int32_t>& out) const;

    StringIdMap vocab_;
    std::vector<std::string> id_to_token_;
    std::vector<bool> has_id_;
    std::unordered_map<uint64_t, MergeInfo> merges_;
    std::optional<int32_t> unk_id_;
    bool fuse_unk_ = false;
    bool byte_fallback_ = false;
    bool ignore_merges_ = false;
    std::array<int32_t, 256> byte_ids_{};  // id of "<0xHH>", or -1

    // Pieces repeat a lot in real text ("the", " and", indentation); remember their ids.
    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace ascent::tok
