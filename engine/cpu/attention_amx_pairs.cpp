// Attention's pair products (attention_pairs.h) on AMX tiles. One TDPBF16PS does what 16
// vdpbf16ps do, and the cache's pair layouts are already what a B tile wants: a key tile's rows
// are dimension pairs with positions across, a value row is a position pair with dimensions
// across.
//
// Numerics. TDPBF16PS adds the 32 products of a row pair into a C element in its own way: on the
// Xeon this was written on it matches neither order of a vdpbf16ps chain nor one rounding of the
// exact sum (checked over random tiles). So this set runs both layouts on tiles, and a C element
// depends only on its row of A, its column of B, and how the pairs are cut into steps of 16 (also
// checked: swapping the operands' roles, changing other rows or the configured row count, and
// padding a step with zero pairs change no bits). The cut is fixed by the head's dimensions for
// scores and by the positions for values, where a longer block's extra pairs have zero weights,
// so a position still gives the same bits in a prefill and in a decode step (attention_kernels.h).
//
// Scores with queries across lanes need the keys as A rows, position by position: each tile's
// keys are transposed once per call. Weights with queries across lanes are packed transposed,
// one row of position pairs per query, the layout this set's values product reads.
#include "engine/cpu/attention_pairs.h"

#if defined(__x86_64__) && defined(__linux__)

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>
#include "engine/cpu/aligned_scratch.h"
#include "engine/cpu/amx_tiles.h"
#include "engine/cpu/attention_kernels.h"
#include "engine/cpu/matmul_avx512.h"

