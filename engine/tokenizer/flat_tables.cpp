#include "engine/tokenizer/flat_tables.h"

#include <algorithm>
#include <bit>
#include <functional>

namespace ascent::tok {

uint32_t VocabTable::hash_of(std::string_view s) {
    const uint64_t h = std::hash<std::string_view>{}(s);
    return static_cast<uint32_t>(h ^ (h >> 32));
}

void VocabTable::reserve(size_t tokens, size_t bytes) {
    arena_.reserve(bytes);
    size_t capacity = 16;
    while (capacity < tokens * 2) capacity *= 2;
    if (capacity > slots_.size()) {
        const size_t old = count_;
        std::vector<Slot> fresh(capacity, Slot{0, -1});
        for (const Slot& s : slots_) {
            if (s.id < 0) continue;
            size_t i = s.hash & (capacity - 1);
            while (fresh[i].id >= 0) i = (i + 1) & (capacity - 1);
            fresh[i] = s;
        }
        slots_ = std::move(fresh);
        count_ = old;
    }
}

void VocabTable::grow() { reserve(std::max<size_t>(count_ + 1, slots_.size()), arena_.size()); }

void VocabTable::insert(std::string_view text, int32_t id) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    const uint32_t h = hash_of(text);
    size_t i = probe_start(h);
    while (slots_[i].id >= 0) {
        if (slots_[i].hash == h && this->text(slots_[i].id) == text) break;
        i = (i + 1) & (slots_.size() - 1);
    }
    if (slots_[i].id < 0) ++count_;
    slots_[i] = Slot{h, id};
    if (static_cast<size_t>(id) >= offsets_.size()) {
        offsets_.resize(static_cast<size_t>(id) + 1, 0);
        lengths_.resize(static_cast<size_t>(id) + 1, kAbsent);
    }
    offsets_[id] = static_cast<uint32_t>(arena_.size());
    lengths_[id] = static_cast<uint32_t>(text.size());
    arena_.append(text);
}

std::optional<int32_t> VocabTable::find(std::string_view text) const {
    if (slots_.empty()) return std::nullopt;
    const uint32_t h = hash_of(text);
    for (size_t i = probe_start(h);; i = (i + 1) & (slots_.size() - 1)) {
        const Slot& s = slots_[i];
        if (s.id < 0) return std::nullopt;
        if (s.hash == h && this->text(s.id) == text) return s.id;
    }
}

std::optional<std::string_view> VocabTable::text(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= offsets_.size() || lengths_[id] == kAbsent) return std::nullopt;
    return std::string_view(arena_).substr(offsets_[id], lengths_[id]);
}

void MergeTable::rehash(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{kEmpty, {0, 0}});
    shift_ = 64 - std::countr_zero(capacity);
    for (const Slot& s : old) {
        if (s.key == kEmpty) continue;
        size_t i = probe_start(s.key);
        while (slots_[i].key != kEmpty) i = (i + 1) & (capacity - 1);
        slots_[i] = s;
    }
}

void MergeTable::reserve(size_t entries) {
    size_t capacity = 16;
    while (capacity < entries * 2) capacity *= 2;
    if (capacity > slots_.size()) rehash(capacity);
}

void MergeTable::insert(int32_t left, int32_t right, Value v) {
    if ((count_ + 1) * 2 > slots_.size()) reserve(std::max<size_t>(count_ + 1, slots_.size()));
    const uint64_t key = key_of(left, right);
    size_t i = probe_start(key);
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & (slots_.size() - 1);
    if (slots_[i].key == kEmpty) ++count_;
    slots_[i] = Slot{key, v};
}

const MergeTable::Value* MergeTable::find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = key_of(left, right);
    for (size_t i = probe_start(key);; i = (i + 1) & (slots_.size() - 1)) {
        const Slot& s = slots_[i];
        if (s.key == key) return &s.value;
        if (s.key == kEmpty) return nullptr;
    }
}

}  // namespace ascent::tok
