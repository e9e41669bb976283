// x86 matmul path written with AVX-512 intrinsics, because Highway 1.0.3 has no vdpbf16ps. Every
// function carries its own target attribute (the rest of the project is built for baseline
// x86-64) and the path is only offered when the CPU reports the features at run time.
//
// Decode (one row): bandwidth bound. Weight rows are streamed one after the other (one sequential
// stream per thread, prefetched ahead); BF16 weights meet activations rounded to BF16 in
// vdpbf16ps, F32 and F16 weights meet f32 activations in f32 multiply-adds.
// Prefill (several rows): compute bound. BF16 weights: activations rounded to BF16 once per
// matmul; from kPackedMinRows tokens on, products on packed weight panels (matmul_x86_packed.cpp;
// matmul_amx.cpp where AMX exists). Fewer BF16 tokens, and F32 and F16 weights: both operands are
// read in place, contiguous along `in`, and the micro-kernel is a 3-token x 8-output tile of f32
// accumulators, reduced horizontally at the end of each K block; loops are blocked so the 8-row
// weight panel stays in L1 across token tiles and the token block stays in L2 across panels.
#include "engine/cpu/matmul_path.h"

#if defined(__x86_64__)

#include <algorithm>
#include <array>
#include <utility>
#include "engine/cpu/decode_prefetch.h"
#include "engine/cpu/matmul_avx512.h"

namespace ascent::cpu {
namespace {

using namespace avx512;

constexpr int64_t kF32Lanes = 16;
constexpr int64_t kBF16Lanes = 32;
constexpr int kGemvRows = 8;  // decode rows whose sums are reduced together
constexpr int kTileM = 3;     // tokens per micro-kernel tile
constexpr int kTileN = 8;     // weight rows per micro-kernel tile
// A batched decode step (a few tokens, each of its own sequence) runs all its tokens in one tile,
// so each weight panel is read from memory once and used by every token while it is in
// registers; the tile then takes as many weight rows as 24 accumulators allow.
constexpr int kBatchTileMaxM = 8;
constexpr int kTileAccumulators = 24;
constexpr int tile_n_for(int m) { return m <= kTileM ? kTileN : kTileAccumulators / m; }
// Tokens per tile for a product over `rows` tokens: up to 16 (a batched decode step, a short
// chunk) in one or two even tiles; more in tiles of kTileM. A decode step of 16 sequences on
// Qwen2-0.5B: two tiles of 8 against six of 3, 262-270 against 231-240 tokens/s; a 32-token
// prefill was 5% slower in tiles of 8, so longer products keep kTileM.
constexpr int batch_tile_m(int64_t rows) {
    if (rows <= kBatchTileMaxM) return static_cast<int>(rows);
    if (rows <= 2 * kBatchTileMaxM) return static_cast<int>((rows + 1) / 2);
    return kTileM;
}
constexpr int64_t kPackedMinRows = 48;  // BF16 prefills from this many tokens use packed panels

// ------------------------------------------------------------------------------------------
// Horizontal sums

// Lane j of the result is the sum of all lanes of v[j]; 24 instructions for 8 vectors instead of
// 8 separate reductions.
ASCENT_AVX512_INLINE __m256 sum8(const __m512 (&v)[8]) {
    const __m512 u0 = fold_quad(fold_pair(v[0], v[1]), fold_pair(v[2], v[3]));
    const __m512 u1 = fold_quad(fold_pair(v[4], v[5]), fold_pair(v[6], v[7]));
    __m512 s = _mm512_add_ps(_mm512_unpacklo_ps(u0, u1), _mm512_unpackhi_ps(u0, u1));
    s = _mm512_add_ps(s, _mm512_permute_ps(s, 0x4E));
    // Lanes are now [v0, v4, v0, v4, v1, v5, v1, v5, v2, v6, .., v3, v7, ..].
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_castps512_ps256(_mm512_permutexvar_ps(order, s));
}

// Stores n (<= 8) sums, adding bias or the values already in y.
ASCENT_AVX512_INLINE void store_sums(__m256 s, int n, const float* bias, bool accumulate, float* y) {
    const __mmask8 m = first_n8(n);
    if (accumulate)
        s = _mm256_add_ps(s, _mm256_maskz_loadu_ps(m, y));
    else if (bias)
        s = _mm256_add_ps(s, _mm256_maskz_loadu_ps(m, bias));
    _mm256_mask_storeu_ps(y, m, s);
}

// ------------------------------------------------------------------------------------------
// Weight loads: 16 f32 lanes from F32 or F16 storage.

struct LoadF32 {
    using T = float;
    ASCENT_AVX512_INLINE static __m512 load(const float* p) { return _mm512_loadu_ps(p); }
    ASCENT_AVX512_INLINE static __m512 load_first(const float* p, int64_t n) {
        return _mm512_maskz_loadu_ps(first_n16(n), p);
    }
};
struct LoadF16 {
    using T = uint16_t;
    ASCENT_AVX512_INLINE static __m512 load(const uint16_t* p) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    ASCENT_AVX512_INLINE static __m512 load_first(const uint16_t* p, int64_t n) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first_n16(n), p));
    }
};

