// Attention inner loops, compiled once per instruction set by Highway and dispatched at run time.
// Scores run with the block's queries across vector lanes: one broadcast key element feeds a
// multiply-add for many queries, and the softmax of a tile needs no horizontal reduction. The
// weighted sum of values runs with the head's dimensions across lanes. A block of few queries
// runs its scores across head dimensions instead (one horizontal sum per score) and its softmax
// across positions. Keys and values are converted to f32 once per tile, as every query group
// reads them again.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/cpu/attention_hwy.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

#include <algorithm>
#include <cstring>
#include <limits>
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

// A tile's keys or values as f32 rows.
struct Rows {
    const float* data;
    size_t stride;
    const float* operator[](size_t t) const { return data + t * stride; }
    Rows from(size_t i) const { return Rows{data + i, stride}; }
};

template <typename Load, typename Widen>
HWY_INLINE void WidenRows(DF d, const uint16_t* rows, size_t stride, size_t n, size_t head_dim, size_t width,
                          float* out, Load load, Widen widen) {
    const size_t N = hn::Lanes(d);
    for (size_t t = 0; t < n; ++t) {
        const uint16_t* r = rows + t * stride;
        float* o = out + t * width;
        size_t i = 0;
        for (; i + N <= head_dim; i += N) hn::StoreU(load(d, r + i), d, o + i);
        for (; i < head_dim; ++i) o[i] = widen(r[i]);
        std::fill(o + head_dim, o + width, 0.f);
    }
}

// Cached positions [t0, t0 + n) of the block's kv head as f32 rows of `width` >= head_dim
// floats: the cache itself when it already is, else a copy in `buf`, zero beyond head_dim.
Rows CachedRows(DF d, const AttentionBlock& b, const void* cache, size_t t0, size_t n, size_t width, float* buf) {
    const size_t hd = b.head_dim, at = t0 * b.stride;
    switch (b.dtype) {
        case DType::F32: {
            const float* rows = static_cast<const float*>(cache) + at;
            if (width == hd) return Rows{rows, b.stride};
            for (size_t t = 0; t < n; ++t) {
                std::memcpy(buf + t * width, rows + t * b.stride, hd * sizeof(float));
                std::fill(buf + t * width + hd, buf + (t + 1) * width, 0.f);
            }
            break;
        }
        case DType::BF16:
            WidenRows(d, static_cast<const uint16_t*>(cache) + at, b.stride, n, hd, width, buf,
                      [](DF df, const uint16_t* p) {
                          const hn::Rebind<uint16_t, DF> du16;
                          const hn::Rebind<uint32_t, DF> du32;
                          return hn::BitCast(df, hn::ShiftLeft<16>(hn::PromoteTo(du32, hn::LoadU(du16, p))));
                      },
                      [](uint16_t x) { return bf16_to_f32(x); });
            break;
        case DType::F16:
            WidenRows(d, static_cast<const uint16_t*>(cache) + at, b.stride, n, hd, width, buf,
                      [](DF df, const uint16_t* p) {
                          const hn::Rebind<hwy::float16_t, DF> df16;
                          return hn::PromoteTo(df, hn::LoadU(df16, reinterpret_cast<const hwy::float16_t*>(p)));
                      },
                      [](uint16_t x) { return f16_to_f32(x); });
            break;
    }
    return Rows{buf, width};
}

