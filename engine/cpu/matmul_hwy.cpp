// Portable matmul path: Highway compiles this file once per instruction set (NEON, SVE, AVX2,
// AVX-512...) and the best one is chosen at run time. Same structure as the x86 path: decode
// streams one weight row at a time; a few tokens run a register tile of tokens x weight rows
// (TileBF16, or TileHalves with 16 vector registers), and from kPackedMinRows tokens on products
// run on packed weight panels (matmul_hwy_packed-inl.h). BF16
// data is split into its even and odd halves with one shift and one mask per vector (each half is
// a valid f32), so activations rounded to BF16 multiply BF16 weights exactly in f32.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/cpu/matmul_hwy.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>
#include "engine/cpu/aligned_scratch.h"
#include "engine/cpu/banks_hwy-inl.h"
#include "engine/cpu/decode_prefetch.h"
#include "engine/cpu/matmul_hwy_packed-inl.h"
#include "engine/cpu/matmul_path.h"

HWY_BEFORE_NAMESPACE();
namespace ascent::cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
constexpr size_t kMaxF32Lanes = hn::MaxLanes(DF());
constexpr int kTileM = 4;
constexpr int kTileN = 4;

// Two f32 vectors from 2 * Lanes(df) BF16 values: the even-indexed and the odd-indexed ones.
HWY_INLINE void LoadPairs(DF df, const uint16_t* p, VF& even, VF& odd) {
#if HWY_TARGET == HWY_SCALAR
    even = hn::Set(df, bf16_to_f32(p[0]));
    odd = hn::Set(df, bf16_to_f32(p[1]));
#else
    const hn::RebindToUnsigned<DF> du32;
    const hn::Repartition<uint16_t, DF> du16;
    const auto v = hn::BitCast(du32, hn::LoadU(du16, p));
    even = hn::BitCast(df, hn::ShiftLeft<16>(v));
    odd = hn::BitCast(df, hn::And(v, hn::Set(du32, 0xFFFF0000u)));
#endif
}

HWY_INLINE VF LoadWeights(DF df, const float* p) { return hn::LoadU(df, p); }
HWY_INLINE VF LoadWeights(DF df, const uint16_t* p) {  // F16
    const hn::Rebind<hwy::float16_t, DF> df16;
    return hn::PromoteTo(df, hn::LoadU(df16, reinterpret_cast<const hwy::float16_t*>(p)));
}

HWY_INLINE float Sum(DF df, VF v) { return hn::GetLane(hn::SumOfLanes(df, v)); }

// The last, partial vector of a weight row, zero-padded in a local buffer so that the vector
// loads never read past the row.
template <typename T>
HWY_INLINE const T* PaddedTail(const T* p, size_t n, size_t width, T* buf) {
    std::memcpy(buf, p, n * sizeof(T));
    std::fill(buf + n, buf + width, T{0});
    return buf;
}

// ------------------------------------------------------------------------------------------
// Decode
//
// As in the x86 path (matmul_x86.cpp), one weight row at a time: a thread's rows are one
// contiguous stream, which the hardware prefetchers follow, and the row prefetches its own
// stream decode_prefetch_bytes() ahead into L2, because the loads of x share the load queue with
// the weights'. Four rows read side by side (four streams a row apart, a later group prefetched)
// read at 0.79 of the probe on Zen 3 (AVX2) for 896-wide rows; see bench_matmul's BM_DecodeShape.

// Prefetches into L2 the `bytes` (a multiple of 64) that follow p + ahead (none when ahead is 0).
// Past the end of a matrix they are harmless (they never fault): they fetch the next rows.
HWY_INLINE void PrefetchAhead(const void* p, size_t ahead, size_t bytes) {
    if (ahead == 0) return;
    const char* at = static_cast<const char*>(p) + ahead;
    for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch(at + b, 0, 2);
}

