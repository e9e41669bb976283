// Attention inner loops in plain C++: the reference for the Highway version and the path for CPUs
// without a supported vector unit. Same tiles, partials and fold (engine/cpu/attention_kernels.h),
// one query at a time.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include "engine/cpu/attention_kernels.h"

namespace ascent::cpu {
namespace {

// The max of a query that has seen no position yet; also marks an empty partial.
constexpr float kEmpty = -std::numeric_limits<float>::infinity();

float cached(DType dtype, const void* cache, size_t at) {
    switch (dtype) {
        case DType::F32: return static_cast<const float*>(cache)[at];
        case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(cache)[at]);
        case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(cache)[at]);
    }
    return 0.f;
}

// The first n positions of a tile as f32 rows of head_dim floats: keys from the tile's columns,
// values from their rows.
void widen_keys(const AttentionBlock& b, size_t tile, size_t n, float* out) {
    const size_t hd = b.head_dim, t0 = tile * kAttentionTile;
    for (size_t t = 0; t < n; ++t)
        for (size_t i = 0; i < hd; ++i) out[t * hd + i] = cached(b.dtype, b.k, key_index(b.dtype, hd, t0 + t, i));
}

void widen_values(const AttentionBlock& b, size_t t0, size_t n, float* out) {
    const size_t hd = b.head_dim;
    for (size_t t = 0; t < n; ++t)
        for (size_t i = 0; i < hd; ++i) out[t * hd + i] = cached(b.dtype, b.v, value_index(b.dtype, hd, t0 + t, i));
}

// The tile's partial of every query; `qs` holds the scaled queries, one row each.
void tile_partial(const AttentionLayout& l, const float* qs, const int32_t* last, size_t t0, size_t n,
                  const float* keys, const float* values, float* scores, float* part, bool bf16) {
    const size_t hd = l.head_dim;
    for (size_t q = 0; q < l.queries; ++q) {
        float& max = part[q];
        max = kEmpty;
        if (static_cast<int64_t>(t0) > last[q]) continue;
        const size_t seen = std::min(n, static_cast<size_t>(last[q]) - t0 + 1);
        for (size_t t = 0; t < seen; ++t) {
            float s = 0.f;
            for (size_t i = 0; i < hd; ++i) s += qs[q * hd + i] * keys[t * hd + i];
            scores[t] = s;
            max = std::max(max, s);
        }
        float sum = 0.f;
        float* o = part + 2 * l.query_lanes + q * l.dim;
        std::fill(o, o + hd, 0.f);
        for (size_t t = 0; t < seen; ++t) {
            const float e = std::exp(scores[t] - max);
            const float p = bf16 ? bf16_to_f32(f32_to_bf16(e)) : e;
            sum += p;
            for (size_t i = 0; i < hd; ++i) o[i] += p * values[t * hd + i];
        }
        part[l.query_lanes + q] = sum;
    }
}

void reset_state(const AttentionLayout& l, float* state) {
    std::fill(state, state + l.query_lanes, kEmpty);
    std::fill(state + l.query_lanes, state + 2 * l.query_lanes, 0.f);
}

// Folds a partial into the running state; an empty partial leaves a query as it is, an empty
// state takes the partial.
void merge(const AttentionLayout& l, const float* part, float* state) {
    const size_t ql = l.query_lanes;
    for (size_t q = 0; q < l.queries; ++q) {
        const float mp = part[q], m = state[q];
        if (mp == kEmpty) continue;
        float* o = state + 2 * ql + q * l.dim;
        const float* op = part + 2 * ql + q * l.dim;
        if (m == kEmpty) {
            state[q] = mp;
            state[ql + q] = part[ql + q];
            std::memcpy(o, op, l.head_dim * sizeof(float));
            continue;
        }
        const float mx = std::max(m, mp), a = std::exp(m - mx), b = std::exp(mp - mx);
        for (size_t i = 0; i < l.head_dim; ++i) o[i] = op[i] * b + o[i] * a;
        state[q] = mx;
        state[ql + q] = part[ql + q] * b + state[ql + q] * a;
    }
}

void normalize(const AttentionLayout& l, const float* state, float* const* out) {
    for (size_t q = 0; q < l.queries; ++q) {
        const float* o = state + 2 * l.query_lanes + q * l.dim;
        const float sum = state[l.query_lanes + q];
        for (size_t i = 0; i < l.head_dim; ++i) out[q][i] = o[i] / sum;
    }
}

void attend_block(const AttentionBlock& b) {
    const AttentionLayout l(1, b.queries, b.head_dim);
    const AttentionLayout::Scratch s = l.carve(b.scratch);
    float* qs = s.qt;  // untransposed here: one row per query
    int64_t last_max = -1;
    for (size_t q = 0; q < b.queries; ++q) {
        for (size_t i = 0; i < b.head_dim; ++i) {
            const float x = b.q[q][i] * b.scale;
            qs[q * b.head_dim + i] = b.dtype == DType::BF16 ? bf16_to_f32(f32_to_bf16(x)) : x;
        }
        last_max = std::max<int64_t>(last_max, b.last[q]);
    }
    if (b.out) reset_state(l, s.state);
    for (size_t tile = b.tile_begin; tile < b.tile_end; ++tile) {
        const size_t t0 = tile * kAttentionTile;
        const size_t n = std::min(kAttentionTile, static_cast<size_t>(last_max + 1) - t0);
        float* part = b.out ? s.tile : b.partials + (tile - b.tile_begin) * l.partial_floats();
        widen_keys(b, tile, n, s.keys);
        widen_values(b, t0, n, s.values);
        tile_partial(l, qs, b.last, t0, n, s.keys, s.values, s.scores, part, b.dtype == DType::BF16);
        if (b.out) merge(l, part, s.state);
    }
    if (b.out) normalize(l, s.state, b.out);
}

void merge_tiles(const AttentionMerge& m) {
    const AttentionLayout l(1, m.queries, m.head_dim);
    float* state = l.carve(m.scratch).state;
    reset_state(l, state);
    for (size_t tile = 0; tile < m.tiles; ++tile) merge(l, m.partials + tile * l.partial_floats(), state);
    normalize(l, state, m.out);
}

}  // namespace

const AttentionKernels& scalar_attention_kernels() {
    static const AttentionKernels set{1, attend_block, merge_tiles};
    return set;
}

}  // namespace ascent::cpu
