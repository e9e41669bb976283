// AVX-512 BF16 implementation of attention's pair products (attention_pairs.h). Register tiles of
// up to 4 broadcast words x 4 vectors: each accumulator is one chain of vdpbf16ps in pair order,
// so the tile shape changes no bits.
#include "engine/cpu/attention_pairs.h"

#if defined(__x86_64__)

#include <algorithm>
#include "engine/cpu/attention_kernels.h"
#include "engine/cpu/matmul_avx512.h"

namespace ascent::cpu {
namespace {

using namespace avx512;

ASCENT_AVX512 void pack_weights_query_lanes(const float* p, size_t lanes, size_t n, uint32_t* w) {
    for (size_t s = 0; 2 * s < n; ++s) {
        const float* a = p + 2 * s * lanes;
        const bool has_b = 2 * s + 1 < n;
        for (size_t j = 0; j < lanes; j += 16) {
            const __m512 b = has_b ? _mm512_loadu_ps(a + lanes + j) : _mm512_setzero_ps();
            _mm512_storeu_si512(w + s * lanes + j, high_halves(_mm512_loadu_ps(a + j), b));
        }
    }
}

ASCENT_AVX512 void pack_weights_position_lanes(const float* p, size_t lanes, size_t queries, size_t n, uint32_t* w) {
    // Even and odd positions of 32 consecutive ones, each in order.
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const size_t pairs = (n + 1) / 2;
    for (size_t q = 0; q < queries; ++q) {
        const float* row = p + q * lanes;
        uint32_t* out = w + q * (lanes / 2);
        for (size_t t = 0; t < 2 * pairs; t += 32) {
            const __m512 x0 = _mm512_maskz_loadu_ps(lanes_below(t, n), row + t);
            const __m512 x1 = _mm512_maskz_loadu_ps(lanes_below(t + 16, n), row + t + 16);
            const __mmask16 keep = lanes_below(t / 2, pairs);
            _mm512_mask_storeu_epi32(out + t / 2, keep,
                                     high_halves(_mm512_permutex2var_ps(x0, even, x1), _mm512_permutex2var_ps(x0, odd, x1)));
        }
    }
}

// acc[r][c] over `steps`: += broadcast(word(step, r)) . vector(step) + 16 c.
template <int R, int C, typename Word, typename Vector>
ASCENT_AVX512_INLINE void pair_tile(size_t steps, Word word, Vector vector, float* out, size_t out_stride) {
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    for (size_t i = 0; i < steps; ++i) {
        const uint32_t* vi = vector(i);
        __m512i v[C];
        for (int c = 0; c < C; ++c) v[c] = _mm512_loadu_si512(vi + 16 * c);
        for (int r = 0; r < R; ++r) {
            const __m512i b = _mm512_set1_epi32(static_cast<int>(word(i, r)));
            for (int c = 0; c < C; ++c)
                acc[r][c] = _mm512_dpbf16_ps(acc[r][c], reinterpret_cast<__m512bh>(b), reinterpret_cast<__m512bh>(v[c]));
        }
    }
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) _mm512_storeu_ps(out + static_cast<size_t>(r) * out_stride + 16 * c, acc[r][c]);
}

// Runs pair_tile over `rows` broadcast rows (tiles of 4, the rest in one tile) and `lanes`
// vector lanes (tiles of 64, then 32, then 16). A tile of 64 lanes reads each step's 256 bytes of
// vectors (a key tile's row of 64 positions, a value row of 64 dimensions) in one sequential
// sweep: a decode step's first touch of a cached tile is then a stream the prefetchers follow,
// where 32-lane tiles went over each tile twice, half of every row at a time.
template <int C, typename Word, typename Vector>
ASCENT_AVX512_INLINE void pair_tile_rows(size_t steps, size_t rows, Word word, Vector vector, float* out,
                                         size_t row_stride) {
    for (size_t r = 0; r < rows; r += 4) {
        const auto w = [&](size_t i, int k) { return word(i, r + static_cast<size_t>(k)); };
        float* o = out + r * row_stride;
        switch (std::min<size_t>(4, rows - r)) {
            case 4: pair_tile<4, C>(steps, w, vector, o, row_stride); break;
            case 3: pair_tile<3, C>(steps, w, vector, o, row_stride); break;
            case 2: pair_tile<2, C>(steps, w, vector, o, row_stride); break;
            default: pair_tile<1, C>(steps, w, vector, o, row_stride); break;
        }
    }
}

template <typename Word, typename Vector>
ASCENT_AVX512_INLINE void pair_tiles(size_t steps, size_t rows, size_t lanes, Word word, Vector vector, float* out,
                                     size_t row_stride) {
    size_t l = 0;
    const auto v = [&](size_t i) { return vector(i) + l; };
    for (; l + 64 <= lanes; l += 64) pair_tile_rows<4>(steps, rows, word, v, out + l, row_stride);
    for (; l + 32 <= lanes; l += 32) pair_tile_rows<2>(steps, rows, word, v, out + l, row_stride);
    for (; l < lanes; l += 16) pair_tile_rows<1>(steps, rows, word, v, out + l, row_stride);
}

// One layout broadcasts key words, the other query words; a product of two BF16 numbers is exact
// in f32, so which operand is broadcast changes no bits.
ASCENT_AVX512 void scores_query_lanes(const uint32_t* qp, size_t ql, const uint32_t* kp, size_t width, size_t pairs,
                                      size_t n, float* s) {
    pair_tiles(
        pairs, n, ql, [&](size_t p, size_t t) { return kp[p * width + t]; }, [&](size_t p) { return qp + p * ql; },
        s, ql);
}

ASCENT_AVX512 void scores_position_lanes(const uint32_t* qp, size_t queries, const uint32_t* kp, size_t width,
                                         size_t pairs, size_t n, float* s) {
    pair_tiles(
        pairs, queries, (n + 15) / 16 * 16, [&](size_t p, size_t q) { return qp[q * pairs + p]; },
        [&](size_t p) { return kp + p * width; }, s, width);
}

// The packs above leave a query's weights lanes apart (query lanes) or one row per query (position
// lanes).
ASCENT_AVX512_INLINE void values(const uint32_t* w, size_t s_step, size_t q_step, const uint32_t* vp, size_t pairs,
                                 size_t queries, float* out, size_t dim) {
    pair_tiles(
        pairs, queries, dim, [&](size_t s, size_t q) { return w[s * s_step + q * q_step]; },
        [&](size_t s) { return vp + s * dim; }, out, dim);
}

ASCENT_AVX512 void values_query_lanes(const uint32_t* w, size_t lanes, const uint32_t* vp, size_t pairs,
                                      size_t queries, float* out, size_t dim) {
    values(w, lanes, 1, vp, pairs, queries, out, dim);
}

ASCENT_AVX512 void values_position_lanes(const uint32_t* w, size_t lanes, const uint32_t* vp, size_t pairs,
                                         size_t queries, float* out, size_t dim) {
    values(w, 1, lanes / 2, vp, pairs, queries, out, dim);
}

}  // namespace

const AttentionPairOps* x86_attention_pair_ops() {
    static const AttentionPairOps ops{pack_weights_query_lanes, pack_weights_position_lanes, scores_query_lanes,
                                      scores_position_lanes, values_query_lanes, values_position_lanes};
    static const bool supported = cpu_has_avx512_bf16();
    return supported ? &ops : nullptr;
}

}  // namespace ascent::cpu

#else  // not x86-64

namespace ascent::cpu {
const AttentionPairOps* x86_attention_pair_ops() { return nullptr; }
}  // namespace ascent::cpu

#endif