// One BF16 row against BF16 x: both are split into their even and odd halves in registers,
// four chunks per step, each chunk with its own pair of sums to cover the multiply-add latency.
// x in BF16 rather than split into f32 beforehand halves the loads of x, which share the load
// ports with the weight stream: 0.6-3% faster on Zen 3, and the products are the same.
HWY_INLINE float RowDotBF16(const uint16_t* x, const uint16_t* w, int64_t in, size_t ahead) {
    const DF df;
    const int64_t L = static_cast<int64_t>(hn::Lanes(df)), chunk = 2 * L;
    VF e0 = hn::Zero(df), e1 = e0, e2 = e0, e3 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0;
    const auto step = [&](int64_t k, VF& even, VF& odd) ASCENT_BANK_LAMBDA {
        VF we, wo, xe, xo;
        LoadPairs(df, w + k, we, wo);
        LoadPairs(df, x + k, xe, xo);
        even = hn::MulAdd(we, xe, even);
        odd = hn::MulAdd(wo, xo, odd);
    };
    int64_t k = 0;
    for (; k + 4 * chunk <= in; k += 4 * chunk) {
        PrefetchAhead(w + k, ahead, static_cast<size_t>(8 * chunk));
        step(k, e0, o0);
        step(k + chunk, e1, o1);
        step(k + 2 * chunk, e2, o2);
        step(k + 3 * chunk, e3, o3);
    }
    for (; k + chunk <= in; k += chunk) step(k, e0, o0);
    if (k < in) {  // the weights must not be read past the row; x is zero-padded
        HWY_ALIGN uint16_t buf[2 * kMaxF32Lanes];
        const uint16_t* tail = PaddedTail(w + k, static_cast<size_t>(in - k), static_cast<size_t>(chunk), buf);
        VF we, wo, xe, xo;
        LoadPairs(df, tail, we, wo);
        LoadPairs(df, x + k, xe, xo);
        e1 = hn::MulAdd(we, xe, e1);
        o1 = hn::MulAdd(wo, xo, o1);
    }
    return Sum(df, hn::Add(hn::Add(hn::Add(e0, o0), hn::Add(e1, o1)), hn::Add(hn::Add(e2, o2), hn::Add(e3, o3))));
}

// One F32 or F16 row against f32 activations in natural order.
template <typename T>
HWY_INLINE float RowDotF32(const float* x, const T* w, int64_t in, size_t ahead) {
    const DF df;
    const int64_t L = static_cast<int64_t>(hn::Lanes(df));
    VF a0 = hn::Zero(df), a1 = a0, a2 = a0, a3 = a0;
    int64_t k = 0;
    for (; k + 4 * L <= in; k += 4 * L) {
        PrefetchAhead(w + k, ahead, static_cast<size_t>(4 * L) * sizeof(T));
        a0 = hn::MulAdd(LoadWeights(df, w + k), hn::Load(df, x + k), a0);
        a1 = hn::MulAdd(LoadWeights(df, w + k + L), hn::Load(df, x + k + L), a1);
        a2 = hn::MulAdd(LoadWeights(df, w + k + 2 * L), hn::Load(df, x + k + 2 * L), a2);
        a3 = hn::MulAdd(LoadWeights(df, w + k + 3 * L), hn::Load(df, x + k + 3 * L), a3);
    }
    for (; k + L <= in; k += L) a0 = hn::MulAdd(LoadWeights(df, w + k), hn::Load(df, x + k), a0);
    if (k < in) {
        HWY_ALIGN T buf[kMaxF32Lanes];
        const T* tail = PaddedTail(w + k, static_cast<size_t>(in - k), static_cast<size_t>(L), buf);
        a1 = hn::MulAdd(LoadWeights(df, tail), hn::Load(df, x + k), a1);
    }
    return Sum(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)));
}

// y[o - o0] = row o of w . x (+ bias[o]) for the rows [o0, o1).
template <typename Dot>
HWY_INLINE void GemvRows(int64_t o0, int64_t o1, const float* bias, float* y, Dot dot) {
    const size_t ahead = decode_prefetch_bytes();
    for (int64_t o = o0; o < o1; ++o) {
        const float s = dot(o, ahead);
        y[o - o0] = bias ? s + bias[o] : s;
    }
}