// The register tile both products of attention are made of: for kB broadcast scalars and kV
// vectors, acc[b][j] = sum over steps of scalar(step, b) * vector(step)[j]. Each accumulator is
// one chain of multiply-adds in step order, whatever the tile shape, so blocking changes no bits.
template <int kB, int kV, typename Scalar, typename Vector>
HWY_INLINE void OuterTile(DF d, size_t steps, Scalar scalar, Vector vector, float* out, size_t out_stride) {
    const size_t N = hn::Lanes(d);
    VF a00 = hn::Zero(d), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    for (size_t i = 0; i < steps; ++i) {
        const float* vi = vector(i);
        const VF v0 = hn::LoadU(d, vi);
        const VF v1 = kV > 1 ? hn::LoadU(d, vi + N) : v0;
        const VF b0 = hn::Set(d, scalar(i, 0));
        a00 = hn::MulAdd(b0, v0, a00);
        if constexpr (kV > 1) a01 = hn::MulAdd(b0, v1, a01);
        if constexpr (kB > 1) {
            const VF b1 = hn::Set(d, scalar(i, 1)), b2 = hn::Set(d, scalar(i, 2)), b3 = hn::Set(d, scalar(i, 3));
            a10 = hn::MulAdd(b1, v0, a10);
            a20 = hn::MulAdd(b2, v0, a20);
            a30 = hn::MulAdd(b3, v0, a30);
            if constexpr (kV > 1) {
                a11 = hn::MulAdd(b1, v1, a11);
                a21 = hn::MulAdd(b2, v1, a21);
                a31 = hn::MulAdd(b3, v1, a31);
            }
        }
    }
    hn::StoreU(a00, d, out);
    if constexpr (kV > 1) hn::StoreU(a01, d, out + N);
    if constexpr (kB > 1) {
        hn::StoreU(a10, d, out + out_stride);
        hn::StoreU(a20, d, out + 2 * out_stride);
        hn::StoreU(a30, d, out + 3 * out_stride);
        if constexpr (kV > 1) {
            hn::StoreU(a11, d, out + out_stride + N);
            hn::StoreU(a21, d, out + 2 * out_stride + N);
            hn::StoreU(a31, d, out + 3 * out_stride + N);
        }
    }
}

// Scores of kT positions for kJ vectors of queries: s[t][j] = sum_i qt[i][j] * k[t][i].
template <int kT, int kJ>
HWY_INLINE void ScoreBlock(DF d, const float* qt, size_t query_lanes, const float* const* k, size_t head_dim,
                           float* s) {
    OuterTile<kT, kJ>(
        d, head_dim, [&](size_t i, int t) { return k[t][i]; }, [&](size_t i) { return qt + i * query_lanes; }, s,
        query_lanes);
}

template <int kJ>
HWY_INLINE void ScoreColumns(DF d, const float* qt, size_t query_lanes, Rows k, size_t n, size_t head_dim, float* s) {
    size_t t = 0;
    for (; t + 4 <= n; t += 4) {
        const float* rows[4] = {k[t], k[t + 1], k[t + 2], k[t + 3]};
        ScoreBlock<4, kJ>(d, qt, query_lanes, rows, head_dim, s + t * query_lanes);
    }
    for (; t < n; ++t) {
        const float* row = k[t];
        ScoreBlock<1, kJ>(d, qt, query_lanes, &row, head_dim, s + t * query_lanes);
    }
}

void Scores(DF d, const float* qt, size_t query_lanes, Rows k, size_t n, size_t head_dim, float* s) {
    const size_t N = hn::Lanes(d);
    size_t j = 0;
    for (; j + 2 * N <= query_lanes; j += 2 * N) ScoreColumns<2>(d, qt + j, query_lanes, k, n, head_dim, s + j);
    if (j < query_lanes) ScoreColumns<1>(d, qt + j, query_lanes, k, n, head_dim, s + j);
}

// Per query, the tile's max score and sum of exponentials; scores become exp(score - max), and 0
// at positions after the query's last.
void Exponentials(DF d, float* s, size_t query_lanes, size_t t0, size_t n, const float* last, float* max,
                  float* sum) {
    const size_t N = hn::Lanes(d);
    const VF empty = hn::Set(d, kEmpty);
    for (size_t j = 0; j < query_lanes; j += N) {
        const VF lastv = hn::LoadU(d, last + j);
        VF m = empty;
        for (size_t t = 0; t < n; ++t) {
            const auto seen = hn::Le(hn::Set(d, static_cast<float>(t0 + t)), lastv);
            m = hn::Max(m, hn::IfThenElse(seen, hn::LoadU(d, s + t * query_lanes + j), empty));
        }
        VF l = hn::Zero(d);
        for (size_t t = 0; t < n; ++t) {
            float* st = s + t * query_lanes + j;
            const auto seen = hn::Le(hn::Set(d, static_cast<float>(t0 + t)), lastv);
            const VF p = hn::IfThenElseZero(seen, hn::Exp(d, hn::Sub(hn::LoadU(d, st), m)));
            hn::StoreU(p, d, st);
            l = hn::Add(l, p);
        }
        hn::StoreU(m, d, max + j);
        hn::StoreU(l, d, sum + j);
    }
}

