// Attention inner loops, compiled once per instruction set by Highway and dispatched at run time.
// Scores run with the block's queries across vector lanes: one broadcast key element feeds a
// multiply-add for many queries, and the softmax of a tile needs no horizontal reduction. The
// weighted sum of values runs with the head's dimensions across lanes. A block of few queries (a
// decode step) would leave most lanes idle that way: it runs its scores and its softmax with
// positions across lanes instead, reading the cache's key columns as they are. So does every
// block of a pair set with its own softmax (attention_pairs.h: the AMX tiles'). A BF16 cache on a
// CPU with pair products (attention_pairs.h) is read as it lies. Without them, a block of few
// queries splits each word of a BF16 cache into its two f32 halves in registers, as it reads it;
// other blocks convert keys and values to f32 once per tile, as every query group reads them
// again.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/cpu/attention_hwy.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
#include "engine/cpu/banks_hwy-inl.h"
#include "engine/cpu/exp_hwy-inl.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>
#include "engine/cpu/attention_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace ascent::cpu {
namespace HWY_NAMESPACE {
namespace {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// The max of a query that has seen no position yet; also marks an empty partial.
constexpr float kEmpty = -std::numeric_limits<float>::infinity();

// e^x for a softmax's x = score - max <= 0 (exp_hwy-inl.h), 2^n added into the exponent. x is
// clamped at -86 so that 2^n stays normal: e^-86 (4e-38) instead of smaller weights, nothing next
// to the max's weight of 1. Used by every layout, so a position's weight keeps the same bits in a
// prefill and in a decode step.
HWY_INLINE VF SoftmaxExp(DF d, VF x) {
    const hn::RebindToSigned<DF> di;
    VF n, p;
    ExpParts(d, hn::Max(x, hn::Set(d, -86.f)), n, p);
    return hn::BitCast(d, hn::Add(hn::BitCast(di, p), hn::ShiftLeft<23>(hn::ConvertTo(di, n))));
}

// x rounded to the nearest BF16 value (even on ties), kept as f32. Only for finite x: here
// softmax weights in [0, 1].
HWY_INLINE VF RoundToBf16(DF d, VF x) {
    const hn::RebindToUnsigned<DF> du;
    const auto bits = hn::BitCast(du, x);
    const auto lsb = hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 1u));
    const auto rounded = hn::Add(bits, hn::Add(hn::Set(du, 0x7fffu), lsb));
    return hn::BitCast(d, hn::And(rounded, hn::Set(du, 0xffff0000u)));
}

// A tile's keys or values as f32 rows.
struct Rows {
    const float* data;
    size_t stride;
    const float* operator[](size_t t) const { return data + t * stride; }
    Rows from(size_t i) const { return Rows{data + i, stride}; }
};

template <typename Load, typename Widen>
HWY_INLINE void WidenHalfRows(DF d, const uint16_t* rows, size_t stride, size_t n, size_t len, size_t width,
                              float* out, Load load, Widen widen) {
    const size_t N = hn::Lanes(d);
    for (size_t t = 0; t < n; ++t) {
        const uint16_t* r = rows + t * stride;
        float* o = out + t * width;
        const size_t whole = len / N * N;
        for (size_t i = 0; i < whole; i += N) hn::StoreU(load(d, r + i), d, o + i);
        for (size_t i = whole; i < len; ++i) o[i] = widen(r[i]);
        std::fill(o + len, o + width, 0.f);
    }
}

// n runs of `len` cached values, `stride` elements apart from element `at` of `cache`, as f32
// rows of `width` >= len floats, zero beyond len.
void WidenRows(DF d, DType t, const void* cache, size_t at, size_t stride, size_t n, size_t len, size_t width,
               float* out) {
    const auto* half = static_cast<const uint16_t*>(cache) + at;
    switch (t) {
        case DType::F32:
            for (size_t r = 0; r < n; ++r) {
                std::memcpy(out + r * width, static_cast<const float*>(cache) + at + r * stride, len * sizeof(float));
                std::fill(out + r * width + len, out + (r + 1) * width, 0.f);
            }
            return;
        case DType::BF16:
            WidenHalfRows(d, half, stride, n, len, width, out,
                          [](DF df, const uint16_t* p) {
                              const hn::Rebind<uint16_t, DF> du16;
                              const hn::Rebind<uint32_t, DF> du32;
                              return hn::BitCast(df, hn::ShiftLeft<16>(hn::PromoteTo(du32, hn::LoadU(du16, p))));
                          },
                          [](uint16_t x) { return bf16_to_f32(x); });
            return;
        case DType::F16:
            WidenHalfRows(d, half, stride, n, len, width, out,
                          [](DF df, const uint16_t* p) {
                              const hn::Rebind<hwy::float16_t, DF> df16;
                              return hn::PromoteTo(df, hn::LoadU(df16, reinterpret_cast<const hwy::float16_t*>(p)));
                          },
                          [](uint16_t x) { return f16_to_f32(x); });
            return;
    }
}

// n words of a BF16 cache's pair layout as two f32 rows: the low halves and the high halves.
void SplitPairs(DF d, const uint32_t* w, size_t n, float* lo, float* hi) {
    const hn::RebindToUnsigned<DF> du;
    const size_t N = hn::Lanes(d);
    size_t i = 0;
    for (; i + N <= n; i += N) {
        const auto v = hn::LoadU(du, w + i);
        hn::StoreU(hn::BitCast(d, hn::ShiftLeft<16>(v)), d, lo + i);
        hn::StoreU(hn::BitCast(d, hn::And(v, hn::Set(du, 0xFFFF0000u))), d, hi + i);
    }
    for (; i < n; ++i) {
        lo[i] = bf16_to_f32(static_cast<uint16_t>(w[i]));
        hi[i] = bf16_to_f32(static_cast<uint16_t>(w[i] >> 16));
    }
}