// ------------------------------------------------------------------------------------------
// Prefill: M tokens x N weight rows.

// Tiles of M tokens x N weight rows, M and N up to kBankSize. The sums of token m and row n are
// c<n><m>; each row's bank is passed to its visit as (c<n>0, ..., c<n>3), hence the order below.
#define ASCENT_TILE_SUMS c00, c10, c20, c30, c01, c11, c21, c31, c02, c12, c22, c32, c03, c13, c23, c33

// y[m][n] = the tile's sums (+ bias[n]), the banks in ASCENT_TILE_SUMS order.
template <int M, int N, typename... V>
HWY_INLINE void StoreTile(DF df, const float* bias, float* y, int64_t ldy, V&... sums) {
    Each<N>(
        [&](int n, VF& s0, VF& s1, VF& s2, VF& s3) ASCENT_BANK_LAMBDA {
            Each<M>(
                [&](int m, VF& sum) ASCENT_BANK_LAMBDA {
                    const float s = Sum(df, sum);
                    y[m * ldy + n] = bias ? s + bias[n] : s;
                },
                s0, s1, s2, s3);
        },
        sums...);
}

template <int M, int N>
HWY_INLINE void TileBF16(const uint16_t* x, int64_t xs, const uint16_t* w, int64_t in, const float* bias, float* y,
                         int64_t ldy) {
    const DF df;
    const int64_t chunk = 2 * static_cast<int64_t>(hn::Lanes(df));
    VF c00 = hn::Zero(df), c10 = c00, c20 = c00, c30 = c00, c01 = c00, c11 = c00, c21 = c00, c31 = c00, c02 = c00,
       c12 = c00, c22 = c00, c32 = c00, c03 = c00, c13 = c00, c23 = c00, c33 = c00;
    HWY_ALIGN uint16_t buf[2 * kMaxF32Lanes];
    for (int64_t k = 0; k < in; k += chunk) {
        VF e0 = hn::Zero(df), e1 = e0, e2 = e0, e3 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0;  // tokens' pairs
        Each<M>(  // token rows are zero-padded
            [&](int m, VF& even, VF& odd) ASCENT_BANK_LAMBDA { LoadPairs(df, x + m * xs + k, even, odd); },
            e0, e1, e2, e3, o0, o1, o2, o3);
        Each<N>(
            [&](int n, VF& s0, VF& s1, VF& s2, VF& s3) ASCENT_BANK_LAMBDA {
                const uint16_t* p = w + n * in + k;
                if (k + chunk > in) p = PaddedTail(p, static_cast<size_t>(in - k), static_cast<size_t>(chunk), buf);
                VF we, wo;
                LoadPairs(df, p, we, wo);
                Each<M>(
                    [&](int, VF& sum, VF& xe, VF& xo) ASCENT_BANK_LAMBDA {
                        sum = hn::MulAdd(wo, xo, hn::MulAdd(we, xe, sum));
                    },
                    s0, s1, s2, s3, e0, e1, e2, e3, o0, o1, o2, o3);
            },
            ASCENT_TILE_SUMS);
    }
    StoreTile<M, N>(df, bias, y, ldy, ASCENT_TILE_SUMS);
}