// ------------------------------------------------------------------------------------------
// Decode: one activation row against the weight rows [o0, o1).
//
// Weight rows are read one after the other, so a thread's reads are one sequential stream that
// the hardware prefetchers follow at full speed. Eight rows read side by side (eight streams a
// row apart) needed software prefetches, and those hold L1 miss buffers until the line arrives:
// on Zen 4, two threads that way read at about half the rate the same two threads reach on one
// stream each (a row at a time: 34-36 GB/s side by side with a plain read loop's 32-35 GB/s;
// eight rows with prefetches: 21-33 GB/s). Each row keeps four accumulators (four steps
// unrolled) to cover the multiply-add latency; the sums of a group of rows are reduced together.

// Into L2 only: the prefill kernels prefetch the next weight panel, which can be larger than L1.
ASCENT_AVX512_INLINE void prefetch_l2(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T1); }

// Decode rows also prefetch their own stream ahead into L2, `ahead` bytes (decode_prefetch.h: the
// distance depends on the machine). The hardware prefetchers alone keep a plain read loop at full
// speed, but not this kernel, whose loads of x share the load queue with the weights': on Zen 4,
// bench_matmul's BM_DecodeModel (all of Qwen2-0.5B's products, two threads) read at 0.89-0.95 of
// a plain read of the same weights without these prefetches and at 0.97-1.03 with them, in
// alternating runs; prefetching into L1 was slower than none. Prefetches past the end of a matrix
// are harmless (they never fault) and mostly fetch the next product's rows.
// Prefetches the cache lines of the `bytes` (a multiple of 64) that follow p + ahead (none when
// ahead is 0).
template <size_t bytes>
ASCENT_AVX512_INLINE void prefetch_ahead(const void* p, size_t ahead) {
    static_assert(bytes % 64 == 0);
    if (ahead == 0) return;
    const char* at = static_cast<const char*>(p) + ahead;
    for (size_t b = 0; b < bytes; b += 64) prefetch_l2(at + b);
}

template <int R>
ASCENT_AVX512_INLINE void store_row_sums(const __m512 (&acc)[R], const float* bias, float* y) {
    static_assert(R <= 8);
    __m512 sums[8];
    for (int r = 0; r < 8; ++r) sums[r] = r < R ? acc[r] : _mm512_setzero_ps();
    store_sums(sum8(sums), R, bias, false, y);
}

// One BF16 weight row against BF16 activations (zero-padded to whole vectors): 32 products per
// vdpbf16ps, so per 64 bytes of weights one 64-byte load of x. With x in f32 (twice the bytes,
// plus a shift and a mask to split the weights) a 4864-wide row's x no longer stayed in L1 beside
// the weight stream: on Zen 4 in its fast state such rows read at 41 GB/s of a 64 GB/s roof, with
// BF16 activations at 64.
ASCENT_AVX512_INLINE __m512 dot_step(__m512 acc, const uint16_t* x, __m512i w) {
    return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(_mm512_load_si512(x)), reinterpret_cast<__m512bh>(w));
}