const uint32_t* PairWords(const void* cache, size_t at) { return static_cast<const uint32_t*>(cache) + at / 2; }

// `pairs` rows of `len` words from element `at` of a BF16 cache's pair layout as 2 * pairs f32
// rows of `width` >= len floats (each word's low half, then its high half), zero beyond len.
void WidenPairRows(DF d, const void* cache, size_t at, size_t pairs, size_t len, size_t width, float* out) {
    const uint32_t* w = PairWords(cache, at);
    for (size_t r = 0; r < pairs; ++r) {
        float* lo = out + 2 * r * width;
        SplitPairs(d, w + r * len, len, lo, lo + width);
        std::fill(lo + len, lo + width, 0.f);
        std::fill(lo + width + len, lo + 2 * width, 0.f);
    }
}

// Values of cached positions [t0, t0 + n) of the block's kv head as f32 rows of `width` >=
// head_dim floats: the cache itself when it already is, else a copy in `buf` (kAttentionTile
// rows), zero beyond head_dim.
Rows ValueRows(DF d, const AttentionBlock& b, size_t t0, size_t n, size_t width, float* buf) {
    const size_t hd = b.head_dim;
    if (b.dtype == DType::F32 && width == hd) return Rows{static_cast<const float*>(b.v) + t0 * hd, hd};
    if (b.dtype != DType::BF16) {
        WidenRows(d, b.dtype, b.v, t0 * hd, hd, n, hd, width, buf);
        return Rows{buf, width};
    }
    // Pairs of positions; an odd n also widens position n, into a row of buf no one reads.
    WidenPairRows(d, b.v, value_index(b.dtype, hd, t0, 0), (n + 1) / 2, hd, width, buf);
    return Rows{buf, width};
}

// Calls fn(i, kV) over [0, width) floats, width a whole number of vectors: two vectors at a
// time (kV = 2), the rest as one (kV = 1).
template <typename Fn>
HWY_INLINE void ForVectorPairs(DF d, size_t width, Fn fn) {
    const size_t N = hn::Lanes(d);
    size_t i = 0;
    for (; i + 2 * N <= width; i += 2 * N) fn(i, std::integral_constant<int, 2>());
    if (i < width) fn(i, std::integral_constant<int, 1>());
}

// Calls fn(q, kB) over the queries in banks of kB = 4, the rest in one bank, for independent
// chains.
template <typename Fn>
HWY_INLINE void ForQueryBanks(size_t queries, Fn fn) {
    size_t q = 0;
    for (; q + 4 <= queries; q += 4) fn(q, std::integral_constant<int, 4>());
    switch (queries - q) {
        case 3: fn(q, std::integral_constant<int, 3>()); break;
        case 2: fn(q, std::integral_constant<int, 2>()); break;
        case 1: fn(q, std::integral_constant<int, 1>()); break;
        default: break;
    }
}

// The register tile both products of attention are made of: kB banks of kV vectors of sums.
// body(fma) runs the steps; fma(scalar, v0, v1) adds scalar(b) * v0 (and * v1) into bank b's
// sums, for every b. Each sum is then one chain of multiply-adds in step order, whatever the
// tile shape, so blocking changes no bits. Bank b's sums go to out + b * out_stride.
template <int kB, int kV, typename Body>
HWY_INLINE void RegisterTile(DF d, Body body, float* out, size_t out_stride) {
    static_assert(kB >= 1 && kB <= 4 && (kV == 1 || kV == 2));
    const size_t N = hn::Lanes(d);
    VF a00 = hn::Zero(d), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    const auto fma = [&](auto scalar, const VF& v0, const VF& v1) ASCENT_BANK_LAMBDA {
        Each<kB>(
            [&](int r, VF& c0, VF& c1) ASCENT_BANK_LAMBDA {
                const VF s = hn::Set(d, scalar(r));
                c0 = hn::MulAdd(s, v0, c0);
                if constexpr (kV > 1) c1 = hn::MulAdd(s, v1, c1);
            },
            a00, a10, a20, a30, a01, a11, a21, a31);
    };
    body(fma);
    Each<kB>(
        [&](int r, VF& c0, VF& c1) ASCENT_BANK_LAMBDA {
            float* o = out + static_cast<size_t>(r) * out_stride;
            hn::StoreU(c0, d, o);
            if constexpr (kV > 1) hn::StoreU(c1, d, o + N);
        },
        a00, a10, a20, a30, a01, a11, a21, a31);
}

// For kB broadcast scalars and kV vectors, acc[b][j] = sum over steps of scalar(step, b) *
// vector(step)[j].
template <int kB, int kV, typename Scalar, typename Vector>
HWY_INLINE void OuterTile(DF d, size_t steps, Scalar scalar, Vector vector, float* out, size_t out_stride) {
    const size_t N = hn::Lanes(d);
    RegisterTile<kB, kV>(
        d,
        [&](auto& fma) ASCENT_BANK_LAMBDA {
            for (size_t i = 0; i < steps; ++i) {
                const float* vi = vector(i);
                const VF v0 = hn::LoadU(d, vi);
                const VF v1 = kV > 1 ? hn::LoadU(d, vi + N) : v0;
                fma([&](int r) { return scalar(i, r); }, v0, v1);
            }
        },
        out, out_stride);
}

