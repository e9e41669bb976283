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

BpeModel::BpeModel(const json& model, std::optional<RawVocab> vocab, std::optional<RawMerges> merges,
                   const std::string& where) {
    const std::string w = where + " (model)";
    if (model.is_null()) input_error("{}: missing \"model\"", where);
    if (!model.is_object()) input_error("{}: \"model\" must be an object", where);
    if (model.contains("type")) {
        const std::string type = component_type(model, w);
        if (type != "BPE") input_error("{}: unsupported model type \"{}\" (only BPE is supported)", where, type);
    } else if (!model.contains("merges") && !merges) {
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

    if (!vocab) vocab = raw_vocab_from_json(required(model, "vocab", w), w);
    load_vocab(*vocab, w);
    vocab.reset();
    if (!merges) merges = model.contains("merges") ? raw_merges_from_json(model["merges"], w) : RawMerges{};
    load_merges(*merges, w);

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

void BpeModel::load_vocab(const RawVocab& raw, const std::string& where) {
    // Ids index arrays; a stray huge id must not allocate gigabytes.
    constexpr int64_t kMaxId = (1 << 24) - 1;
    vocab_.reserve(raw.entries.size(), raw.arena.size());
    for (const RawVocab::Entry& e : raw.entries) {
        if (e.id < 0 || e.id > kMaxId) input_error("{}: vocab entry \"{}\" has invalid id {}", where, raw.token(e), e.id);
        vocab_.insert(raw.token(e), static_cast<int32_t>(e.id));
    }
}

void BpeModel::load_merges(const RawMerges& raw, const std::string& where) {
    merges_.reserve(raw.entries.size());
    for (size_t rank = 0; rank < raw.entries.size(); ++rank) {
        const RawMerges::Entry& e = raw.entries[rank];
        const std::string_view left = raw.left(e), right = raw.right(e);
        auto a = token_to_id(left), b = token_to_id(right);
        if (!a || !b) input_error("{}: merge {} uses \"{}\" which is not in the vocabulary", where, rank, !a ? left : right);
        // The two halves are stored next to each other: together they spell the merged token.
        const std::string_view joined = std::string_view(raw.arena).substr(e.offset, e.left_length + e.right_length);
        auto c = token_to_id(joined);
        if (!c) input_error("{}: merge {} produces \"{}\" which is not in the vocabulary", where, rank, joined);
        // A repeated pair keeps its last rank, as in the Hugging Face loader.
        merges_.insert(*a, *b, MergeTable::Value{static_cast<int32_t>(rank), *c});
    }
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
    auto lookup = [&](int32_t a, int32_t b) { return merges_.find(a, b); };
    for (size_t k = 0; k + 1 < symbols.size(); ++k)
        if (const MergeTable::Value* m = lookup(symbols[k].id, symbols[k + 1].id))
            queue.push({m->rank, static_cast<int32_t>(k), m->new_id});

    while (!queue.empty()) {
        const Candidate top = queue.top();
        queue.pop();
        Symbol& cur = symbols[top.pos];
        if (!cur.alive || cur.next < 0) continue;
        const int32_t right_pos = cur.next;
        const MergeTable::Value* m = lookup(cur.id, symbols[right_pos].id);
        if (!m || m->new_id != top.new_id) continue;

        cur.id = top.new_id;
        cur.next = symbols[right_pos].next;
        symbols[right_pos].alive = false;
        if (cur.next >= 0) symbols[cur.next].prev = top.pos;

        if (cur.prev >= 0)
            if (const MergeTable::Value* pm = lookup(symbols[cur.prev].id, cur.id)) queue.push({pm->rank, cur.prev, pm->new_id});
        if (cur.next >= 0)
            if (const MergeTable::Value* nm = lookup(cur.id, symbols[cur.next].id)) queue.push({nm->rank, top.pos, nm->new_id});
    }
    for (int32_t k = 0; k >= 0; k = symbols[k].next) out.push_back(symbols[k].id);
}

}  // namespace ascent::tok