ASCENT_AVX512_INLINE __m512 row_dot_bf16(const uint16_t* x, const uint16_t* w, int64_t in, size_t ahead) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t k = 0;
    for (; k + 4 * kBF16Lanes <= in; k += 4 * kBF16Lanes) {
        prefetch_ahead<4 * kBF16Lanes * sizeof(uint16_t)>(w + k, ahead);
        a0 = dot_step(a0, x + k, _mm512_loadu_si512(w + k));
        a1 = dot_step(a1, x + k + kBF16Lanes, _mm512_loadu_si512(w + k + kBF16Lanes));
        a2 = dot_step(a2, x + k + 2 * kBF16Lanes, _mm512_loadu_si512(w + k + 2 * kBF16Lanes));
        a3 = dot_step(a3, x + k + 3 * kBF16Lanes, _mm512_loadu_si512(w + k + 3 * kBF16Lanes));
    }
    for (; k < in; k += kBF16Lanes) {  // the weights must not be read past the row
        const __m512i v = k + kBF16Lanes <= in ? _mm512_loadu_si512(w + k) : _mm512_maskz_loadu_epi16(first_n32(in - k), w + k);
        a0 = dot_step(a0, x + k, v);
    }
    return _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
}

// One F32 or F16 weight row against f32 activations in natural order.
template <class L>
ASCENT_AVX512_INLINE __m512 row_dot_f32(const float* x, const typename L::T* w, int64_t in, size_t ahead) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t k = 0;
    for (; k + 4 * kF32Lanes <= in; k += 4 * kF32Lanes) {
        prefetch_ahead<4 * kF32Lanes * sizeof(typename L::T)>(w + k, ahead);
        a0 = _mm512_fmadd_ps(L::load(w + k), _mm512_load_ps(x + k), a0);
        a1 = _mm512_fmadd_ps(L::load(w + k + kF32Lanes), _mm512_load_ps(x + k + kF32Lanes), a1);
        a2 = _mm512_fmadd_ps(L::load(w + k + 2 * kF32Lanes), _mm512_load_ps(x + k + 2 * kF32Lanes), a2);
        a3 = _mm512_fmadd_ps(L::load(w + k + 3 * kF32Lanes), _mm512_load_ps(x + k + 3 * kF32Lanes), a3);
    }
    for (; k < in; k += kF32Lanes) {
        const __m512 v = k + kF32Lanes <= in ? L::load(w + k) : L::load_first(w + k, in - k);
        a0 = _mm512_fmadd_ps(v, _mm512_load_ps(x + k), a0);
    }
    return _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
}

template <int R>
ASCENT_AVX512 void gemv_bf16(const uint16_t* x, const uint16_t* w, int64_t in, size_t ahead, const float* bias,
                             float* y) {
    __m512 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = row_dot_bf16(x, w + r * in, in, ahead);
    store_row_sums(acc, bias, y);
}

template <class L, int R>
ASCENT_AVX512 void gemv_f32(const float* x, const typename L::T* w, int64_t in, size_t ahead, const float* bias,
                            float* y) {
    __m512 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = row_dot_f32<L>(x, w + r * in, in, ahead);
    store_row_sums(acc, bias, y);
}

using GemvBF16 = void (*)(const uint16_t*, const uint16_t*, int64_t, size_t, const float*, float*);
template <class L>
using GemvF32 = void (*)(const float*, const typename L::T*, int64_t, size_t, const float*, float*);

template <class X, class T, class Fn, Fn (*Pick)(int)>
void gemv_loop(const X* x, const T* w, int64_t in, int64_t o0, int64_t o1, const float* bias, float* y) {
    const size_t ahead = decode_prefetch_bytes();
    for (int64_t o = o0; o < o1; o += kGemvRows) {
        const int r = static_cast<int>(std::min<int64_t>(kGemvRows, o1 - o));
        Pick(r)(x, w + o * in, in, ahead, bias ? bias + o : nullptr, y + (o - o0));
    }
}