// OuterTile on a BF16 cache's pair words, split in registers rather than widened into a copy:
// step p reads words(p), kV vectors of words that each hold two BF16 numbers, and multiplies the
// low halves by scalar(p, b, 0) and the high halves by scalar(p, b, 1), in that order. That is
// the chain OuterTile runs over the widened rows (low half first), so the bits are the same.
// `lone_low` adds one step more, whose high halves are not read: a tile's odd last position.
template <int kB, int kV, typename Scalar, typename Words>
HWY_INLINE void PairOuterTile(DF d, size_t pairs, bool lone_low, Scalar scalar, Words words, float* out,
                              size_t out_stride) {
    const hn::RebindToUnsigned<DF> du;
    const size_t N = hn::Lanes(d);
    const auto high_half = hn::Set(du, 0xFFFF0000u);
    RegisterTile<kB, kV>(
        d,
        [&](auto& fma) ASCENT_BANK_LAMBDA {
            for (size_t p = 0; p < pairs + (lone_low ? 1 : 0); ++p) {
                const uint32_t* w = words(p);
                const auto w0 = hn::LoadU(du, w);
                const auto w1 = kV > 1 ? hn::LoadU(du, w + N) : w0;
                fma([&](int r) { return scalar(p, r, 0); }, hn::BitCast(d, hn::ShiftLeft<16>(w0)),
                    hn::BitCast(d, hn::ShiftLeft<16>(w1)));
                if (p == pairs) break;  // the lone low half
                fma([&](int r) { return scalar(p, r, 1); }, hn::BitCast(d, hn::And(w0, high_half)),
                    hn::BitCast(d, hn::And(w1, high_half)));
            }
        },
        out, out_stride);
}

// Asks for the cached keys and values of a tile while the one before it is computed: a decode
// step reads each layer's cache once, after the weight stream has evicted it, and one tile's
// loads alone do not keep enough requests in flight to hide the memory's latency. Into L2 only:
// into L1 as well, the 16 KiB of a 64-dim BF16 tile pushed out the tile being computed, and a
// decode step's attention at 2048 positions took 15-20% longer.
void PrefetchTile(const AttentionBlock& b, size_t tile, size_t end) {
    constexpr size_t kLine = 64;
    const size_t elem = dtype_size(b.dtype), hd = b.head_dim, t0 = tile * kAttentionTile;
    const size_t n = std::min(kAttentionTile, end - t0);
    const auto ahead = [](const void* base, size_t at, size_t bytes) {
        const auto* p = static_cast<const char*>(base) + at;
        for (size_t i = 0; i < bytes; i += kLine) __builtin_prefetch(p + i, 0, 2);
    };
    // Both layouts keep a tile's keys, and its positions' values, together.
    ahead(b.k, key_index(b.dtype, hd, t0, 0) * elem, hd * kAttentionTile * elem);
    ahead(b.v, value_index(b.dtype, hd, t0, 0) * elem, (n + n % 2) * hd * elem);
}

// A tile's key columns as f32: kt[i * stride + t] is dimension i of the tile's position t, for t
// below the tile's positions rounded up to whole vectors. F32 caches are read where they are.
struct KeyColumns {
    const float* kt;
    size_t stride;
};

KeyColumns KeyTile(DF d, const AttentionBlock& b, size_t tile, size_t tile_lanes, float* buf) {
    const size_t N = hn::Lanes(d), hd = b.head_dim, at = key_index(b.dtype, hd, tile * kAttentionTile, 0);
    if (b.dtype == DType::F32 && kAttentionTile % N == 0)
        return {static_cast<const float*>(b.k) + at, kAttentionTile};
    if (b.dtype != DType::BF16) {
        WidenRows(d, b.dtype, b.k, at, kAttentionTile, hd, kAttentionTile, tile_lanes, buf);
        return {buf, tile_lanes};
    }
    WidenPairRows(d, b.k, at, hd / 2, kAttentionTile, tile_lanes, buf);
    return {buf, tile_lanes};
}

// A tile's keys as the pair products read them, kp[p * kAttentionTile + t], where the cache holds
// them. Positions at n or later are stale (a fresh cache's zeros, or what a longer sequence left
// before a rewind): their scores are computed and then masked out of the softmax, which selects
// rather than multiplies, so even a NaN there changes nothing.
const uint32_t* KeyPairs(const AttentionBlock& b, size_t tile) {
    return PairWords(b.k, key_index(b.dtype, b.head_dim, tile * kAttentionTile, 0));
}

// Values of positions [t0, t0 + n) as the pair products read them, vp[s * dim + d] for the (n + 1)
// / 2 pairs, zero for a position at n and for d >= head_dim: the cache itself for a whole tile
// of heads a whole number of vectors wide, else a copy. Unlike a stale key, a stale value would
// be multiplied by its zero weight, and a NaN there would spread.
const uint32_t* ValuePairs(const AttentionBlock& b, size_t t0, size_t n, size_t dim, uint32_t* buf) {
    const size_t hd = b.head_dim;
    const uint32_t* w = PairWords(b.v, value_index(b.dtype, hd, t0, 0));
    if (n == kAttentionTile && dim == hd) return w;
    for (size_t s = 0; 2 * s < n; ++s) {
        uint32_t* row = buf + s * dim;
        // A position's value is its pair's half: low for 2s, high for 2s + 1.
        const uint32_t keep = 2 * s + 1 < n ? 0xFFFFFFFFu : 0xFFFFu;
        for (size_t i = 0; i < hd; ++i) row[i] = w[s * hd + i] & keep;
        std::fill(row + hd, row + dim, 0u);
    }
    return buf;
}