// Scores of a block of few queries: s[q][t], rows `stride` apart.
void FewScores(DF d, const float* q, size_t queries, Rows k, size_t n, size_t dim, float* s, size_t stride) {
    const size_t N = hn::Lanes(d);
    for (size_t t = 0; t < n; ++t) {
        const float* kt = k[t];
        for (size_t j = 0; j < queries; ++j) {
            const float* qj = q + j * dim;
            VF acc = hn::Zero(d);
            for (size_t i = 0; i < dim; i += N) acc = hn::MulAdd(hn::LoadU(d, qj + i), hn::LoadU(d, kt + i), acc);
            s[j * stride + t] = hn::GetLane(hn::SumOfLanes(d, acc));
        }
    }
}

// Exponentials of a block of few queries, as Exponentials but across positions.
void FewExponentials(DF d, float* s, const AttentionLayout& l, size_t t0, size_t n, const int32_t* last,
                     float* part) {
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
        VF total = hn::Zero(d);
        for (size_t t = 0; t < n; t += N) {
            const auto in = hn::Lt(hn::Add(iota, hn::Set(d, static_cast<float>(t))), seen);
            const VF p = hn::IfThenElseZero(in, hn::Exp(d, hn::Sub(hn::LoadU(d, sj + t), m)));
            hn::StoreU(p, d, sj + t);
            total = hn::Add(total, p);
        }
        max[j] = hn::GetLane(m);
        sum[j] = hn::GetLane(hn::SumOfLanes(d, total));
    }
    std::fill(max + l.queries, max + l.query_lanes, kEmpty);
    std::fill(sum + l.queries, sum + l.query_lanes, 0.f);
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

template <int kD>
HWY_INLINE void ValueColumns(DF d, Weights w, Rows v, size_t n, size_t queries, float* out, size_t dim) {
    size_t q = 0;
    for (; q + 4 <= queries; q += 4)
        ValueBlock<4, kD>(d, Weights{w.p + q * w.q_step, w.t_step, w.q_step}, v, n, out + q * dim, dim);
    for (; q < queries; ++q)
        ValueBlock<1, kD>(d, Weights{w.p + q * w.q_step, w.t_step, w.q_step}, v, n, out + q * dim, dim);
}

void Values(DF d, Weights w, Rows v, size_t n, size_t queries, float* out, size_t dim) {
    const size_t N = hn::Lanes(d);
    size_t i = 0;
    for (; i + 2 * N <= dim; i += 2 * N) ValueColumns<2>(d, w, v.from(i), n, queries, out + i, dim);
    if (i < dim) ValueColumns<1>(d, w, v.from(i), n, queries, out + i, dim);
}

void ResetState(const AttentionLayout& l, float* state) {
    std::fill(state, state + l.query_lanes, kEmpty);
    std::fill(state + l.query_lanes, state + 2 * l.query_lanes, 0.f);
}

// Folds a partial into the running state. Both are max[query_lanes], sum[query_lanes],
// out[queries][dim]; an empty partial leaves a query as it is, an empty state takes the partial.
void Merge(DF d, const AttentionLayout& l, const float* part, float* state, float* factors) {
    const size_t N = hn::Lanes(d), ql = l.query_lanes;
    const float *pm = part, *pl = part + ql, *po = part + 2 * ql;
    float *sm = state, *sl = state + ql, *so = state + 2 * ql;
    float *fa = factors, *fb = factors + ql;
    for (size_t j = 0; j < ql; j += N) {
        const VF m = hn::LoadU(d, sm + j), mp = hn::LoadU(d, pm + j);
        const VF mx = hn::Max(m, mp);
        hn::StoreU(hn::Exp(d, hn::Sub(m, mx)), d, fa + j);
        hn::StoreU(hn::Exp(d, hn::Sub(mp, mx)), d, fb + j);
    }
    for (size_t q = 0; q < l.queries; ++q) {
        if (pm[q] == kEmpty) continue;
        float* o = so + q * l.dim;
        const float* op = po + q * l.dim;
        if (sm[q] == kEmpty) {
            std::memcpy(o, op, l.dim * sizeof(float));
            continue;
        }
        const VF a = hn::Set(d, fa[q]), b = hn::Set(d, fb[q]);
        for (size_t i = 0; i < l.dim; i += N)
            hn::StoreU(hn::MulAdd(hn::LoadU(d, op + i), b, hn::Mul(hn::LoadU(d, o + i), a)), d, o + i);
    }
    const VF empty = hn::Set(d, kEmpty);
    for (size_t j = 0; j < ql; j += N) {
        const VF m = hn::LoadU(d, sm + j), mp = hn::LoadU(d, pm + j);
        const VF s = hn::LoadU(d, sl + j), sp = hn::LoadU(d, pl + j);
        const auto no_part = hn::Eq(mp, empty), no_state = hn::Eq(m, empty);
        const VF merged = hn::MulAdd(sp, hn::LoadU(d, fb + j), hn::Mul(s, hn::LoadU(d, fa + j)));
        hn::StoreU(hn::IfThenElse(no_part, m, hn::IfThenElse(no_state, mp, hn::Max(m, mp))), d, sm + j);
        hn::StoreU(hn::IfThenElse(no_part, s, hn::IfThenElse(no_state, sp, merged)), d, sl + j);
    }
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

}  // namespace