// A few tokens on targets with 16 vector registers, where TileBF16's 4 x 4 tile (16 sums, 8
// token halves, 2 weight halves) spills. The tokens come split into f32 halves beforehand
// (SplitTokenHalves), and each multiply-add reads its token half from L1 as a memory operand, so
// the registers hold only the sums and one row's two weight halves: up to 12 sums. The sums are
// the chains TileBF16 runs (even half, then odd half, chunk by chunk), so the bits are the same.
// The rows are streamed as decode streams them, prefetched `ahead` bytes ahead of each row's reads
// (see Rows()).
template <int M, int N>
HWY_INLINE void TileHalves(const float* halves, int64_t xs, const uint16_t* w, int64_t in, const float* bias, float* y,
                           int64_t ldy, size_t ahead) {
    const DF df;
    const int64_t L = static_cast<int64_t>(hn::Lanes(df)), chunk = 2 * L;
    VF c00 = hn::Zero(df), c10 = c00, c20 = c00, c30 = c00, c01 = c00, c11 = c00, c21 = c00, c31 = c00, c02 = c00,
       c12 = c00, c22 = c00, c32 = c00, c03 = c00, c13 = c00, c23 = c00, c33 = c00;
    HWY_ALIGN uint16_t buf[2 * kMaxF32Lanes];
    const auto step = [&](int64_t k, bool tail) ASCENT_BANK_LAMBDA {
        Each<N>(
            [&](int n, VF& s0, VF& s1, VF& s2, VF& s3) ASCENT_BANK_LAMBDA {
                const uint16_t* p = w + n * in + k;
                if (tail) p = PaddedTail(p, static_cast<size_t>(in - k), static_cast<size_t>(chunk), buf);
                VF we, wo;
                LoadPairs(df, p, we, wo);
                // Every row reads the token halves anew: left to itself, GCC keeps them in
                // registers across the rows and moves the sums to the stack instead.
                const float* x = halves + k;
                asm volatile("" : "+r"(x));
                Each<M>(
                    [&](int m, VF& sum) ASCENT_BANK_LAMBDA {
                        const float* xm = x + m * xs;
                        sum = hn::MulAdd(wo, hn::Load(df, xm + L), hn::MulAdd(we, hn::Load(df, xm), sum));
                    },
                    s0, s1, s2, s3);
            },
            ASCENT_TILE_SUMS);
    };
    // Two chunks of a row are one cache line (64 bytes on AVX2): one prefetch per row each.
    int64_t k = 0;
    for (; k + 2 * chunk <= in; k += 2 * chunk) {
        for (int n = 0; n < N; ++n) PrefetchAhead(w + n * in + k, ahead, 64);
        step(k, false);
        step(k + chunk, false);
    }
    for (; k < in; k += chunk) step(k, k + chunk > in);
    StoreTile<M, N>(df, bias, y, ldy, ASCENT_TILE_SUMS);
}

// Rows of BF16 tokens (stride xs, zero-padded to whole chunks of 2 * Lanes) with each chunk as
// its even values, then its odd values, as f32 (the layout TileHalves reads).
HWY_INLINE void SplitTokenHalves(const uint16_t* x, int64_t rows, int64_t xs, float* out) {
    const DF df;
    const int64_t L = static_cast<int64_t>(hn::Lanes(df));
    for (int64_t i = 0; i < rows * xs; i += 2 * L) {
        VF even, odd;
        LoadPairs(df, x + i, even, odd);
        hn::Store(even, df, out + i);
        hn::Store(odd, df, out + i + L);
    }
}

template <int M, int N, typename T>
HWY_INLINE void TileF32(const float* x, int64_t xs, const T* w, int64_t in, const float* bias, float* y,
                        int64_t ldy) {
    const DF df;
    const int64_t L = static_cast<int64_t>(hn::Lanes(df));
    VF c00 = hn::Zero(df), c10 = c00, c20 = c00, c30 = c00, c01 = c00, c11 = c00, c21 = c00, c31 = c00, c02 = c00,
       c12 = c00, c22 = c00, c32 = c00, c03 = c00, c13 = c00, c23 = c00, c33 = c00;
    HWY_ALIGN T buf[kMaxF32Lanes];
    for (int64_t k = 0; k < in; k += L) {
        VF x0 = hn::Zero(df), x1 = x0, x2 = x0, x3 = x0;  // the tokens' values
        Each<M>([&](int m, VF& xv) ASCENT_BANK_LAMBDA { xv = hn::Load(df, x + m * xs + k); }, x0, x1, x2, x3);
        Each<N>(
            [&](int n, VF& s0, VF& s1, VF& s2, VF& s3) ASCENT_BANK_LAMBDA {
                const T* p = w + n * in + k;
                if (k + L > in) p = PaddedTail(p, static_cast<size_t>(in - k), static_cast<size_t>(L), buf);
                const VF wv = LoadWeights(df, p);
                Each<M>([&](int, VF& sum, VF& xv) ASCENT_BANK_LAMBDA { sum = hn::MulAdd(wv, xv, sum); }, s0, s1, s2, s3,
                        x0, x1, x2, x3);
            },
            ASCENT_TILE_SUMS);
    }
    StoreTile<M, N>(df, bias, y, ldy, ASCENT_TILE_SUMS);
}