// Scores of kT positions from t for kJ vectors of queries: s[t][j] = sum_i qt[i][j] * k[i][t].
template <int kT, int kJ>
HWY_INLINE void ScoreBlock(DF d, const float* qt, size_t query_lanes, KeyColumns k, size_t t, size_t head_dim,
                           float* s) {
    OuterTile<kT, kJ>(
        d, head_dim, [&](size_t i, int r) { return k.kt[i * k.stride + t + static_cast<size_t>(r)]; },
        [&](size_t i) { return qt + i * query_lanes; }, s, query_lanes);
}

template <int kJ>
HWY_INLINE void ScoreColumns(DF d, const float* qt, size_t query_lanes, KeyColumns k, size_t n, size_t head_dim,
                             float* s) {
    size_t t = 0;
    for (; t + 4 <= n; t += 4) ScoreBlock<4, kJ>(d, qt, query_lanes, k, t, head_dim, s + t * query_lanes);
    for (; t < n; ++t) ScoreBlock<1, kJ>(d, qt, query_lanes, k, t, head_dim, s + t * query_lanes);
}

void Scores(DF d, const float* qt, size_t query_lanes, KeyColumns k, size_t n, size_t head_dim, float* s) {
    ForVectorPairs(d, query_lanes, [&](size_t j, auto kJ) {
        ScoreColumns<decltype(kJ)::value>(d, qt + j, query_lanes, k, n, head_dim, s + j);
    });
}

// Exponentials() for kV query vectors from lane j at once. Each lane's max and sum are still one
// chain over the positions in order (the same bits as one vector at a time); several chains side
// by side keep the max pass from waiting on each vmaxps in turn.
template <int kV>
HWY_INLINE void ExponentialVectors(DF d, float* s, size_t query_lanes, size_t t0, size_t n, const float* last,
                                   float* max, float* sum, bool bf16, size_t j) {
    const size_t N = hn::Lanes(d);
    const VF empty = hn::Set(d, kEmpty);
    // Vector v's last positions, running max and sum (banks_hwy-inl.h).
    VF last0 = hn::Zero(d), last1 = last0, last2 = last0, last3 = last0;
    VF m0 = empty, m1 = empty, m2 = empty, m3 = empty, l0 = last0, l1 = last0, l2 = last0, l3 = last0;
#define ASCENT_EXP_BANKS last0, last1, last2, last3, m0, m1, m2, m3, l0, l1, l2, l3
    // Most tiles of a long prefill lie wholly before every query of the vectors: no masks.
    bool all_seen = true;
    Each<kV>(
        [&](int v, VF& lastv, VF&, VF&) ASCENT_BANK_LAMBDA {
            lastv = hn::LoadU(d, last + j + v * N);
            all_seen = all_seen && hn::AllTrue(d, hn::Le(hn::Set(d, static_cast<float>(t0 + n - 1)), lastv));
        },
        ASCENT_EXP_BANKS);
    const auto seen = [&](size_t t, const VF& lastv) ASCENT_BANK_LAMBDA {
        return hn::Le(hn::Set(d, static_cast<float>(t0 + t)), lastv);
    };
    if (all_seen) {
        for (size_t t = 0; t < n; ++t)
            Each<kV>(
                [&](int v, VF&, VF& m, VF&) ASCENT_BANK_LAMBDA {
                    m = hn::Max(m, hn::LoadU(d, s + t * query_lanes + j + v * N));
                },
                ASCENT_EXP_BANKS);
    } else {
        for (size_t t = 0; t < n; ++t)
            Each<kV>(
                [&](int v, VF& lastv, VF& m, VF&) ASCENT_BANK_LAMBDA {
                    const VF score = hn::LoadU(d, s + t * query_lanes + j + v * N);
                    m = hn::Max(m, hn::IfThenElse(seen(t, lastv), score, empty));
                },
                ASCENT_EXP_BANKS);
    }
    for (size_t t = 0; t < n; ++t)
        Each<kV>(
            [&](int v, VF& lastv, VF& m, VF& l) ASCENT_BANK_LAMBDA {
                float* st = s + t * query_lanes + j + v * N;
                VF p = SoftmaxExp(d, hn::Sub(hn::LoadU(d, st), m));
                if (!all_seen) p = hn::IfThenElseZero(seen(t, lastv), p);
                if (bf16) p = RoundToBf16(d, p);
                hn::StoreU(p, d, st);
                l = hn::Add(l, p);
            },
            ASCENT_EXP_BANKS);
    Each<kV>(
        [&](int v, VF&, VF& m, VF& l) ASCENT_BANK_LAMBDA {
            hn::StoreU(m, d, max + j + v * N);
            hn::StoreU(l, d, sum + j + v * N);
        },
        ASCENT_EXP_BANKS);
#undef ASCENT_EXP_BANKS
}

// Per query, the tile's max score and sum of exponentials; scores become exp(score - max), and 0
// at positions after the query's last.
void Exponentials(DF d, float* s, size_t query_lanes, size_t t0, size_t n, const float* last, float* max,
                  float* sum, bool bf16) {
    const size_t N = hn::Lanes(d);
    size_t j = 0;
    for (; j + 4 * N <= query_lanes; j += 4 * N)
        ExponentialVectors<4>(d, s, query_lanes, t0, n, last, max, sum, bf16, j);
    for (; j < query_lanes; j += N) ExponentialVectors<1>(d, s, query_lanes, t0, n, last, max, sum, bf16, j);
}