void AttentionBlockKernel(const AttentionBlock& b) {
    const DF d;
    const AttentionLayout l(hn::Lanes(d), b.queries, b.head_dim);
    const AttentionLayout::Scratch s = l.carve(b.scratch);
    const size_t ql = l.query_lanes;
    const bool few = l.few_queries();
    int64_t last_max = -1;
    for (size_t q = 0; q < b.queries; ++q) last_max = std::max<int64_t>(last_max, b.last[q]);
    if (few) {
        std::fill(s.qt, s.qt + b.queries * l.dim, 0.f);
        for (size_t q = 0; q < b.queries; ++q)
            for (size_t i = 0; i < b.head_dim; ++i) s.qt[q * l.dim + i] = b.q[q][i] * b.scale;
    } else {
        std::fill(s.qt, s.qt + b.head_dim * ql, 0.f);
        for (size_t q = 0; q < b.queries; ++q)
            for (size_t i = 0; i < b.head_dim; ++i) s.qt[i * ql + q] = b.q[q][i] * b.scale;
        for (size_t q = 0; q < ql; ++q) s.last[q] = q < b.queries ? static_cast<float>(b.last[q]) : -1.f;
    }
    if (b.out) ResetState(l, s.state);
    for (size_t tile = b.tile_begin; tile < b.tile_end; ++tile) {
        const size_t t0 = tile * kAttentionTile;
        const size_t n = std::min(kAttentionTile, static_cast<size_t>(last_max + 1) - t0);
        float* part = b.out ? s.tile : b.partials + (tile - b.tile_begin) * l.partial_floats();
        const Rows values = CachedRows(d, b, b.v, t0, n, l.dim, s.values);
        if (few) {
            const Rows keys = CachedRows(d, b, b.k, t0, n, l.dim, s.keys);
            FewScores(d, s.qt, b.queries, keys, n, l.dim, s.scores, l.tile_lanes);
            FewExponentials(d, s.scores, l, t0, n, b.last, part);
            Values(d, Weights{s.scores, 1, l.tile_lanes}, values, n, b.queries, part + 2 * ql, l.dim);
        } else {
            const Rows keys = CachedRows(d, b, b.k, t0, n, b.head_dim, s.keys);
            Scores(d, s.qt, ql, keys, n, b.head_dim, s.scores);
            Exponentials(d, s.scores, ql, t0, n, s.last, part, part + ql);
            Values(d, Weights{s.scores, ql, 1}, values, n, b.queries, part + 2 * ql, l.dim);
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

const AttentionKernels& simd_attention_kernels() {
    static const AttentionKernels set = [] {
        hwy::GetChosenTarget().Update(hwy::SupportedTargets());
        return AttentionKernels{HWY_DYNAMIC_DISPATCH(AttentionLanes)(), &HWY_DYNAMIC_DISPATCH(AttentionBlockKernel),
                                &HWY_DYNAMIC_DISPATCH(AttentionMergeKernel)};
    }();
    return set;
}

}  // namespace ascent::cpu
#endif  // HWY_ONCE
