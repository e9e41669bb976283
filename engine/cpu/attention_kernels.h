#pragma once
// The inner loops of attention (engine/cpu/attention.h): a scalar and a Highway implementation.
//
// A block is up to kAttentionQueries query vectors that share one kv head: the query heads of a
// GQA group, for one or several token rows (engine/cpu/attention.cpp sizes them). It runs over tiles of kAttentionTile cached positions
// (tile i holds positions [i * kAttentionTile, (i + 1) * kAttentionTile)). A tile gives each query
// that sees part of it a softmax partial: its max score, its sum of exponentials and its
// unnormalized output. A query's result is the fold of its tiles' partials in position order, and
// that fold is the same arithmetic whether one call runs all the tiles or tiles run as separate
// tasks whose partials are merged afterwards, so results depend neither on the split nor on the
// thread count. No query's arithmetic looks at the other queries of its block either: a block of
// few queries (a decode step) lays its work out differently, positions rather than queries across
// lanes, but computes every score, exponential and sum in the same order, so a position gives the
// same bits whether it came in a prefill or in a decode step.
//
// A layer's cache keeps each kv head apart, so that the tiles a task reads are one sequential
// stream of keys and one of values: a decode step finds them evicted by the weights it streamed,
// and with the heads side by side its attention at 2048 positions took 6-10% longer. A head's
// keys are transposed by tiles: tile j holds the key columns of positions [j * kAttentionTile,
// (j + 1) * kAttentionTile), which both layouts of the scores read without transposing. F32 and
// F16 caches: tile j is [head_dim][kAttentionTile], and a head's values keep one row of head_dim
// per position. A BF16 cache keeps both in the pair layout of attention_pairs.h, the layout the
// BF16 dot products consume: a key tile is [head_dim / 2][kAttentionTile] words of dimensions
// (2p, 2p + 1), and values are [positions / 2][head_dim] words of positions (2s, 2s + 1). The
// pair kernels then read whole tiles where they lie; packing each tile on the fly, as they once
// did, took 58% of decode attention's time at 2048 positions with the cache warm (a
// micro-benchmark). (A BF16 cache needs an even head_dim, as every rotary model has.)
//
// Numerics. F32 and F16 caches: keys and values widened to f32, f32 arithmetic throughout, so an
// F32 checkpoint keeps exact f32 attention. A BF16 cache computes as the matrix products do
// against BF16 weights (matmul.h): the scaled queries and the softmax weights exp(s - max) are
// rounded to BF16 before they multiply keys and values, each product of two BF16 numbers is exact
// in f32, and the sums are f32; a tile's sum of weights adds the rounded weights, so a query's
// weights still sum exactly to its normalizer. Kernels with a BF16 dot product run both products
// on pairs (attention_pairs.h); the others multiply the same BF16 values as f32.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include "engine/cpu/attention_pairs.h"
#include "engine/dtype.h"