// Scores of a block of few queries with positions across lanes: s[q][t] = sum_i q[q][i] k[i][t],
// rows `tile_lanes` apart. `queries` is a multiple of 4 (the block's, padded with zero queries),
// so every register tile has eight independent chains. Each score is the same chain over the
// head's dimensions as in Scores.
void KeyLaneScores(DF d, const float* q, size_t queries, size_t dim, KeyColumns k, size_t head_dim,
                   size_t tile_lanes, size_t n, float* s) {
    const size_t N = hn::Lanes(d);
    for (size_t j = 0; j < queries; j += 4) {
        const float* qj = q + j * dim;
        const auto scalar = [&](size_t i, int r) { return qj[static_cast<size_t>(r) * dim + i]; };
        ForVectorPairs(d, (n + N - 1) / N * N, [&](size_t t, auto kV) {
            OuterTile<4, decltype(kV)::value>(
                d, head_dim, scalar, [&](size_t i) { return k.kt + i * k.stride + t; }, s + j * tile_lanes + t,
                tile_lanes);
        });
    }
}

// KeyLaneScores on a tile of a BF16 cache's key pairs as they lie (KeyPairs); the same bits.
void PairKeyLaneScores(DF d, const float* q, size_t queries, size_t dim, const uint32_t* kp, size_t head_dim,
                       size_t tile_lanes, size_t n, float* s) {
    const size_t N = hn::Lanes(d);
    for (size_t j = 0; j < queries; j += 4) {
        const float* qj = q + j * dim;
        const auto scalar = [&](size_t p, int r, int half) { return qj[static_cast<size_t>(r) * dim + 2 * p + half]; };
        ForVectorPairs(d, (n + N - 1) / N * N, [&](size_t t, auto kV) {
            PairOuterTile<4, decltype(kV)::value>(
                d, head_dim / 2, false, scalar, [&](size_t p) { return kp + p * kAttentionTile + t; },
                s + j * tile_lanes + t, tile_lanes);
        });
    }
}

// Exponentials of a block of few queries, as Exponentials but with positions across lanes.
void FewExponentials(DF d, float* s, const AttentionLayout& l, size_t t0, size_t n, const int32_t* last,
                     float* part, bool bf16) {
    const size_t N = hn::Lanes(d);
    float *max = part, *sum = part + l.query_lanes;
    const VF empty = hn::Set(d, kEmpty);
    const VF iota = hn::Iota(d, 0.f);
    for (size_t j = 0; j < l.queries; ++j) {
        float* sj = s + j * l.tile_lanes;
        // The query sees positions [0, seen) of the tile.
        const VF seen = hn::Set(d, static_cast<float>(std::clamp<int64_t>(
                                       int64_t{last[j]} + 1 - static_cast<int64_t>(t0), 0, static_cast<int64_t>(n))));
        VF m = empty;
        for (size_t t = 0; t < n; t += N) {
            const auto in = hn::Lt(hn::Add(iota, hn::Set(d, static_cast<float>(t))), seen);
            m = hn::Max(m, hn::IfThenElse(in, hn::LoadU(d, sj + t), empty));
        }
        m = hn::MaxOfLanes(d, m);
        for (size_t t = 0; t < n; t += N) {
            const auto in = hn::Lt(hn::Add(iota, hn::Set(d, static_cast<float>(t))), seen);
            const VF p = hn::IfThenElseZero(in, SoftmaxExp(d, hn::Sub(hn::LoadU(d, sj + t), m)));
            hn::StoreU(bf16 ? RoundToBf16(d, p) : p, d, sj + t);
        }
        max[j] = hn::GetLane(m);
    }
    std::fill(max + l.queries, max + l.query_lanes, kEmpty);
    // Each sum adds the tile's exponentials one position after the other, as Exponentials does
    // with queries across lanes; four queries at a time in registers (the scores have rows for
    // padded_queries()).
    std::fill(sum, sum + l.query_lanes, 0.f);
    for (size_t j = 0; j < l.queries; j += 4) {
        const float *s0 = s + j * l.tile_lanes, *s1 = s0 + l.tile_lanes, *s2 = s1 + l.tile_lanes,
                    *s3 = s2 + l.tile_lanes;
        float a0 = 0.f, a1 = 0.f, a2 = 0.f, a3 = 0.f;
        for (size_t t = 0; t < n; ++t) {
            a0 += s0[t];
            a1 += s1[t];
            a2 += s2[t];
            a3 += s3[t];
        }
        const float a[4] = {a0, a1, a2, a3};
        std::copy(a, a + std::min<size_t>(4, l.queries - j), sum + j);
    }
}

// Where the exponentials of a tile are: p(t, q) = p[t * t_step + q * q_step].
struct Weights {
    const float* p;
    size_t t_step, q_step;
};

// out[q][:] = sum_t p(t, q) * v[t][:] for kQ queries and kD vectors of dimensions.
template <int kQ, int kD>
HWY_INLINE void ValueBlock(DF d, Weights w, Rows v, size_t n, float* out, size_t dim) {
    OuterTile<kQ, kD>(
        d, n, [&](size_t t, int q) { return w.p[t * w.t_step + static_cast<size_t>(q) * w.q_step]; },
        [&](size_t t) { return v[t]; }, out, dim);
}

void Values(DF d, Weights w, Rows v, size_t n, size_t queries, float* out, size_t dim) {
    ForVectorPairs(d, dim, [&](size_t i, auto kD) {
        ForQueryBanks(queries, [&](size_t q, auto kB) {
            ValueBlock<decltype(kB)::value, decltype(kD)::value>(d, Weights{w.p + q * w.q_step, w.t_step, w.q_step},
                                                                  v.from(i), n, out + q * dim + i, dim);
        });
    });
}