template <std::size_t... I>
constexpr std::array<GemvBF16, sizeof...(I)> gemv_bf16_table(std::index_sequence<I...>) {
    return {gemv_bf16<static_cast<int>(I) + 1>...};
}
GemvBF16 pick_gemv_bf16(int r) {
    static constexpr auto table = gemv_bf16_table(std::make_index_sequence<kGemvRows>());
    return table[r - 1];
}
template <class L, std::size_t... I>
constexpr std::array<GemvF32<L>, sizeof...(I)> gemv_f32_table(std::index_sequence<I...>) {
    return {gemv_f32<L, static_cast<int>(I) + 1>...};
}
template <class L>
GemvF32<L> pick_gemv_f32(int r) {
    static constexpr auto table = gemv_f32_table<L>(std::make_index_sequence<kGemvRows>());
    return table[r - 1];
}

// ------------------------------------------------------------------------------------------
// In-place prefill: a tile of M tokens x N weight rows over the K range [k0, k1).

// BF16 activations and weights: 32 products per vdpbf16ps.
struct DotBF16 {
    using X = uint16_t;
    using W = uint16_t;
    using XVec = __m512i;
    static constexpr int64_t kStep = kBF16Lanes;
    static constexpr int64_t kBlockK = 1536;  // 8 rows x 1536 x 2 bytes = 24 KiB panel in L1
    ASCENT_AVX512_INLINE static __m512i load_x(const uint16_t* p) { return _mm512_load_si512(p); }
    ASCENT_AVX512_INLINE static __m512i load_w(const uint16_t* p) { return _mm512_loadu_si512(p); }
    ASCENT_AVX512_INLINE static __m512i load_w_first(const uint16_t* p, int64_t n) {
        return _mm512_maskz_loadu_epi16(first_n32(n), p);
    }
    ASCENT_AVX512_INLINE static __m512 madd(__m512 acc, __m512i x, __m512i w) {
        return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(x), reinterpret_cast<__m512bh>(w));
    }
};

// f32 activations against F32 or F16 weights widened on load.
template <class L>
struct DotF32 {
    using X = float;
    using W = typename L::T;
    using XVec = __m512;
    static constexpr int64_t kStep = kF32Lanes;
    static constexpr int64_t kBlockK = 24576 / (kTileN * static_cast<int64_t>(sizeof(W)));
    ASCENT_AVX512_INLINE static __m512 load_x(const float* p) { return _mm512_load_ps(p); }
    ASCENT_AVX512_INLINE static __m512 load_w(const W* p) { return L::load(p); }
    ASCENT_AVX512_INLINE static __m512 load_w_first(const W* p, int64_t n) { return L::load_first(p, n); }
    ASCENT_AVX512_INLINE static __m512 madd(__m512 acc, __m512 x, __m512 w) { return _mm512_fmadd_ps(x, w, acc); }
};

struct TileArgs {
    const void* x;      // token m0's row at column 0
    int64_t x_stride;   // elements between token rows
    const void* w;      // weight row n0 at column 0
    int64_t in;         // elements per weight row
    int64_t k0, k1;     // K range; k1 - k0 is a multiple of kStep unless k1 == in
    const float* bias;  // at n0, or nullptr
    bool accumulate;    // add to y instead of storing (later K blocks)
    const void* next;   // weight rows to prefetch at the offsets read (first token tile), or nullptr
    float* y;           // y for (m0, n0)
    int64_t ldy;
};

