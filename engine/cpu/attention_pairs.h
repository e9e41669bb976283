#pragma once
// Attention over a BF16 cache with BF16 dot products (vdpbf16ps, or AMX tiles): the products of
// attention on pairs of BF16 numbers packed in 32-bit words, (low: element 2i, high: element
// 2i + 1). Keys are paired along the head's dimensions, values and softmax weights along
// positions, so one instruction adds two exact products into each f32 lane and a product costs
// half of what it does on widened f32 rows.
//
// Within one implementation every output is summed the same way whichever layout the scores have
// (queries or positions across lanes), so a position still gives the same bits in a prefill and
// in a decode step (attention_kernels.h). The vector products are one chain over the pairs in
// order and differ from the f32 kernels' only in the order of the additions inside a pair; AMX
// tiles add a step of 16 pairs their own way, and that set has its own softmax, with a shorter
// exp and another order of the sum (attention_amx_pairs.cpp). The BF16 numerics
// themselves (queries and weights rounded to BF16, exact products, f32 sums) are the same for
// every kernel set.
#include <cstddef>
#include <cstdint>

namespace ascent::cpu {

// How a tile's weighted values v[q][:] join query q's running output out[q * dim + :], as the
// merge of a partial does it (attention_kernels.h): nothing where the tile has no weight for the
// query (tile_max[q] is -inf), v where the output has none yet (out_max[q] is -inf), else
// v * tile_factor[q] + out * out_factor[q].
struct ValueMerge {
    float* out;
    const float* out_max;
    const float* tile_max;
    const float* out_factor;
    const float* tile_factor;
};

struct AttentionPairOps {
    // The cache's BF16 layout (attention_kernels.h) is the one these read: key words kp[p * width
    // + t] = (k[2p][t], k[2p + 1][t]) for pairs p of head dimensions and positions t of a tile;
    // value words vp[s * dim + d] = (v[2s][d], v[2s + 1][d]) for pairs s of positions.

    // Softmax weights p (f32 holding BF16 values, zero where masked) paired along positions into
    // w, in a layout each implementation chooses for its own values product below:
    // query lanes: p(t, j) = p[t * lanes + j] for j < lanes;
    // position lanes: p(t, q) = p[q * lanes + t] for q < queries.
    // A position at n or later weighs zero.
    void (*pack_weights_query_lanes)(const float* p, size_t lanes, size_t n, uint32_t* w);
    void (*pack_weights_position_lanes)(const float* p, size_t lanes, size_t queries, size_t n, uint32_t* w);
    // s[t * ql + j] = sum over p of qp[p * ql + j] . kp[p * width + t], for t < n, j < ql.
    void (*scores_query_lanes)(const uint32_t* qp, size_t ql, const uint32_t* kp, size_t width, size_t pairs,
                               size_t n, float* s);
    // s[q * width + t] = sum over p of qp[q * pairs + p] . kp[p * width + t], for q < queries (a
    // multiple of 4), t below n rounded up to 16.
    void (*scores_position_lanes)(const uint32_t* qp, size_t queries, const uint32_t* kp, size_t width,
                                  size_t pairs, size_t n, float* s);
    // out[q * dim + d] = sum over position pairs s < pairs of (weights of q at 2s, 2s + 1) .
    // vp[s * dim + d], for q < queries, d < dim, with w as the pack of the same layout left it
    // (`lanes` as given to it).
    void (*values_query_lanes)(const uint32_t* w, size_t lanes, const uint32_t* vp, size_t pairs, size_t queries,
                               float* out, size_t dim);
    void (*values_position_lanes)(const uint32_t* w, size_t lanes, const uint32_t* vp, size_t pairs,
                                  size_t queries, float* out, size_t dim);
    // Where set, the set runs every block with positions across lanes, and leaves the query-lane
    // functions and pack_weights_position_lanes null: this is its softmax of a tile. From scores
    // s[q * lanes + t] (lanes = kAttentionTile; those for t below n rounded up to 16 computed),
    // where query q sees the tile's positions t0 + t <= last[q]: the tile's max[q] and sum[q] of
    // BF16-rounded weights for q < queries, and the weights in w as values_position_lanes reads
    // them.
    void (*softmax_position_lanes)(const float* s, size_t lanes, size_t queries, size_t t0, size_t n,
                                   const int32_t* last, float* max, float* sum, uint32_t* w) = nullptr;
    // Where set (with softmax_position_lanes): values_position_lanes folded into the running
    // outputs of a block (ValueMerge) instead of written out as a partial.
    void (*values_merge_position_lanes)(const uint32_t* w, size_t lanes, const uint32_t* vp, size_t pairs,
                                        size_t queries, const ValueMerge& m, size_t dim) = nullptr;
};

// The pair products of this CPU's vector unit, for kernels whose vectors hold 16 floats (widths,
// ql and dim above are multiples of 16); nullptr where it has no BF16 dot product.
const AttentionPairOps* x86_attention_pair_ops();
// The same products on AMX tiles (attention_amx_pairs.cpp); nullptr without them.
const AttentionPairOps* amx_attention_pair_ops();

}  // namespace ascent::cpu