namespace ascent::cpu {
namespace {

using namespace avx512;

constexpr size_t kStep = 16;  // pairs per TDPBF16PS step; also rows of A and columns of C per tile
constexpr size_t kTilePairs = kAttentionTile / 2;

// Tiles 0, 1: C; 2: A of a whole step, 3: A of the last, partial step (`rest` pairs); 4, 5: B of a
// whole step; 6, 7: B of the partial one. Loading a configuration zeroes every tile, so one
// configuration holds both step shapes.
amx::TileConfig product_config(size_t rows, size_t rest) {
    const int m = static_cast<int>(rows), k = static_cast<int>(rest == 0 ? kStep : rest);
    amx::TileConfig c;
    c.set(0, m, 64);
    c.set(1, m, 64);
    c.set(2, m, 64);
    c.set(3, m, 4 * k);
    c.set(4, kStep, 64);
    c.set(5, kStep, 64);
    c.set(6, k, 64);
    c.set(7, k, 64);
    return c;
}

// One step of product(): C tiles 0 (and 1) += A tile kA . B tiles kB (and kB1). GCC's tile
// intrinsics paste their tile numbers into the assembly text, so those must be literals: a macro.
#define ASCENT_PRODUCT_STEP(kA, kB, kB1, a, a_stride, b, b_stride)                 \
    do {                                                                           \
        _tile_loadd(kA, a, a_stride);                                              \
        _tile_loadd(kB, b, b_stride);                                              \
        if constexpr (kCols == 2) _tile_loadd(kB1, (b) + 64, b_stride);            \
        _tile_dpbf16ps(0, kA, kB);                                                 \
        if constexpr (kCols == 2) _tile_dpbf16ps(1, kA, kB1);                      \
    } while (false)

// One row block of C (the configured rows) by kCols column tiles of 16:
// c[m][16 j + n] = sum over k < pairs of a[m][k] . b[k][16 j + n], a and b as 32-bit pair words.
// Strides in bytes. Each element is one chain over the steps of 16 pairs, in order.
template <int kCols>
ASCENT_AMX void product(const uint32_t* a, size_t a_stride, const uint32_t* b, size_t b_stride, size_t pairs,
                        float* c, size_t c_stride) {
    const auto* bb = reinterpret_cast<const std::byte*>(b);
    _tile_zero(0);
    if constexpr (kCols == 2) _tile_zero(1);
    size_t k = 0;
    for (; k + kStep <= pairs; k += kStep) ASCENT_PRODUCT_STEP(2, 4, 5, a + k, a_stride, bb + k * b_stride, b_stride);
    if (k < pairs) ASCENT_PRODUCT_STEP(3, 6, 7, a + k, a_stride, bb + k * b_stride, b_stride);
    _tile_stored(0, c, c_stride);
    if constexpr (kCols == 2) _tile_stored(1, c + kStep, c_stride);
}

// Two row tiles of 16 by kCols column tiles, in steps of 16 pairs only, on amx::whole_tiles()
// (tiles 0-3: C, 4 and 5: A, 6 and 7: B). Four C tiles in flight
// where product() has two: with a head's 2 steps per product, two chains wait on TDPBF16PS's
// latency more than they use its throughput.
template <int kCols>
ASCENT_AMX void product_2_rows(const uint32_t* a, size_t a_stride, const uint32_t* b, size_t b_stride, size_t pairs,
                               float* c, size_t c_stride) {
    const auto* a2 = reinterpret_cast<const std::byte*>(a) + kStep * a_stride;
    const auto* bb = reinterpret_cast<const std::byte*>(b);
    auto* c2 = reinterpret_cast<std::byte*>(c) + kStep * c_stride;
    _tile_zero(0);
    _tile_zero(2);
    if constexpr (kCols == 2) {
        _tile_zero(1);
        _tile_zero(3);
    }
    for (size_t k = 0; k < pairs; k += kStep) {
        const std::byte* bk = bb + k * b_stride;
        _tile_loadd(4, a + k, a_stride);
        _tile_loadd(5, a2 + 4 * k, a_stride);
        _tile_loadd(6, bk, b_stride);
        if constexpr (kCols == 2) _tile_loadd(7, bk + 64, b_stride);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(2, 5, 6);
        if constexpr (kCols == 2) {
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, c, c_stride);
    _tile_stored(2, c2, c_stride);
    if constexpr (kCols == 2) {
        _tile_stored(1, c + kStep, c_stride);
        _tile_stored(3, c2 + 64, c_stride);
    }
}

// Row r of a matrix whose rows are `stride` bytes apart.
template <typename T>
T* row_at(T* p, size_t r, size_t stride) {
    return reinterpret_cast<T*>(reinterpret_cast<uintptr_t>(p) + r * stride);
}

// `rows` rows of C over `cols` columns (a multiple of 16): 32 rows at a time where the pairs are
// whole steps, the rest 16 or fewer at a time. A C element is the same chain either way.
ASCENT_AMX void products(size_t rows, const uint32_t* a, size_t a_stride, const uint32_t* b, size_t b_stride,
                         size_t pairs, size_t cols, float* c, size_t c_stride) {
    size_t r = 0;
    if (pairs % kStep == 0 && rows >= 2 * kStep) {
        amx::configure(amx::whole_tiles());
        for (; r + 2 * kStep <= rows; r += 2 * kStep) {
            const uint32_t* ar = row_at(a, r, a_stride);
            float* cr = row_at(c, r, c_stride);
            size_t j = 0;
            for (; j + 2 * kStep <= cols; j += 2 * kStep)
                product_2_rows<2>(ar, a_stride, b + j, b_stride, pairs, cr + j, c_stride);
            if (j < cols) product_2_rows<1>(ar, a_stride, b + j, b_stride, pairs, cr + j, c_stride);
        }
    }
    for (; r < rows; r += kStep) {
        const size_t m = std::min(kStep, rows - r);
        // Tiles of a height rounded up to 4 rows (the A operands have those rows), so that a decode
        // step's scores (padded queries) and values (the block's queries) share one configuration
        // and a prefill's last rows share the whole tiles' one; the extra rows go to scratch.
        const size_t tile_rows = std::min(kStep, (m + 3) / 4 * 4);
        const uint32_t* ar = row_at(a, r, a_stride);
        float* cr = row_at(c, r, c_stride);
        size_t stride = c_stride;
        if (tile_rows > m) {
            thread_local std::vector<float> scratch;
            cr = aligned_floats(scratch, kStep * cols);
            stride = cols * sizeof(float);
        }
        amx::configure(product_config(tile_rows, pairs % kStep));
        size_t j = 0;
        for (; j + 2 * kStep <= cols; j += 2 * kStep)
            product<2>(ar, a_stride, b + j, b_stride, pairs, cr + j, stride);
        if (j < cols) product<1>(ar, a_stride, b + j, b_stride, pairs, cr + j, stride);
        if (tile_rows > m)
            for (size_t i = 0; i < m; ++i) std::copy(cr + i * cols, cr + (i + 1) * cols, row_at(c, r + i, c_stride));
    }
}

// 16 rows of 16 words, row i at src + i * stride (zero for i >= rows), transposed to dst + r *
// dst_stride.
ASCENT_AMX void transpose_block(const uint32_t* src, size_t stride, size_t rows, uint32_t* dst, size_t dst_stride) {
    __m512 v[16];
    for (size_t i = 0; i < 16; ++i) v[i] = i < rows ? _mm512_loadu_ps(src + i * stride) : _mm512_setzero_ps();
    transpose16(v);
    for (size_t r = 0; r < 16; ++r) _mm512_storeu_ps(dst + r * dst_stride, v[r]);
}

ASCENT_AMX void scores_query_lanes(const uint32_t* qp, size_t ql, const uint32_t* kp, size_t width, size_t pairs,
                                   size_t n, float* s) {
    // The tile's keys position by position: kt[t * row + p], whole steps of pairs wide.
    const size_t positions = (n + kStep - 1) / kStep * kStep, row = (pairs + kStep - 1) / kStep * kStep;
    thread_local std::vector<float> buf;
    auto* kt = reinterpret_cast<uint32_t*>(aligned_floats(buf, positions * row));
    for (size_t t = 0; t < positions; t += kStep)
        for (size_t p = 0; p < pairs; p += kStep)
            transpose_block(kp + p * width + t, width, std::min(kStep, pairs - p), kt + t * row + p, row);
    products(positions, kt, row * 4, qp, ql * 4, pairs, ql, s, ql * 4);
}

ASCENT_AMX void scores_position_lanes(const uint32_t* qp, size_t queries, const uint32_t* kp, size_t width,
                                      size_t pairs, size_t n, float* s) {
    products(queries, qp, pairs * 4, kp, width * 4, pairs, (n + kStep - 1) / kStep * kStep, s, width * 4);
}

// w[j * kTilePairs + s] = (p[2s][j], p[2s + 1][j]), zero for a position at n or later.
ASCENT_AMX void pack_weights_query_lanes(const float* p, size_t lanes, size_t n, uint32_t* w) {
    for (size_t j = 0; j < lanes; j += 16)
        for (size_t s0 = 0; s0 < kTilePairs; s0 += 16) {
            __m512 v[16];
            for (size_t i = 0; i < 16; ++i) {
                const size_t t = 2 * (s0 + i);
                const __m512 a = t < n ? _mm512_loadu_ps(p + t * lanes + j) : _mm512_setzero_ps();
                const __m512 b = t + 1 < n ? _mm512_loadu_ps(p + (t + 1) * lanes + j) : _mm512_setzero_ps();
                v[i] = _mm512_castsi512_ps(high_halves(a, b));
            }
            transpose16(v);
            for (size_t r = 0; r < 16; ++r) _mm512_storeu_ps(w + (j + r) * kTilePairs + s0, v[r]);
        }
}

// products() stores no C row past the block's queries.
ASCENT_AMX void values_query_lanes(const uint32_t* w, size_t, const uint32_t* vp, size_t pairs, size_t queries,
                                   float* out, size_t dim) {
    products(queries, w, kTilePairs * 4, vp, dim * 4, pairs, dim, out, dim * 4);
}

// The vector set's pack: one row of lanes / 2 words per query.
ASCENT_AMX void values_position_lanes(const uint32_t* w, size_t lanes, const uint32_t* vp, size_t pairs,
                                      size_t queries, float* out, size_t dim) {
    products(queries, w, lanes / 2 * 4, vp, dim * 4, pairs, dim, out, dim * 4);
}

}  // namespace

const AttentionPairOps* amx_attention_pair_ops() {
    static const AttentionPairOps* ops = []() -> const AttentionPairOps* {
        const AttentionPairOps* vector = x86_attention_pair_ops();
        if (!vector || !amx::permitted()) return nullptr;
        static const AttentionPairOps amx{pack_weights_query_lanes,  vector->pack_weights_position_lanes,
                                          scores_query_lanes,        scores_position_lanes,
                                          values_query_lanes,        values_position_lanes};
        return &amx;
    }();
    return ops;
}

}  // namespace ascent::cpu

#else  // not x86-64 Linux

namespace ascent::cpu {
const AttentionPairOps* amx_attention_pair_ops() { return nullptr; }
}  // namespace ascent::cpu

#endif