template <class D, int M, int N>
ASCENT_AVX512 void gemm_tile(const TileArgs& a) {
    const auto* x = static_cast<const typename D::X*>(a.x);
    const auto* w = static_cast<const typename D::W*>(a.w);
    __m512 acc[M][N];
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) acc[m][n] = _mm512_setzero_ps();
    const auto* next = static_cast<const typename D::W*>(a.next);
    int64_t k = a.k0;
    for (; k + D::kStep <= a.k1; k += D::kStep) {
        // One prefetch per 64-byte line of each row (kStep elements are 64 bytes for BF16 and F32
        // weights, 32 bytes for F16).
        if (next && (sizeof(typename D::W) * D::kStep >= 64 || (k & D::kStep) == 0))
            for (int n = 0; n < N; ++n) prefetch_l2(next + n * a.in + k);
        if constexpr (M <= N) {  // the tokens' x vectors stay in registers across the rows
            typename D::XVec xv[M];
            for (int m = 0; m < M; ++m) xv[m] = D::load_x(x + m * a.x_stride + k);
            for (int n = 0; n < N; ++n) {
                const auto wv = D::load_w(w + n * a.in + k);
                for (int m = 0; m < M; ++m) acc[m][n] = D::madd(acc[m][n], xv[m], wv);
            }
        } else {  // more tokens than rows: the rows' vectors stay, each token's is loaded once
            decltype(D::load_w(w)) wv[N];
            for (int n = 0; n < N; ++n) wv[n] = D::load_w(w + n * a.in + k);
            for (int m = 0; m < M; ++m) {
                const auto xv = D::load_x(x + m * a.x_stride + k);
                for (int n = 0; n < N; ++n) acc[m][n] = D::madd(acc[m][n], xv, wv[n]);
            }
        }
    }
    if (k < a.k1) {  // the row's end: x is zero-padded, the weights are not
        typename D::XVec xv[M];
        for (int m = 0; m < M; ++m) xv[m] = D::load_x(x + m * a.x_stride + k);
        for (int n = 0; n < N; ++n) {
            const auto wv = D::load_w_first(w + n * a.in + k, a.k1 - k);
            for (int m = 0; m < M; ++m) acc[m][n] = D::madd(acc[m][n], xv[m], wv);
        }
    }
    for (int m = 0; m < M; ++m) {
        __m512 v[8];
        for (int n = 0; n < 8; ++n) v[n] = n < N ? acc[m][n] : _mm512_setzero_ps();
        store_sums(sum8(v), N, a.bias, a.accumulate, a.y + m * a.ldy);
    }
}

using TileFn = void (*)(const TileArgs&);

// The tile for M tokens by N rows, when N is no more than a tile of M tokens takes.
template <class D, int M, int N>
constexpr TileFn tile_or_null() {
    if constexpr (N <= tile_n_for(M))
        return gemm_tile<D, M, N>;
    else
        return nullptr;
}

template <class D, int M, std::size_t... N>
constexpr std::array<TileFn, sizeof...(N)> tile_row(std::index_sequence<N...>) {
    return {tile_or_null<D, M, static_cast<int>(N) + 1>()...};
}

template <class D, std::size_t... M>
constexpr std::array<std::array<TileFn, kTileN>, sizeof...(M)> tile_table(std::index_sequence<M...>) {
    return {tile_row<D, static_cast<int>(M) + 1>(std::make_index_sequence<kTileN>())...};
}

template <class D>
TileFn pick_tile(int m, int n) {
    static constexpr auto table = tile_table<D>(std::make_index_sequence<kBatchTileMaxM>());
    return table[static_cast<size_t>(m - 1)][static_cast<size_t>(n - 1)];
}

// Weight rows ahead that the first token tile of a panel of `tile_n` rows prefetches: whole
// panels, at least ~16 KiB ahead of the reads.
inline int64_t panel_prefetch_rows(int64_t row_bytes, int64_t tile_n) {
    const int64_t panel_bytes = tile_n * row_bytes;
    return tile_n * std::max<int64_t>(1, (16384 + panel_bytes - 1) / panel_bytes);
}