// Values() on a tile of a BF16 cache's value pairs as they lie (value_index: word s * head_dim
// + i holds dimension i of positions 2s and 2s + 1), for heads a whole number of vectors wide;
// the same bits. An odd n leaves the last word's high half, a position the tile does not have,
// unread.
void PairValues(DF d, Weights w, const uint32_t* vp, size_t head_dim, size_t n, size_t queries, float* out,
                size_t dim) {
    ForVectorPairs(d, dim, [&](size_t i, auto kD) {
        ForQueryBanks(queries, [&](size_t q, auto kB) {
            const float* wq = w.p + q * w.q_step;
            PairOuterTile<decltype(kB)::value, decltype(kD)::value>(
                d, n / 2, n % 2 != 0,
                [&](size_t p, int r, int half) {
                    return wq[(2 * p + static_cast<size_t>(half)) * w.t_step + static_cast<size_t>(r) * w.q_step];
                },
                [&](size_t p) { return vp + i + p * head_dim; }, out + q * dim + i, dim);
        });
    });
}

void ResetState(const AttentionLayout& l, float* state) {
    std::fill(state, state + l.query_lanes, kEmpty);
    std::fill(state + l.query_lanes, state + 2 * l.query_lanes, 0.f);
}

// Folding a partial into the running state (Merge) in its three steps, so that a pair set can do
// the outputs' step itself (AttentionPairOps::values_merge_position_lanes). Both are
// max[query_lanes], sum[query_lanes], out[queries][dim]; an empty partial leaves a query as it
// is, an empty state takes the partial. First the factors of the state and of the partial.
void MergeFactors(DF d, const AttentionLayout& l, const float* part, const float* state, float* factors) {
    const size_t N = hn::Lanes(d), ql = l.query_lanes;
    for (size_t j = 0; j < ql; j += N) {
        const VF m = hn::LoadU(d, state + j), mp = hn::LoadU(d, part + j);
        const VF mx = hn::Max(m, mp);
        hn::StoreU(hn::Exp(d, hn::Sub(m, mx)), d, factors + j);
        hn::StoreU(hn::Exp(d, hn::Sub(mp, mx)), d, factors + ql + j);
    }
}

// The outputs: out = out_partial * factor_partial + out * factor_state.
void MergeOutputs(DF d, const AttentionLayout& l, const float* part_out, const float* part_max, float* state,
                  const float* factors) {
    const size_t N = hn::Lanes(d), ql = l.query_lanes;
    const float *fa = factors, *fb = factors + ql;
    for (size_t q = 0; q < l.queries; ++q) {
        if (part_max[q] == kEmpty) continue;
        float* o = state + 2 * ql + q * l.dim;
        const float* op = part_out + q * l.dim;
        if (state[q] == kEmpty) {
            std::memcpy(o, op, l.dim * sizeof(float));
            continue;
        }
        const VF a = hn::Set(d, fa[q]), b = hn::Set(d, fb[q]);
        for (size_t i = 0; i < l.dim; i += N)
            hn::StoreU(hn::MulAdd(hn::LoadU(d, op + i), b, hn::Mul(hn::LoadU(d, o + i), a)), d, o + i);
    }
}

// Last the maxima and the sums, which the two steps above read as they were.
void MergeMaxSum(DF d, const AttentionLayout& l, const float* part, float* state, const float* factors) {
    const size_t N = hn::Lanes(d), ql = l.query_lanes;
    const float *pm = part, *pl = part + ql;
    float *sm = state, *sl = state + ql;
    const VF empty = hn::Set(d, kEmpty);
    for (size_t j = 0; j < ql; j += N) {
        const VF m = hn::LoadU(d, sm + j), mp = hn::LoadU(d, pm + j);
        const VF s = hn::LoadU(d, sl + j), sp = hn::LoadU(d, pl + j);
        const auto no_part = hn::Eq(mp, empty), no_state = hn::Eq(m, empty);
        const VF merged = hn::MulAdd(sp, hn::LoadU(d, factors + ql + j), hn::Mul(s, hn::LoadU(d, factors + j)));
        hn::StoreU(hn::IfThenElse(no_part, m, hn::IfThenElse(no_state, mp, hn::Max(m, mp))), d, sm + j);
        hn::StoreU(hn::IfThenElse(no_part, s, hn::IfThenElse(no_state, sp, merged)), d, sl + j);
    }
}

void Merge(DF d, const AttentionLayout& l, const float* part, float* state, float* factors) {
    MergeFactors(d, l, part, state, factors);
    MergeOutputs(d, l, part + 2 * l.query_lanes, part, state, factors);
    MergeMaxSum(d, l, part, state, factors);
}

void Normalize(DF d, const AttentionLayout& l, const float* state, float* const* out) {
    const size_t N = hn::Lanes(d);
    const float* sum = state + l.query_lanes;
    for (size_t q = 0; q < l.queries; ++q) {
        const float* o = state + 2 * l.query_lanes + q * l.dim;
        float* y = out[q];
        const VF s = hn::Set(d, sum[q]);
        size_t i = 0;
        for (; i + N <= l.head_dim; i += N) hn::StoreU(hn::Div(hn::LoadU(d, o + i), s), d, y + i);
        for (; i < l.head_dim; ++i) y[i] = o[i] / sum[q];
    }
}

// f32_to_bf16 of each lane, in the upper half of its 32 bits: nearest even, and a NaN stays a
// quiet NaN.
HWY_INLINE hn::Vec<hn::RebindToUnsigned<DF>> Bf16Halves(DF d, VF x) {
    const hn::RebindToUnsigned<DF> du;
    const auto quiet = hn::Or(hn::BitCast(du, x), hn::Set(du, 0x00400000u));
    return hn::IfThenElse(hn::RebindMask(du, hn::IsNaN(x)), quiet, hn::BitCast(du, RoundToBf16(d, x)));
}