namespace ascent::cpu {

inline constexpr size_t kAttentionTile = 64;
inline constexpr size_t kAttentionQueries = 512;

// Positions a cache of `capacity` allocates: whole tiles.
inline size_t cache_positions(size_t capacity) { return (capacity + kAttentionTile - 1) / kAttentionTile * kAttentionTile; }

// Where a layer's keys and values for one sequence start, in elements, in a cache allocating
// `positions` (whole tiles) per sequence.
inline size_t seq_base(size_t positions, size_t kv_dim, size_t seq) { return seq * positions * kv_dim; }
// Where one kv head's keys and values start, in elements, from its sequence's base.
inline size_t head_base(size_t positions, size_t head_dim, size_t head) { return head * positions * head_dim; }
// Where dimension i of the key at `position` is, from its head's base.
inline size_t key_index(DType t, size_t head_dim, size_t position, size_t i) {
    const size_t tile = position / kAttentionTile * head_dim * kAttentionTile, at = position % kAttentionTile;
    if (t == DType::BF16) return tile + (i / 2 * kAttentionTile + at) * 2 + i % 2;
    return tile + i * kAttentionTile + at;
}
// Where dimension i of the value at `position` is, from its head's base.
inline size_t value_index(DType t, size_t head_dim, size_t position, size_t i) {
    if (t == DType::BF16) return (position / 2 * head_dim + i) * 2 + position % 2;
    return position * head_dim + i;
}

struct AttentionBlock {
    size_t queries = 0;              // at most kAttentionQueries
    size_t head_dim = 0;
    const float* const* q = nullptr;  // [queries] query vectors
    const int32_t* last = nullptr;    // [queries] the last cached position each query sees
    float scale = 0.f;
    DType dtype = DType::F32;
    const void* k = nullptr;          // the kv head's keys and values, at their head_base()
    const void* v = nullptr;
    size_t tile_begin = 0;            // tiles to run; the last one ends after the largest `last`
    size_t tile_end = 0;
    float* scratch = nullptr;         // AttentionLayout::scratch_floats()
    // The normalized output of each query, when the tiles cover all the queries see. Else
    // nullptr, and tile i's partial goes to partials + (i - tile_begin) * partial_floats().
    float* const* out = nullptr;
    float* partials = nullptr;
    // This kernel set's pair products for a BF16 cache, or nullptr (widen to f32).
    const AttentionPairOps* pairs = nullptr;
};

// Folds the partials of `tiles` consecutive tiles, the first one being tile 0.
struct AttentionMerge {
    size_t queries = 0;
    size_t head_dim = 0;
    const float* partials = nullptr;
    size_t tiles = 0;
    float* scratch = nullptr;
    float* const* out = nullptr;  // [queries] normalized outputs
};

struct AttentionKernels {
    size_t lanes;  // floats per vector
    void (*block)(const AttentionBlock& b);
    void (*merge)(const AttentionMerge& m);
    const AttentionPairOps* pairs = nullptr;  // passed to block() for BF16 caches
};

const AttentionKernels& scalar_attention_kernels();
// Highway's kernels, with this CPU's pair products where it has them: on AMX tiles where it has
// those.
const AttentionKernels& simd_attention_kernels();
// The same with the pair products on the vector unit even where AMX tiles exist.
const AttentionKernels& vector_pair_simd_attention_kernels();
// The same without pair products: the path of CPUs without a BF16 dot product, testable anywhere.
const AttentionKernels& widening_simd_attention_kernels();

// Buffers of one block for kernels whose vectors hold `lanes` floats. A partial, and the running
// state of a query block, is max[query_lanes], sum[query_lanes], out[queries][dim]. Every piece
// starts at a multiple of `lanes` floats, so an aligned scratch keeps all vector rows aligned.
struct AttentionLayout {
    AttentionLayout(size_t lanes, size_t n_queries, size_t n_dims)
        : queries(n_queries),
          head_dim(n_dims),
          query_lanes(round_up(n_queries, lanes)),
          dim(round_up(n_dims, lanes)),
          tile_lanes(round_up(kAttentionTile, lanes)),
          vector_lanes(lanes) {}

    size_t queries, head_dim;
    size_t query_lanes;  // queries rounded up to whole vectors
    size_t dim;          // head_dim rounded up to whole vectors: the stride of output rows
    size_t tile_lanes;   // a tile's positions rounded up to whole vectors
    size_t vector_lanes;

    // At most one vector of queries (a decode step's GQA group) runs with positions across lanes:
    // with queries across them it leaves lanes idle and its score tiles get too few independent
    // sums. On Zen 3 (AVX2), 7 queries on 8 lanes took 15-17% less time that way, with BF16, F16
    // and F32 caches alike (a decode step's attention at 512 positions, alternated).
    bool few_queries() const { return queries <= vector_lanes; }
    // Few queries run in register tiles of four.
    size_t padded_queries() const { return round_up(queries, 4); }

    size_t partial_floats() const { return 2 * query_lanes + queries * dim; }

    // Few queries keep queries and scores untransposed: [padded_queries][dim] and
    // [padded_queries][tile_lanes].
    struct Scratch {
        float* qt;       // [head_dim][query_lanes] queries, transposed and scaled
        float* last;     // [query_lanes] last visible positions as floats (exact below 2^24)
        float* factors;  // [2][query_lanes] rescaling factors of a merge
        float* keys;     // [head_dim][tile_lanes] a tile's key columns as f32
        float* values;   // [kAttentionTile][dim] a tile's values as f32, zero-padded
        float* scores;   // [kAttentionTile][query_lanes] scores, then their exponentials
        float* tile;     // a tile's partial
        float* state;    // the running state
        float* pairs;    // the tile's softmax weights paired along positions (attention_pairs.h)
    };
    size_t scratch_floats() const {
        const auto n = sizes();
        return std::accumulate(n.begin(), n.end(), size_t{0});
    }
    Scratch carve(float* p) const {
        const auto n = sizes();
        std::array<float*, n.size()> piece;
        for (size_t i = 0; i < n.size(); ++i) {
            piece[i] = p;
            p += n[i];
        }
        return Scratch{piece[0], piece[1], piece[2], piece[3], piece[4], piece[5], piece[6], piece[7], piece[8]};
    }

private:
    static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }
    std::array<size_t, 9> sizes() const {
        return {std::max(head_dim * query_lanes, padded_queries() * dim),
                query_lanes,
                2 * query_lanes,
                std::max(head_dim * tile_lanes, kAttentionTile * head_dim),
                kAttentionTile * dim,
                std::max(kAttentionTile * query_lanes, padded_queries() * tile_lanes),
                partial_floats(),
                partial_floats(),
                std::max(kAttentionTile / 2 * query_lanes, padded_queries() * tile_lanes / 2)};
    }
};

}  // namespace ascent::cpu
