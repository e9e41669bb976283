#include "engine/tokenizer/bpe.h"

#include <queue>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/tokenizer/json_fields.h"
#include "engine/tokenizer/utf8.h"

namespace ascent::tok {
namespace {

constexpr size_t kCacheCapacity = 10000;
constexpr size_t kMaxCachedPieceBytes = 256;

}  // namespace

BpeModel::BpeModel(const json& model, const std::string& where) {
    const std::string w = where + " (model)";
    if (model.is_null()) input_error("{}: missing \"model\"", where);
    if (model.contains("type")) {
        const std::string type = component_type(model, w);
        if (type != "BPE") input_error("{}: unsupported model type \"{}\" (only BPE is supported)", where, type);
    } else if (!model.contains("merges")) {
        input_error("{}: model has no \"type\" and is not a BPE model", where);
    }
    if (model.contains("dropout") && !model["dropout"].is_null() &&
        !(model["dropout"].is_number() && model["dropout"].get<double>() == 0.0))
        input_error("{}: BPE dropout is not supported (encoding would be random)", w);
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
        auto v = optional_string(model, key, w);
        if (v && !v->empty())
            input_error("{}: \"{}\" = \"{}\" is not supported (no byte-level or SentencePiece model uses it)",
                        w, key, *v);
    }
    fuse_unk_ = optional_bool(model, "fuse_unk", false, w);
    byte_fallback_ = optional_bool(model, "byte_fallback", false, w);
    ignore_merges_ = optional_bool(model, "ignore_merges", false, w);

    load_vocab(required(model, "vocab", w), w);
    load_merges(model.contains("merges") ? model["merges"] : json::array(), w);

    if (auto unk = optional_string(model, "unk_token", w)) {
        auto id = token_to_id(*unk);
        if (!id) input_error("{}: unk_token \"{}\" is not in the vocabulary", w, *unk);
        unk_id_ = *id;
    }
    for (int b = 0; b < 256; ++b) {
        auto id = token_to_id(fmt::format("<0x{:02X}>", b));
        byte_ids_[b] = id ? *id : -1;
    }
}

void BpeModel::load_vocab(const json& vocab, const std::string& where) {
    if (!vocab.is_object()) input_error("{}: \"vocab\" must be an object of token -> id", where);
    vocab_.reserve(vocab.size());
    int64_t max_id = -1;
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it.value().is_number_integer()) input_error("{}: vocab entry \"{}\" has no integer id", where, it.key());
        const int64_t id = it.value().get<int64_t>();
        if (id < 0 || id > INT32_MAX) input_error("{}: vocab entry \"{}\" has invalid id {}", where, it.key(), id);
        max_id = std::max(max_id, id);
        vocab_.emplace(it.key(), static_cast<int32_t>(id));
    }
    id_to_token_.resize(static_cast<size_t>(max_id + 1));
    has_id_.assign(static_cast<size_t>(max_id + 1), false);
    for (const auto& [token, id] : vocab_) {
        id_to_token_[id] = token;
        has_id_[id] = true;
    }
}

void BpeModel::load_merges(const json& merges, const std::string& where) {
    if (!merges.is_array()) input_error("{}: \"merges\" must be a list", where);
    merges_.reserve(merges.size());
    std::string left, right, joined;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const json& m = merges[rank];
        // Two spellings exist: "a b" (older files) and ["a", "b"].
        if (m.is_string()) {
            const std::string& s = m.get_ref<const std::string&>();
            const size_t space = s.find(' ');
            if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
                input_error("{}: merge {} \"{}\" is not two tokens separated by one space", where, rank, s);
            left.assign(s, 0, space);
            right.assign(s, space + 1);
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            left = m[0].get<std::string>();
            right = m[1].get<std::string>();
        } else {
            input_error("{}: merge {} must be \"a b\" or [\"a\", \"b\"], got {}", where, rank, m.dump());
        }
        auto a = token_to_id(left), b = token_to_id(right);
        if (!a || !b) input_error("{}: merge {} uses \"{}\" which is not in the vocabulary", where, rank, !a ? left : right);
        joined = left + right;
        auto c = token_to_id(joined);
        if (!c) input_error("{}: merge {} produces \"{}\" which is not in the vocabulary", where, rank, joined);
        // A repeated pair keeps its last rank, as in the Hugging Face loader.
        merges_[pair_key(*a, *b)] = MergeInfo{static_cast<int32_t>(rank), *c};
    }
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
    auto it = vocab_.find(token);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !has_id_[id]) return nullptr;
    return &id_to_token_[id];
}