#undef ASCENT_TILE_SUMS

// Calls fn(std::integral_constant<int, n>()) for n in 1..4.
template <typename Fn>
HWY_INLINE void WithCount(int64_t n, Fn fn) {
    switch (n) {
        case 4: fn(std::integral_constant<int, 4>()); break;
        case 3: fn(std::integral_constant<int, 3>()); break;
        case 2: fn(std::integral_constant<int, 2>()); break;
        default: fn(std::integral_constant<int, 1>()); break;
    }
}

// Calls tile(m0, n0, M, N) over the tokens x rows [o0, o1), with M and N compile-time constants:
// kTileM x tile_rows (at most 4) where whole, smaller at the edges; tiles of more than kMaxSums
// sums are not instantiated (the caller's tile_rows never asks for them). The weight panel
// (tile_rows rows) stays in cache while all token tiles pass over it. A tile's shape changes no
// sum's order, and so no bits; edge tiles of 1 x 1 left a lone multiply-add chain waiting on
// itself, and at 2 or 3 tokens all of a product ran that way (Zen 3, one thread: 29-39% less time
// at 2-3 tokens, 17% at 5 tokens since).
template <int kMaxSums, typename Tile>
HWY_INLINE void ForTiles(int64_t rows, int64_t o0, int64_t o1, int64_t tile_rows, Tile tile) {
    static_assert(kTileM <= 4);
    for (int64_t n0 = o0; n0 < o1; n0 += tile_rows)
        WithCount(std::min(tile_rows, o1 - n0), [&](auto N) {
            for (int64_t m0 = 0; m0 < rows; m0 += kTileM)
                WithCount(std::min<int64_t>(kTileM, rows - m0), [&](auto M) {
                    if constexpr (decltype(M)::value * std::remove_reference_t<decltype(N)>::value <= kMaxSums)
                        tile(m0, n0, M, N);
                });
        });
}

// ------------------------------------------------------------------------------------------
// Path entry points

// BF16 prefills from this many tokens on run on packed panels (matmul_hwy_packed-inl.h); fewer
// tokens do not repay the packing, which reads the weights once more and writes them. On Zen 3
// (AVX2, 16 registers), all the products of 8 Qwen2-0.5B layers (240 MB of weights on large
// pages, from memory as a real model's are), 2 threads, alternating passes: the in-place tiles
// (TileHalves) took 30-37% less time than packed panels at 9-11 tokens, 24% at 12, 16% at 16, 4%
// at 20 and 1.5% at 24; packed panels took 2-3% less at 28 and 32, and 8% less at 48. Once the
// packing prefetched its rows (kPackAheadRows), the tiles still took 13% less time at 12 tokens
// and 6.5% at 16, 20 was even (two runs: 4.4% less, 0.8% more) and packed panels took 1.7% less
// at 24 (9 of 10 passes). Once a panel was packed just before its tiles (PackedRowsBF16), packed
// panels took 1.9% less time at 20 tokens (mean of 8 runs of 12-16 passes, 6 won), 2-3.5% less
// at 22, and the tiles 2.5-5.8% less at 18. With 32 registers (TileBF16's 4 x 4 tile fits) those
// targets keep 17, not measured on them.
constexpr int64_t kPackedMinRows = kSixteenVectorRegisters ? 20 : 17;

MatmulShape Shape(DType wt, int64_t rows, int64_t /*in*/) {
    const int64_t L = static_cast<int64_t>(hn::Lanes(DF()));
    if (wt == DType::BF16) return {rows >= kPackedMinRows ? MatmulLayout::BF16InF32 : MatmulLayout::BF16, 2 * L, 1};
    return {MatmulLayout::F32, L, 1};
}