template <class D>
void gemm(const MatmulInput& x, const typename D::W* w, int64_t o0, int64_t o1, const float* bias, float* y,
          int64_t ldy) {
    const int64_t rows = x.rows(), in = x.in(), xs = x.stride();
    const auto* xbase = static_cast<const typename D::X*>(x.data());
    // K blocks of equal size (multiples of the vector step), so the panel fits L1.
    const int64_t n_kblocks = (in + D::kBlockK - 1) / D::kBlockK;
    const int64_t kc = ((in + n_kblocks - 1) / n_kblocks + D::kStep - 1) / D::kStep * D::kStep;
    // Token blocks that fit L2 next to the weight block.
    const int64_t x_block_bytes = 512 * 1024;
    const int tile_m = batch_tile_m(rows);
    const int tile_n = tile_n_for(tile_m);
    const int64_t mc = std::max<int64_t>(
        tile_m, x_block_bytes / (kc * static_cast<int64_t>(sizeof(typename D::X))) / tile_m * tile_m);
    const int64_t prefetch_rows = panel_prefetch_rows(in * static_cast<int64_t>(sizeof(typename D::W)), tile_n);
    TileArgs a{};
    a.x_stride = xs;
    a.in = in;
    a.ldy = ldy;
    for (int64_t m_block = 0; m_block < rows; m_block += mc) {
        const int64_t m_end = std::min(rows, m_block + mc);
        for (int64_t k0 = 0; k0 < in; k0 += kc) {
            a.k0 = k0;
            a.k1 = std::min(in, k0 + kc);
            a.accumulate = k0 > 0;
            for (int64_t n0 = o0; n0 < o1; n0 += tile_n) {
                const int nn = static_cast<int>(std::min<int64_t>(tile_n, o1 - n0));
                a.w = w + n0 * in;
                a.bias = bias ? bias + n0 : nullptr;
                const TileFn full = pick_tile<D>(tile_m, nn);
                for (int64_t m0 = m_block; m0 < m_end; m0 += tile_m) {
                    const int mm = static_cast<int>(std::min<int64_t>(tile_m, m_end - m0));
                    // The first token tile streams this panel from memory; later ones find it in
                    // cache. Only the first prefetches the panels ahead.
                    a.next = m0 == m_block ? w + (n0 + prefetch_rows) * in : nullptr;
                    a.x = xbase + m0 * xs;
                    a.y = y + m0 * ldy + (n0 - o0);
                    (mm == tile_m ? full : pick_tile<D>(mm, nn))(a);
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// The path's entry points

MatmulShape x86_shape(DType wt, int64_t /*rows*/, int64_t /*in*/) {
    if (wt == DType::BF16) return {MatmulLayout::BF16, kBF16Lanes, 1};
    return {MatmulLayout::F32, kF32Lanes, 1};
}

// n BF16 values (n a multiple of 16) into d: the first `valid` rounded from src, the rest zero.
ASCENT_AVX512_INLINE void bf16_span(const float* src, int64_t valid, int64_t n, uint16_t* d) {
    for (int64_t k = 0; k < n; k += kF32Lanes) {
        const __m512 v = _mm512_maskz_loadu_ps(first_n16(std::clamp<int64_t>(valid - k, 0, 16)), src + k);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + k), _mm512_cvtepi32_epi16(round_to_bf16(v)));
    }
}

ASCENT_AVX512 void x86_convert(MatmulInput& dst, const float* x, int64_t ldx, int64_t r0, int64_t r1) {
    const int64_t in = dst.in(), stride = dst.stride();
    for (int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * ldx;
        switch (dst.layout()) {
            case MatmulLayout::F32: {
                float* d = dst.mutable_f32_row(r);
                for (int64_t k = 0; k < stride; k += kF32Lanes)
                    _mm512_store_ps(d + k, _mm512_maskz_loadu_ps(first_n16(std::clamp<int64_t>(in - k, 0, 16)), xr + k));
                break;
            }
            case MatmulLayout::BF16:
                bf16_span(xr, in, stride, dst.mutable_bf16_row(r));
                break;
            case MatmulLayout::BF16InF32:  // the Highway path's layout, never asked for by x86_shape()
            case MatmulLayout::BF16Tiles:  // the AMX path's layout, converted there
                return;
        }
    }
}

// Columns [c0, c1) of every BF16 row from a block of them (ldx floats a row), rounded as
// x86_convert rounds; the block that ends the rows also zeroes their padding.
ASCENT_AVX512 void x86_convert_columns(MatmulInput& dst, const float* x, int64_t ldx, int64_t c0, int64_t c1) {
    const int64_t end = c1 == dst.in() ? dst.stride() : c1;
    for (int64_t r = 0; r < dst.rows(); ++r)
        bf16_span(x + r * ldx, c1 - c0, end - c0, dst.mutable_bf16_row(r) + c0);
}

void x86_rows(const MatmulInput& x, const void* w, DType wt, int64_t o0, int64_t o1, const float* bias, float* y,
              int64_t ldy) {
    const int64_t in = x.in();
    switch (x.layout()) {
        case MatmulLayout::BF16InF32:  // the Highway path's layout, never asked for by x86_shape()
        case MatmulLayout::BF16Tiles:  // the AMX path's layout, never asked for by x86_shape()
            return;
        case MatmulLayout::BF16:
            if (x.rows() == 1) {  // decode
                gemv_loop<uint16_t, uint16_t, GemvBF16, pick_gemv_bf16>(x.bf16_row(0), static_cast<const uint16_t*>(w),
                                                                        in, o0, o1, bias, y);
                return;
            }
            // Packing a panel costs several tokens' products with it, and a short prompt's product
            // reads its weights from memory: below 48 tokens the in-place kernel wins (Zen 4, the
            // model's prefill, 2 threads: 24 tokens +15-30%, 32 +8-13%, 40 +3-8%; 64 tokens -5%).
            if (x.rows() < kPackedMinRows)
                gemm<DotBF16>(x, static_cast<const uint16_t*>(w), o0, o1, bias, y, ldy);
            else
                x86_gemm_bf16_packed(x, static_cast<const uint16_t*>(w), o0, o1, bias, y, ldy);
            return;
        case MatmulLayout::F32:
            if (wt == DType::F32) {
                if (x.rows() == 1)
                    gemv_loop<float, float, GemvF32<LoadF32>, pick_gemv_f32<LoadF32>>(
                        x.f32_row(0), static_cast<const float*>(w), in, o0, o1, bias, y);
                else
                    gemm<DotF32<LoadF32>>(x, static_cast<const float*>(w), o0, o1, bias, y, ldy);
            } else {
                if (x.rows() == 1)
                    gemv_loop<float, uint16_t, GemvF32<LoadF16>, pick_gemv_f32<LoadF16>>(
                        x.f32_row(0), static_cast<const uint16_t*>(w), in, o0, o1, bias, y);
                else
                    gemm<DotF32<LoadF16>>(x, static_cast<const uint16_t*>(w), o0, o1, bias, y, ldy);
            }
            return;
    }
}

// Register-resident vdpbf16ps loop; the asm barrier keeps the compiler from hoisting the constant
// products out of the loop.
ASCENT_AVX512 double x86_peak_loop(int64_t iterations) {
    // 12 independent chains cover latency x throughput of vdpbf16ps on the AVX-512 BF16 cores
    // seen (Zen 4, Sapphire Rapids). The loop must be unrolled: left rolled, GCC keeps the accumulators
    // in memory and the loop measures store forwarding (half the real peak on Zen 4).
    constexpr int kAcc = 12;
    __m512 acc[kAcc];
    for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));  // apart: see peak_loop_sum
    __m512i a = _mm512_set1_epi16(0x3f80), b = _mm512_set1_epi16(0x3c00);  // 1.0 and 2^-7
    for (int64_t it = 0; it < iterations; ++it) {
        __asm__ volatile("" : "+v"(a), "+v"(b));
#pragma GCC unroll 12
        for (int i = 0; i < kAcc; ++i)
            acc[i] = _mm512_dpbf16_ps(acc[i], reinterpret_cast<__m512bh>(a), reinterpret_cast<__m512bh>(b));
    }
    __m512 s = acc[0];
    for (int i = 1; i < kAcc; ++i) s = _mm512_add_ps(s, acc[i]);
    peak_loop_sum = _mm512_reduce_add_ps(s);
    return static_cast<double>(iterations) * kAcc * kBF16Lanes * 2;
}

ASCENT_AVX512 float x86_read_sum(const void* p, size_t bytes) {
    const auto* f = static_cast<const float*>(p);
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < bytes / sizeof(float); i += 4 * kF32Lanes) {
        s0 = _mm512_add_ps(s0, _mm512_load_ps(f + i));
        s1 = _mm512_add_ps(s1, _mm512_load_ps(f + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_load_ps(f + i + 32));
        s3 = _mm512_add_ps(s3, _mm512_load_ps(f + i + 48));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

}  // namespace

const MatmulPath* x86_matmul_path() {
    static const MatmulPath path{"avx512bf16", kTileN, x86_shape, x86_convert, x86_convert_columns, x86_rows,
                                 x86_peak_loop, "vdpbf16ps zmm", x86_read_sum};
    static const bool supported = cpu_has_avx512_bf16();
    return supported ? &path : nullptr;
}

}  // namespace ascent::cpu

#else  // not x86-64

namespace ascent::cpu {
const MatmulPath* x86_matmul_path() { return nullptr; }
}  // namespace ascent::cpu

#endif