// A query scaled and rounded to BF16 as pair words (attention_pairs.h): words[p] holds dimensions
// 2p and 2p + 1, zero past head_dim; `halves` is scratch of head_dim words.
void QueryPairWords(DF d, const float* q, size_t head_dim, float scale, uint32_t* halves, uint32_t* words) {
    const hn::RebindToUnsigned<DF> du;
    const size_t N = hn::Lanes(d);
    size_t i = 0;
    for (; i + N <= head_dim; i += N)
        hn::StoreU(Bf16Halves(d, hn::Mul(hn::LoadU(d, q + i), hn::Set(d, scale))), du, halves + i);
    for (; i < head_dim; ++i) halves[i] = uint32_t{f32_to_bf16(q[i] * scale)} << 16;
    for (size_t p = 0; 2 * p < head_dim; ++p)
        words[p] = (halves[2 * p] >> 16) | (2 * p + 1 < head_dim ? halves[2 * p + 1] & 0xffff0000u : 0u);
}

// The scaled queries of a block as BF16 pair words: few queries one row of `pairs` words each,
// padded to whole register tiles with zero rows; else one row per pair with the queries across it.
void PackQueryPairs(DF d, const AttentionBlock& b, const AttentionLayout& l, bool few, float* out) {
    const size_t pairs = (b.head_dim + 1) / 2, rows = few ? l.padded_queries() : l.query_lanes;
    thread_local std::vector<uint32_t> halves, words;
    halves.resize(b.head_dim);
    words.resize(pairs);
    auto* o = reinterpret_cast<uint32_t*>(out);
    for (size_t q = 0; q < rows; ++q) {
        if (q < b.queries)
            QueryPairWords(d, b.q[q], b.head_dim, b.scale, halves.data(), words.data());
        else
            std::fill(words.begin(), words.end(), 0u);
        if (few)
            std::copy(words.begin(), words.end(), o + q * pairs);
        else
            for (size_t p = 0; p < pairs; ++p) o[p * l.query_lanes + q] = words[p];
    }
}

}  // namespace