template <typename T>
void RowsF32(const MatmulInput& x, const T* w, int64_t o0, int64_t o1, const float* bias, float* y, int64_t ldy) {
    const int64_t in = x.in(), xs = x.stride();
    const float* xb = x.f32_row(0);
    if (x.rows() == 1) {
        GemvRows(o0, o1, bias, y, [&](int64_t o, size_t ahead) { return RowDotF32(xb, w + o * in, in, ahead); });
        return;
    }
    ForTiles<16>(x.rows(), o0, o1, kTileN, [&](int64_t m0, int64_t n0, auto M, auto N) {
        TileF32<decltype(M)::value, decltype(N)::value>(xb + m0 * xs, xs, w + n0 * in, in, bias ? bias + n0 : nullptr, y + m0 * ldy + (n0 - o0), ldy);
    });
}

void Rows(const MatmulInput& x, const void* w, DType wt, int64_t o0, int64_t o1, const float* bias, float* y,
          int64_t ldy) {
    const int64_t in = x.in(), xs = x.stride();
    switch (x.layout()) {
        case MatmulLayout::BF16: {
            const auto* wb = static_cast<const uint16_t*>(w);
            const uint16_t* xb = x.bf16_row(0);
            if (x.rows() == 1) {
                GemvRows(o0, o1, bias, y,
                         [&](int64_t o, size_t ahead) { return RowDotBF16(xb, wb + o * in, in, ahead); });
                return;
            }
            if constexpr (kSixteenVectorRegisters) {
                // Split once per input and thread, not once per block of rows: a product hands
                // each thread many blocks, and q/k/v share one input. With 8 layers' products
                // at 2-16 tokens on Zen 3 (2 threads), splitting per block took 0.6-3.3% more
                // time (10 alternating passes each).
                thread_local std::vector<float> scratch;
                thread_local uint64_t split_version = 0;  // whose halves the scratch holds
                float* halves = aligned_floats(scratch, static_cast<size_t>(x.rows() * xs));
                if (split_version != x.version()) {  // another input: the scratch may have moved too
                    SplitTokenHalves(xb, x.rows(), xs, halves);
                    split_version = x.version();
                }
                // The tile reads its rows side by side, which needs its prefetch further ahead
                // than one row's (decode) does (decode_prefetch.h): on Zen 3, 4 and 16 tokens
                // took 27% and 18% less time with 4 KiB than without any prefetch.
                const size_t ahead = tile_prefetch_bytes();
                const auto tile = [&](int64_t m0, int64_t n0, auto M, auto N) {
                    TileHalves<decltype(M)::value, decltype(N)::value>(halves + m0 * xs, xs, wb + n0 * in, in,
                                                                       bias ? bias + n0 : nullptr,
                                                                       y + m0 * ldy + (n0 - o0), ldy, ahead);
                };
                // Sums in at most 12 registers: tiles of 4 tokens x 3 rows, or of fewer tokens x 4
                // rows when there are fewer than 4. (With an earlier build of this kernel, tiles
                // of at most 3 tokens x 4 rows, their sizes balanced, were 4-5% faster at 6 and 9
                // tokens on Zen 3 but 10-24% slower at 7 and 10.)
                ForTiles<12>(x.rows(), o0, o1, x.rows() < kTileM ? 4 : 3, tile);
                return;
            }
            ForTiles<16>(x.rows(), o0, o1, kTileN, [&](int64_t m0, int64_t n0, auto M, auto N) {
                TileBF16<decltype(M)::value, decltype(N)::value>(xb + m0 * xs, xs, wb + n0 * in, in, bias ? bias + n0 : nullptr,
                               y + m0 * ldy + (n0 - o0), ldy);
            });
            return;
        }
        case MatmulLayout::BF16InF32:
            PackedRowsBF16(x, static_cast<const uint16_t*>(w), o0, o1, bias, y, ldy);
            return;
        case MatmulLayout::F32:
            if (wt == DType::F32)
                RowsF32(x, static_cast<const float*>(w), o0, o1, bias, y, ldy);
            else
                RowsF32(x, static_cast<const uint16_t*>(w), o0, o1, bias, y, ldy);
            return;
        case MatmulLayout::BF16Tiles:  // never asked for by Shape()
            return;
    }
}

