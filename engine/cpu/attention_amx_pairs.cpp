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
// Every block, a prefill's too, runs with positions across lanes: the keys are B tiles where the
// cache holds them, and a query's weights pair up along its own row. With queries across lanes
// (the vector set's prefill) the keys and the weights were transposed for every tile, and a
// prefill's attention took 10-15% longer (bench_attention).
#include "engine/cpu/attention_pairs.h"

#if defined(__x86_64__) && defined(__linux__)

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>
#include "engine/cpu/aligned_scratch.h"
#include "engine/cpu/amx_tiles.h"
#include "engine/cpu/attention_kernels.h"
#include "engine/cpu/matmul_avx512.h"

namespace ascent::cpu {
namespace {

using namespace avx512;

constexpr size_t kStep = 16;  // pairs per TDPBF16PS step; also rows of A and columns of C per tile

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

// Where products() puts C: StoreC writes it into c; MergeC folds it into a running output. Each
// block of C (up to 32 x 32) is stored where at(r, j, tile_rows, m) says, and done(r, m, j, cols)
// follows with the block's first m rows valid.
struct StoreC {
    float* c;
    size_t c_stride;       // bytes
    float* stage = nullptr;  // where a block of tiles taller than its rows went instead
    ASCENT_AMX std::pair<float*, size_t> at(size_t r, size_t j, size_t tile_rows, size_t m) {
        if (tile_rows <= m) {
            stage = nullptr;
            return {row_at(c, r, c_stride) + j, c_stride};
        }
        thread_local std::vector<float> scratch;
        stage = aligned_floats(scratch, kStep * 2 * kStep);
        return {stage, 2 * kStep * sizeof(float)};
    }
    ASCENT_AMX void done(size_t r, size_t m, size_t j, size_t cols) {
        if (stage)
            for (size_t i = 0; i < m; ++i)
                std::copy(stage + i * 2 * kStep, stage + i * 2 * kStep + cols, row_at(c, r + i, c_stride) + j);
    }
};

// `rows` rows of C over `cols` columns (a multiple of 16): 32 rows at a time where the pairs are
// whole steps, the rest 16 or fewer at a time. A C element is the same chain either way.
template <class Out>
ASCENT_AMX void products(size_t rows, const uint32_t* a, size_t a_stride, const uint32_t* b, size_t b_stride,
                         size_t pairs, size_t cols, Out& out) {
    size_t r = 0;
    if (pairs % kStep == 0 && rows >= 2 * kStep) {
        amx::configure(amx::whole_tiles());
        for (; r + 2 * kStep <= rows; r += 2 * kStep) {
            const uint32_t* ar = row_at(a, r, a_stride);
            for (size_t j = 0; j < cols; j += 2 * kStep) {
                const auto [c, stride] = out.at(r, j, 2 * kStep, 2 * kStep);
                if (j + 2 * kStep <= cols) {
                    product_2_rows<2>(ar, a_stride, b + j, b_stride, pairs, c, stride);
                    out.done(r, 2 * kStep, j, 2 * kStep);
                } else {
                    product_2_rows<1>(ar, a_stride, b + j, b_stride, pairs, c, stride);
                    out.done(r, 2 * kStep, j, kStep);
                }
            }
        }
    }
    for (; r < rows; r += kStep) {
        const size_t m = std::min(kStep, rows - r);
        // Tiles of a height rounded up to 4 rows (the A operands have those rows), so that a decode
        // step's scores (padded queries) and values (the block's queries) share one configuration
        // and a prefill's last rows share the whole tiles' one; the extra rows are not used.
        const size_t tile_rows = std::min(kStep, (m + 3) / 4 * 4);
        const uint32_t* ar = row_at(a, r, a_stride);
        amx::configure(product_config(tile_rows, pairs % kStep));
        for (size_t j = 0; j < cols; j += 2 * kStep) {
            const auto [c, stride] = out.at(r, j, tile_rows, m);
            if (j + 2 * kStep <= cols) {
                product<2>(ar, a_stride, b + j, b_stride, pairs, c, stride);
                out.done(r, m, j, 2 * kStep);
            } else {
                product<1>(ar, a_stride, b + j, b_stride, pairs, c, stride);
                out.done(r, m, j, kStep);
            }
        }
    }
}

ASCENT_AMX void products(size_t rows, const uint32_t* a, size_t a_stride, const uint32_t* b, size_t b_stride,
                         size_t pairs, size_t cols, float* c, size_t c_stride) {
    StoreC out{c, c_stride};
    products(rows, a, a_stride, b, b_stride, pairs, cols, out);
}

// A tile's weighted values folded into each query's running output as the merge of a partial
// does it (attention_hwy.cpp), block by block of C while the block is in L1: the partial's output
// (112 KiB for 448 queries) never goes out to L2 and back. A prefill's attention: even with the
// cores to itself, 5-8% faster while other work shared them (bench_attention, alternated).
struct MergeC {
    const ValueMerge& m;
    size_t dim;
    alignas(64) float block[2 * kStep * 2 * kStep];
    ASCENT_AMX std::pair<float*, size_t> at(size_t, size_t, size_t, size_t) {
        return {block, 2 * kStep * sizeof(float)};
    }
    ASCENT_AMX void done(size_t r, size_t rows, size_t j, size_t cols) {
        for (size_t i = 0; i < rows; ++i) {
            const size_t q = r + i;
            if (m.tile_max[q] == -std::numeric_limits<float>::infinity()) continue;
            float* o = m.out + q * dim + j;
            const float* p = block + i * 2 * kStep;
            if (m.out_max[q] == -std::numeric_limits<float>::infinity()) {
                std::copy(p, p + cols, o);
                continue;
            }
            const __m512 fa = _mm512_set1_ps(m.out_factor[q]), fb = _mm512_set1_ps(m.tile_factor[q]);
            for (size_t c = 0; c < cols; c += kStep)
                _mm512_storeu_ps(o + c, _mm512_fmadd_ps(_mm512_loadu_ps(p + c), fb,
                                                         _mm512_mul_ps(_mm512_loadu_ps(o + c), fa)));
        }
    }
};

ASCENT_AMX void scores_position_lanes(const uint32_t* qp, size_t queries, const uint32_t* kp, size_t width,
                                      size_t pairs, size_t n, float* s) {
    products(queries, qp, pairs * 4, kp, width * 4, pairs, (n + kStep - 1) / kStep * kStep, s, width * 4);
}

ASCENT_AMX void values_merge_position_lanes(const uint32_t* w, size_t lanes, const uint32_t* vp, size_t pairs,
                                            size_t queries, const ValueMerge& m, size_t dim) {
    MergeC out{m, dim, {}};
    products(queries, w, lanes / 2 * 4, vp, dim * 4, pairs, dim, out);
}

// w: one row of lanes / 2 words per query, as softmax_position_lanes leaves it.
ASCENT_AMX void values_position_lanes(const uint32_t* w, size_t lanes, const uint32_t* vp, size_t pairs,
                                      size_t queries, float* out, size_t dim) {
    products(queries, w, lanes / 2 * 4, vp, dim * 4, pairs, dim, out, dim * 4);
}

// e^x = 2^(x log2 e) for a softmax's x <= 0: 2^n exactly by VSCALEFPS (zero far below) and 2^f,
// |f| <= 1/2, by a degree-4 minimax polynomial (relative error 2.6e-6, a Remez fit). The weight
// is rounded to BF16 next, whose half step is 2^-9, so a longer polynomial's extra digits would be
// thrown away: this takes 8 operations where the Highway kernels' exp takes 14, and a prefill's
// attention 8% less time.
ASCENT_AVX512_INLINE __m512 softmax_exp(__m512 x) {
    const __m512 y = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
    const __m512 n = _mm512_roundscale_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(y, n);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(0.009570102207362652f), f, _mm512_set1_ps(0.05591785907745361f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.240247443318367f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.6931217908859253f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.9999992847442627f));
    return _mm512_scalef_ps(p, n);
}

// VCVTNE2PS2BF16 rounds a query's weights and packs them into pairs at once. The max and the sum
// need a reduction across lanes, done for 16 queries at a time (fold16). A sum adds the rounded
// weights in one fixed tree whatever n is (weights past a query's positions are zeros), so a
// position sums the same in a prefill and in a decode step. One query at a time, the two
// reductions' shuffles took about half of this function's time (perf, a 2048-token prefill).
ASCENT_AVX512 void softmax_position_lanes(const float* s, size_t lanes, size_t queries, size_t t0, size_t n,
                                          const int32_t* last, float* max, float* sum, uint32_t* w) {
    static_assert(kAttentionTile == 64, "four vectors of positions");
    const __m512 empty = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    const __m512i high = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
    for (size_t q0 = 0; q0 < queries; q0 += 16) {
        const size_t group = std::min<size_t>(16, queries - q0);
        __mmask16 in[16][4];
        __m512 v[16];
        for (size_t j = 0; j < 16; ++j) {
            v[j] = empty;
            if (j >= group) continue;
            const size_t q = q0 + j;
            const float* row = s + q * lanes;
            const auto sees = static_cast<size_t>(
                std::clamp<int64_t>(int64_t{last[q]} + 1 - static_cast<int64_t>(t0), 0, static_cast<int64_t>(n)));
            __m512 x[4];
            for (size_t i = 0; i < 4; ++i) {
                in[j][i] = lanes_below(16 * i, sees);
                x[i] = _mm512_mask_loadu_ps(empty, in[j][i], row + 16 * i);
            }
            v[j] = _mm512_max_ps(_mm512_max_ps(x[0], x[1]), _mm512_max_ps(x[2], x[3]));
        }
        alignas(64) float m[16];
        _mm512_store_ps(m, fold16(v, MaxOp()));
        for (size_t j = 0; j < 16; ++j) {
            v[j] = _mm512_setzero_ps();
            if (j >= group) continue;
            const size_t q = q0 + j;
            const float* row = s + q * lanes;
            const __m512 mv = _mm512_set1_ps(m[j]);
            __m512 p[4];
            for (size_t i = 0; i < 4; ++i)
                p[i] = _mm512_maskz_mov_ps(in[j][i],
                                           softmax_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(in[j][i], row + 16 * i), mv)));
            const __m512i w0 = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(p[1], p[0]));
            const __m512i w1 = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(p[3], p[2]));
            _mm512_storeu_si512(w + q * (lanes / 2), w0);
            _mm512_storeu_si512(w + q * (lanes / 2) + 16, w1);
            // The rounded weights back as floats: even positions from the low halves, odd from the high.
            v[j] = _mm512_add_ps(
                _mm512_add_ps(_mm512_castsi512_ps(_mm512_slli_epi32(w0, 16)), _mm512_castsi512_ps(_mm512_and_si512(w0, high))),
                _mm512_add_ps(_mm512_castsi512_ps(_mm512_slli_epi32(w1, 16)), _mm512_castsi512_ps(_mm512_and_si512(w1, high))));
        }
        const __mmask16 keep = first_n16(static_cast<int64_t>(group));
        _mm512_mask_storeu_ps(max + q0, keep, _mm512_load_ps(m));
        _mm512_mask_storeu_ps(sum + q0, keep, fold16(v, AddOp()));
    }
}

}  // namespace

const AttentionPairOps* amx_attention_pair_ops() {
    static const AttentionPairOps* ops = []() -> const AttentionPairOps* {
        // The softmax needs AVX-512 BF16, which every CPU with AMX BF16 tiles has; checked anyway.
        if (!x86_attention_pair_ops() || !amx::permitted()) return nullptr;
        // Every block runs with positions across lanes (softmax_position_lanes): no query-lane
        // products, and the softmax packs its own weights.
        static const AttentionPairOps amx{nullptr,
                                          nullptr,
                                          nullptr,
                                          scores_position_lanes,
                                          nullptr,
                                          values_position_lanes,
                                          softmax_position_lanes,
                                          values_merge_position_lanes};
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