void BpeModel::tokenize(std::string_view piece, std::vector<int32_t>& out) const {
    if (piece.empty()) return;
    if (ignore_merges_) {
        if (auto id = token_to_id(piece)) {
            out.push_back(*id);
            return;
        }
    }
    {
        std::lock_guard lock(cache_mutex_);
        auto it = cache_.find(piece);
        if (it != cache_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const size_t first = out.size();
    merge_word(piece, out);
    if (piece.size() < kMaxCachedPieceBytes) {
        std::lock_guard lock(cache_mutex_);
        if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(piece), std::vector<int32_t>(out.begin() + first, out.end()));
    }
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
    struct Symbol {
        int32_t id;
        int32_t prev;
        int32_t next;
        bool alive;
    };
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    auto add = [&](int32_t id) {
        const auto n = static_cast<int32_t>(symbols.size());
        symbols.push_back({id, n - 1, n + 1, true});
    };

    // Initial symbols: one per character; characters outside the vocabulary become byte tokens
    // (byte_fallback) or the unknown token, consecutive unknowns fused into one when fuse_unk is set.
    int32_t pending_unk = -1;
    size_t i = 0;
    while (i < word.size()) {
        const size_t len = utf8_step(word, i).len;
        const std::string_view ch = word.substr(i, len);
        i += len;
        if (auto id = token_to_id(ch)) {
            if (pending_unk >= 0) {
                add(pending_unk);
                pending_unk = -1;
            }
            add(*id);
            continue;
        }
        if (byte_fallback_) {
            bool all = true;
            for (char c : ch) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
            if (all) {
                // The Hugging Face model adds byte tokens without flushing a pending unknown token;
                // the order is kept identical on purpose.
                for (char c : ch) add(byte_ids_[static_cast<unsigned char>(c)]);
                continue;
            }
        }
        if (unk_id_) {
            if (pending_unk >= 0 && !fuse_unk_) add(pending_unk);
            pending_unk = *unk_id_;
        }
        // Without an unknown token the character is dropped, as in the reference implementation.
    }
    if (pending_unk >= 0) add(pending_unk);
    if (symbols.empty()) return;
    symbols.back().next = -1;

    // Merge the lowest-ranked adjacent pair first, leftmost on ties. Entries in the queue can go
    // stale when a neighbour merges; they are recognized by re-checking the pair.
    struct Candidate {
        int32_t rank;
        int32_t pos;
        int32_t new_id;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
    auto lookup = [&](int32_t a, int32_t b) -> const MergeInfo* {
        auto it = merges_.find(pair_key(a, b));
        return it == merges_.end() ? nullptr : &it->second;
    };
    for (size_t k = 0; k + 1 < symbols.size(); ++k)
        if (const MergeInfo* m = lookup(symbols[k].id, symbols[k + 1].id))
            queue.push({m->rank, static_cast<int32_t>(k), m->new_id});

    while (!queue.empty()) {
        const Candidate top = queue.top();
        queue.pop();
        Symbol& cur = symbols[top.pos];
        if (!cur.alive || cur.next < 0) continue;
        const int32_t right_pos = cur.next;
        const MergeInfo* m = lookup(cur.id, symbols[right_pos].id);
        if (!m || m->new_id != top.new_id) continue;

        cur.id = top.new_id;
        cur.next = symbols[right_pos].next;
        symbols[right_pos].alive = false;
        if (cur.next >= 0) symbols[cur.next].prev = top.pos;

        if (cur.prev >= 0)
            if (const MergeInfo* pm = lookup(symbols[cur.prev].id, cur.id)) queue.push({pm->rank, cur.prev, pm->new_id});
        if (cur.next >= 0)
            if (const MergeInfo* nm = lookup(cur.id, symbols[cur.next].id)) queue.push({nm->rank, top.pos, nm->new_id});
    }
    for (int32_t k = 0; k >= 0; k = symbols[k].next) out.push_back(symbols[k].id);
}

}  // namespace ascent::tok