void AttentionBlockKernel(const AttentionBlock& b) {
    const DF d;
    const AttentionLayout l(hn::Lanes(d), b.queries, b.head_dim);
    const AttentionLayout::Scratch s = l.carve(b.scratch);
    const size_t ql = l.query_lanes;
    const bool bf16 = b.dtype == DType::BF16;
    // On vectors of 16 floats a tile's lanes are its kAttentionTile positions, so the pair
    // products read key rows the cache's width (KeyPairs).
    const AttentionPairOps* pairs = bf16 && hn::Lanes(d) == 16 && l.tile_lanes == kAttentionTile ? b.pairs : nullptr;
    // Few queries would leave most lanes idle with queries across them.
    const bool positions_across = l.few_queries() || (pairs && pairs->softmax_position_lanes);
    // Without pair products, a decode step's BF16 keys and values are split into f32 halves in
    // registers as they are read, where a prefill's many queries share one widened copy: on Zen 3
    // (AVX2), a decode step's attention took 17% less time than widening each tile first.
    const bool split_pairs = bf16 && !pairs && positions_across && l.dim == b.head_dim && l.tile_lanes == kAttentionTile;
    int64_t last_max = -1;
    for (size_t q = 0; q < b.queries; ++q) last_max = std::max<int64_t>(last_max, b.last[q]);
    const auto scaled = [&](size_t q, size_t i) {
        const float x = b.q[q][i] * b.scale;
        return bf16 ? bf16_to_f32(f32_to_bf16(x)) : x;
    };
    if (pairs) {
        PackQueryPairs(d, b, l, positions_across, s.qt);
    } else if (positions_across) {
        std::fill(s.qt, s.qt + l.padded_queries() * l.dim, 0.f);
        for (size_t q = 0; q < b.queries; ++q)
            for (size_t i = 0; i < b.head_dim; ++i) s.qt[q * l.dim + i] = scaled(q, i);
    } else {
        std::fill(s.qt, s.qt + b.head_dim * ql, 0.f);
        for (size_t q = 0; q < b.queries; ++q)
            for (size_t i = 0; i < b.head_dim; ++i) s.qt[i * ql + q] = scaled(q, i);
    }
    if (!positions_across)
        for (size_t q = 0; q < ql; ++q) s.last[q] = q < b.queries ? static_cast<float>(b.last[q]) : -1.f;
    const size_t head_pairs = (b.head_dim + 1) / 2;
    const auto* qp = reinterpret_cast<const uint32_t*>(s.qt);
    auto* value_buf = reinterpret_cast<uint32_t*>(s.values);
    auto* wp = reinterpret_cast<uint32_t*>(s.pairs);
    if (b.out) ResetState(l, s.state);
    // A decode step's cached keys and values were pushed out of the caches by the weights it
    // streamed since this layer last ran; without this the first tile waits on each miss in turn.
    if (b.tile_begin < b.tile_end) PrefetchTile(b, b.tile_begin, static_cast<size_t>(last_max + 1));
    for (size_t tile = b.tile_begin; tile < b.tile_end; ++tile) {
        const size_t t0 = tile * kAttentionTile;
        const size_t n = std::min(kAttentionTile, static_cast<size_t>(last_max + 1) - t0);
        float* part = b.out ? s.tile : b.partials + (tile - b.tile_begin) * l.partial_floats();
        if (tile + 1 < b.tile_end) PrefetchTile(b, tile + 1, static_cast<size_t>(last_max + 1));
        if (pairs) {
            const uint32_t* kp = KeyPairs(b, tile);
            const uint32_t* vp = ValuePairs(b, t0, n, l.dim, value_buf);
            const size_t value_pairs = (n + 1) / 2;
            if (positions_across) {
                pairs->scores_position_lanes(qp, l.padded_queries(), kp, l.tile_lanes, head_pairs, n, s.scores);
                if (pairs->softmax_position_lanes) {
                    pairs->softmax_position_lanes(s.scores, l.tile_lanes, b.queries, t0, n, b.last, part, part + ql, wp);
                    std::fill(part + b.queries, part + ql, kEmpty);
                    std::fill(part + ql + b.queries, part + 2 * ql, 0.f);
                } else {
                    FewExponentials(d, s.scores, l, t0, n, b.last, part, true);
                    pairs->pack_weights_position_lanes(s.scores, l.tile_lanes, b.queries, n, wp);
                }
                if (b.out && pairs->values_merge_position_lanes) {
                    MergeFactors(d, l, part, s.state, s.factors);
                    const ValueMerge merge{s.state + 2 * ql, s.state, part, s.factors, s.factors + ql};
                    pairs->values_merge_position_lanes(wp, l.tile_lanes, vp, value_pairs, b.queries, merge, l.dim);
                    MergeMaxSum(d, l, part, s.state, s.factors);
                    continue;  // merged already
                }
                pairs->values_position_lanes(wp, l.tile_lanes, vp, value_pairs, b.queries, part + 2 * ql, l.dim);
            } else {
                pairs->scores_query_lanes(qp, ql, kp, l.tile_lanes, head_pairs, n, s.scores);
                Exponentials(d, s.scores, ql, t0, n, s.last, part, part + ql, true);
                pairs->pack_weights_query_lanes(s.scores, ql, n, wp);
                pairs->values_query_lanes(wp, ql, vp, value_pairs, b.queries, part + 2 * ql, l.dim);
            }
        } else if (split_pairs) {
            const uint32_t* vp = PairWords(b.v, value_index(b.dtype, b.head_dim, t0, 0));
            PairKeyLaneScores(d, s.qt, l.padded_queries(), l.dim, KeyPairs(b, tile), b.head_dim, l.tile_lanes, n,
                              s.scores);
            FewExponentials(d, s.scores, l, t0, n, b.last, part, true);
            PairValues(d, Weights{s.scores, 1, l.tile_lanes}, vp, b.head_dim, n, b.queries, part + 2 * ql, l.dim);
        } else {
            const Rows values = ValueRows(d, b, t0, n, l.dim, s.values);
            const KeyColumns keys = KeyTile(d, b, tile, l.tile_lanes, s.keys);
            if (positions_across) {
                KeyLaneScores(d, s.qt, l.padded_queries(), l.dim, keys, b.head_dim, l.tile_lanes, n, s.scores);
                FewExponentials(d, s.scores, l, t0, n, b.last, part, bf16);
                Values(d, Weights{s.scores, 1, l.tile_lanes}, values, n, b.queries, part + 2 * ql, l.dim);
            } else {
                Scores(d, s.qt, ql, keys, n, b.head_dim, s.scores);
                Exponentials(d, s.scores, ql, t0, n, s.last, part, part + ql, bf16);
                Values(d, Weights{s.scores, ql, 1}, values, n, b.queries, part + 2 * ql, l.dim);
            }
        }
        if (b.out) Merge(d, l, part, s.state, s.factors);
    }
    if (b.out) Normalize(d, l, s.state, b.out);
}

void AttentionMergeKernel(const AttentionMerge& m) {
    const DF d;
    const AttentionLayout l(hn::Lanes(d), m.queries, m.head_dim);
    const AttentionLayout::Scratch s = l.carve(m.scratch);
    ResetState(l, s.state);
    for (size_t tile = 0; tile < m.tiles; ++tile)
        Merge(d, l, m.partials + tile * l.partial_floats(), s.state, s.factors);
    Normalize(d, l, s.state, m.out);
}

size_t AttentionLanes() { return hn::Lanes(DF()); }

}  // namespace HWY_NAMESPACE
}  // namespace ascent::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ascent::cpu {

HWY_EXPORT(AttentionBlockKernel);
HWY_EXPORT(AttentionMergeKernel);
HWY_EXPORT(AttentionLanes);

const AttentionKernels& widening_simd_attention_kernels() {
    static const AttentionKernels set = [] {
        hwy::GetChosenTarget().Update(hwy::SupportedTargets());
        return AttentionKernels{HWY_DYNAMIC_DISPATCH(AttentionLanes)(), &HWY_DYNAMIC_DISPATCH(AttentionBlockKernel),
                                &HWY_DYNAMIC_DISPATCH(AttentionMergeKernel), nullptr};
    }();
    return set;
}

const AttentionKernels& vector_pair_simd_attention_kernels() {
    static const AttentionKernels set = [] {
        AttentionKernels k = widening_simd_attention_kernels();
        // The pair products work on vectors of 16 floats, the lanes the AVX-512 targets give.
        if (k.lanes == 16) k.pairs = x86_attention_pair_ops();
        return k;
    }();
    return set;
}

const AttentionKernels& simd_attention_kernels() {
    static const AttentionKernels set = [] {
        AttentionKernels k = vector_pair_simd_attention_kernels();
        if (k.pairs)
            if (const AttentionPairOps* amx = amx_attention_pair_ops()) k.pairs = amx;
        return k;
    }();
    return set;
}

}  // namespace ascent::cpu
#endif  // HWY_ONCE
