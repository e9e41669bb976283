#pragma once
// Open-addressing hash tables for the two big lookups of BPE: token text -> id (200k entries for
// gpt-oss) and token pair -> merge (450k). Flat arrays keep both loading and encoding free of
// per-entry allocations and pointer chasing.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ascent::tok {

// Token strings live back to back in one arena; the table maps text to id.
class VocabTable {
public:
    // Adds a token (its bytes are copied into the arena). A repeated text keeps the last id.
    void insert(std::string_view text, int32_t id);
    std::optional<int32_t> find(std::string_view text) const;
    // The text of an id, if the id is present.
    std::optional<std::string_view> text(int32_t id) const;
    int32_t max_id() const { return static_cast<int32_t>(offsets_.size()) - 1; }
    void reserve(size_t tokens, size_t bytes);

private:
    struct Slot {
        uint32_t hash;
        int32_t id;  // -1: empty
    };
    static constexpr uint32_t kAbsent = UINT32_MAX;
    static uint32_t hash_of(std::string_view s);
    void grow();
    size_t probe_start(uint32_t h) const { return h & (slots_.size() - 1); }

    std::string arena_;
    std::vector<uint32_t> offsets_, lengths_;  // by id; length kAbsent for ids not in use
    std::vector<Slot> slots_;
    size_t count_ = 0;
};

// (left id, right id) -> (rank, merged id).
class MergeTable {
public:
    struct Value {
        int32_t rank;
        int32_t new_id;
    };
    void reserve(size_t entries);
    // A repeated pair keeps the last value.
    void insert(int32_t left, int32_t right, Value v);
    const Value* find(int32_t left, int32_t right) const;

private:
    struct Slot {
        uint64_t key;  // kEmpty when free
        Value value;
    };
    static constexpr uint64_t kEmpty = UINT64_MAX;
    static uint64_t key_of(int32_t a, int32_t b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }
    size_t probe_start(uint64_t key) const {
        return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
    }
    void rehash(size_t capacity);

    std::vector<Slot> slots_;
    size_t count_ = 0;
    int shift_ = 64;
};

}  // namespace ascent::tok