// f32 lanes rounded to BF16 (nearest even; NaNs stay quiet NaNs), as f32_to_bf16 rounds them,
// in the high halves of the lanes; the low halves are zero.
HWY_INLINE hn::Vec<hn::RebindToUnsigned<DF>> RoundToBF16(VF v) {
    const hn::RebindToUnsigned<DF> du;
    const hn::RebindToSigned<DF> di;
    const auto bits = hn::BitCast(du, v), high = hn::Set(du, 0xFFFF0000u);
    const auto lsb = hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 1));
    const auto rounded = hn::And(hn::Add(bits, hn::Add(hn::Set(du, 0x7FFF), lsb)), high);
    const auto quiet = hn::And(hn::Or(bits, hn::Set(du, 0x00400000u)), high);
    // |v| above infinity's bits, compared as signed: both sides are non-negative.
    const auto nan = hn::Gt(hn::BitCast(di, hn::And(bits, hn::Set(du, 0x7FFFFFFFu))), hn::Set(di, 0x7F800000));
    return hn::IfThenElse(hn::RebindMask(du, nan), quiet, rounded);
}

// MatmulPath::convert: the same values as convert_rows_reference, a vector at a time.
void Convert(MatmulInput& dst, const float* x, int64_t ldx, int64_t r0, int64_t r1) {
    const DF df;
    const int64_t L = static_cast<int64_t>(hn::Lanes(df)), in = dst.in(), stride = dst.stride();
    const int64_t whole = in / L * L;
    for (int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * ldx;
        switch (dst.layout()) {
            case MatmulLayout::F32:  // a copy
                convert_rows_reference(dst, x, ldx, r, r + 1);
                break;
            case MatmulLayout::BF16InF32: {
                float* d = dst.mutable_f32_row(r);
                for (int64_t k = 0; k < whole; k += L) hn::StoreU(hn::BitCast(df, RoundToBF16(hn::LoadU(df, xr + k))), df, d + k);
                for (int64_t k = whole; k < in; ++k) d[k] = bf16_to_f32(f32_to_bf16(xr[k]));
                std::fill(d + in, d + stride, 0.f);
                break;
            }
            case MatmulLayout::BF16: {
                uint16_t* d = dst.mutable_bf16_row(r);
                const hn::RebindToSigned<DF> di;
                const hn::Rebind<uint16_t, DF> d16;
                for (int64_t k = 0; k < whole; k += L) {
                    const auto halves = hn::BitCast(di, hn::ShiftRight<16>(RoundToBF16(hn::LoadU(df, xr + k))));
                    hn::StoreU(hn::DemoteTo(d16, halves), d16, d + k);  // below 2^16: nothing saturates
                }
                for (int64_t k = whole; k < in; ++k) d[k] = f32_to_bf16(xr[k]);
                std::fill(d + in, d + stride, uint16_t{0});
                break;
            }
            case MatmulLayout::BF16Tiles:  // never asked for by Shape()
                return;
        }
    }
}

// Register-resident f32 multiply-add loop: what the prefill kernels of this path run on.
double PeakLoop(int64_t iterations) {
    const DF df;
    // Each accumulator is its own dependency chain (c = c * a + b), so the loop cannot be folded.
    // 16 chains cover the multiply-add latency on every target, 12 where x86 has only 16 vector
    // registers (SSE, AVX2): there 16 chains and the two constants spilled, and the chains in
    // memory waited on store forwarding. Chain i starts at i / 16: started equal, GCC merged them
    // and the AVX2 loop measured one latency-bound chain counted 16 times (twice Zen 3's peak).
    constexpr int kChains = kSixteenVectorRegisters ? 12 : 16;
    const auto start = [&](int i) { return hn::Set(df, static_cast<float>(i) / 16); };
    VF c0 = start(0), c1 = start(1), c2 = start(2), c3 = start(3), c4 = start(4), c5 = start(5), c6 = start(6),
       c7 = start(7), c8 = start(8), c9 = start(9), c10 = start(10), c11 = start(11), c12 = start(12),
       c13 = start(13), c14 = start(14), c15 = start(15);
    const VF a = hn::Set(df, 0.999f), b = hn::Set(df, 1e-3f);
    const auto step = [&](int, auto&... c) ASCENT_BANK_LAMBDA { ((c = hn::MulAdd(c, a, b)), ...); };
    VF s = hn::Zero(df);
    const auto add = [&](int, auto&... c) ASCENT_BANK_LAMBDA { ((s = hn::Add(s, c)), ...); };
    if constexpr (kChains == 16) {
        for (int64_t it = 0; it < iterations; ++it)
            Each<kBankSize>(step, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15);
        Each<kBankSize>(add, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15);
    } else {
        for (int64_t it = 0; it < iterations; ++it)
            Each<kBankSize>(step, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11);
        Each<kBankSize>(add, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11);
    }
    peak_loop_sum = Sum(df, s);
    return static_cast<double>(iterations) * kChains * static_cast<double>(hn::Lanes(df)) * 2;
}

float ReadSum(const void* p, size_t bytes) {
    const DF df;
    const size_t L = hn::Lanes(df);
    const auto* f = static_cast<const float*>(p);
    VF s0 = hn::Zero(df), s1 = s0, s2 = s0, s3 = s0;
    const size_t n = bytes / sizeof(float);
    size_t i = 0;
    for (; i + 4 * L <= n; i += 4 * L) {
        s0 = hn::Add(s0, hn::Load(df, f + i));
        s1 = hn::Add(s1, hn::Load(df, f + i + L));
        s2 = hn::Add(s2, hn::Load(df, f + i + 2 * L));
        s3 = hn::Add(s3, hn::Load(df, f + i + 3 * L));
    }
    float s = Sum(df, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3)));
    for (; i < n; ++i) s += f[i];
    return s;
}

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace ascent::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ascent::cpu {

HWY_EXPORT(Shape);
HWY_EXPORT(Convert);
HWY_EXPORT(Rows);
HWY_EXPORT(PeakLoop);
HWY_EXPORT(ReadSum);
HWY_EXPORT(TargetName);

namespace {

// Resolves the functions for the currently chosen target once, so each call is one indirect call
// with no dispatch check.
MatmulPath resolve_hwy_path() {
    const std::string target = HWY_DYNAMIC_DISPATCH(TargetName)();
    return MatmulPath{"hwy:" + target,
                      4,
                      &HWY_DYNAMIC_DISPATCH(Shape),
                      &HWY_DYNAMIC_DISPATCH(Convert),
                      nullptr,
                      &HWY_DYNAMIC_DISPATCH(Rows),
                      &HWY_DYNAMIC_DISPATCH(PeakLoop),
                      "f32 FMA (hwy:" + target + ")",
                      &HWY_DYNAMIC_DISPATCH(ReadSum)};
}

}  // namespace

const MatmulPath& hwy_matmul_path() {
    static const MatmulPath path = [] {
        hwy::GetChosenTarget().Update(hwy::SupportedTargets());
        return resolve_hwy_path();
    }();
    return path;
}

std::vector<MatmulPath> hwy_matmul_paths_for_each_target() {
    std::vector<MatmulPath> paths;
    for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
        hwy::SetSupportedTargetsForTest(target);
        hwy::GetChosenTarget().Update(hwy::SupportedTargets());
        paths.push_back(resolve_hwy_path());
    }
    hwy::SetSupportedTargetsForTest(0);
    hwy::GetChosenTarget().Update(hwy::SupportedTargets());
    return paths;
}

}  // namespace ascent::cpu
#endif  // HWY_ONCE
