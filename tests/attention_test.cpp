// The CPU backend's attention, with the scalar and with the SIMD kernels, against a double-precision
// reference: odd head sizes, GQA groups, every cache type, prefills on top of earlier cache
// contents and decode steps at a context long enough to be split across threads. And the same
// bits whatever the thread count, which keeps eager and graph mode identical.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/attention_kernels.h"
#include "engine/cpu/attention_pairs.h"
#include "engine/cpu/kernels.h"

namespace ascent {
void PrintTo(DType t, std::ostream* os) { *os << dtype_name(t); }
}  // namespace ascent

using namespace ascent;
using namespace ascent::cpu;

namespace {

struct Shape {
    int n_kv_heads = 2;
    int group = 1;
    int head_dim = 64;
    DType dtype = DType::F32;
    int n_heads() const { return n_kv_heads * group; }
    int64_t q_cols() const { return int64_t{n_heads()} * head_dim; }
    int64_t kv_dim() const { return int64_t{n_kv_heads} * head_dim; }
    AttentionParams params() const {
        return AttentionParams{n_heads(), n_kv_heads, head_dim, 1.f / std::sqrt(static_cast<float>(head_dim))};
    }
};

// Calls [starts[i], starts[i + 1]): prefills, the first at position 0 and the next on top of
// them, decode steps, and a short prefill late enough for its few blocks to be split.
const std::vector<int> kSteps = {0, 37, 127, 128, 520, 522, 523};
constexpr int kLayer = 1;  // of two: the layer's own buffers must be used

// q, k and v of every position of one sequence.
struct Sequence {
    Shape shape;
    int length;
    std::vector<float> q, k, v;
    Sequence(Shape s, int n, uint32_t seed) : shape(s), length(n) {
        std::mt19937 g(seed);
        std::normal_distribution<float> d(0.f, 1.f);
        q.resize(static_cast<size_t>(n * s.q_cols()));
        k.resize(static_cast<size_t>(n * s.kv_dim()));
        v.resize(k.size());
        for (auto* x : {&q, &k, &v})
            for (float& e : *x) e = d(g);
        // Larger query norms sharpen the softmax, so that its max and rescaling matter.
        for (float& e : q) e *= 2.f;
    }
};

// The backend's output for every position, the positions fed in calls [starts[i], starts[i + 1]).
// poison: first fill the layer's cache with NaN bytes, as slots the sequence has not reached may
// hold anything (what a longer sequence left before a rewind).
std::vector<float> attend(Backend& b, const Sequence& s, const std::vector<int>& starts, bool poison = false) {
    const Shape& sh = s.shape;
    auto cache = b.create_kv_cache(2, 1024, sh.kv_dim(), sh.dtype);
    if (poison) {
        const size_t bytes = cache_positions(1024) * static_cast<size_t>(sh.kv_dim()) * dtype_size(sh.dtype);
        // 0xFF bytes: a NaN in every type.
        for (void* buffer : {cache->k[kLayer], cache->v[kLayer]}) std::memset(buffer, 0xFF, bytes);
    }
    std::vector<float> out(static_cast<size_t>(s.length * sh.q_cols()), std::nanf(""));
    for (size_t i = 0; i + 1 < starts.size(); ++i) {
        const int p0 = starts[i], rows = starts[i + 1] - p0;
        std::vector<int32_t> positions(static_cast<size_t>(rows));
        for (int r = 0; r < rows; ++r) positions[static_cast<size_t>(r)] = p0 + r;
        b.attention(s.q.data() + p0 * sh.q_cols(), s.k.data() + p0 * sh.kv_dim(), s.v.data() + p0 * sh.kv_dim(),
                    rows, positions, {}, *cache, kLayer, sh.params(), out.data() + p0 * sh.q_cols());
    }
    return out;
}

std::vector<float> attend(const KernelSet& kernels, int threads, const Sequence& s,
                          const std::vector<int>& starts = kSteps) {
    CpuBackend b(threads, kernels);
    return attend(b, s, starts);
}

double cached(DType t, float x) {
    switch (t) {
        case DType::F32: return x;
        case DType::BF16: return bf16_to_f32(f32_to_bf16(x));
        case DType::F16: return f16_to_f32(f32_to_f16(x));
    }
    return 0;
}

// Every head of position `pos` against attention in double over the cache-rounded k and v; the
// error allowed is relative to sum_t p_t |v_t|, the scale of each output's terms. A BF16 cache
// rounds the scaled queries to BF16, which the reference does too, and the softmax weights, which
// it does not: a weight off by a relative u (2^-9) in both the weighted sum and the normalizer
// moves an output by at most 2u / (1 - u) of that scale.
::testing::AssertionResult matches_reference(const Sequence& s, const std::vector<float>& got, int pos) {
    const Shape& sh = s.shape;
    const auto hd = static_cast<size_t>(sh.head_dim);
    const float scale = sh.params().scale;
    const bool bf16 = sh.dtype == DType::BF16;
    constexpr double u = 1.0 / 512;
    const double tolerance = 1e-5 + (bf16 ? 2 * u / (1 - u) : 0.0);
    std::vector<double> p(static_cast<size_t>(pos) + 1), qs(hd);
    for (int h = 0; h < sh.n_heads(); ++h) {
        const size_t kv_at = static_cast<size_t>(h / sh.group) * hd;
        const float* q = s.q.data() + pos * sh.q_cols() + h * sh.head_dim;
        for (size_t i = 0; i < hd; ++i) qs[i] = bf16 ? cached(DType::BF16, q[i] * scale) : double{q[i]} * scale;
        double max = -INFINITY;
        for (int t = 0; t <= pos; ++t) {
            const float* k = s.k.data() + t * sh.kv_dim() + kv_at;
            double dot = 0;
            for (size_t i = 0; i < hd; ++i) dot += qs[i] * cached(sh.dtype, k[i]);
            p[static_cast<size_t>(t)] = dot;
            max = std::max(max, dot);
        }
        double sum = 0;
        for (double& e : p) sum += (e = std::exp(e - max));
        for (size_t i = 0; i < hd; ++i) {
            double ref = 0, mag = 0;
            for (int t = 0; t <= pos; ++t) {
                const double v = cached(sh.dtype, s.v[static_cast<size_t>(t * sh.kv_dim()) + kv_at + i]);
                ref += p[static_cast<size_t>(t)] / sum * v;
                mag += p[static_cast<size_t>(t)] / sum * std::fabs(v);
            }
            const double y = got[static_cast<size_t>(pos * sh.q_cols() + h * sh.head_dim) + i];
            if (!(std::fabs(y - ref) <= tolerance * mag))
                return ::testing::AssertionFailure()
                       << "position " << pos << " head " << h << " dim " << i << ": " << y << " vs " << ref
                       << " (scale " << mag << ")";
        }
    }
    return ::testing::AssertionSuccess();
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// With this CPU's BF16 pair products where it has them, and without (what other CPUs run).
const KernelSet* kSets[] = {&scalar_kernels(), &simd_kernels(), &vector_pair_simd_kernels(), &widening_simd_kernels()};

class AttentionShapes : public ::testing::TestWithParam<std::tuple<int, int, DType>> {
protected:
    Shape shape() const {
        Shape s;
        s.group = std::get<0>(GetParam());
        s.head_dim = std::get<1>(GetParam());
        s.dtype = std::get<2>(GetParam());
        return s;
    }
};

TEST_P(AttentionShapes, MatchesDoublePrecision) {
    const Sequence s(shape(), kSteps.back(), 7);
    for (const KernelSet* k : kSets) {
        SCOPED_TRACE(k->name);
        const std::vector<float> got = attend(*k, 2, s);
        for (int pos = 0; pos < kSteps.back(); pos += pos < 130 ? 1 : 97) ASSERT_TRUE(matches_reference(s, got, pos));
        for (int pos : {519, 520, 521, 522}) ASSERT_TRUE(matches_reference(s, got, pos));
    }
}

TEST_P(AttentionShapes, SameBitsForAnyThreadCount) {
    const Sequence s(shape(), kSteps.back(), 8);
    for (const KernelSet* k : kSets) {
        SCOPED_TRACE(k->name);
        const std::vector<float> one = attend(*k, 1, s);
        EXPECT_TRUE(same_bits(attend(*k, 2, s), one));
        EXPECT_TRUE(same_bits(attend(*k, 3, s), one));
    }
}

INSTANTIATE_TEST_SUITE_P(Groups, AttentionShapes,
                         ::testing::Combine(::testing::Values(1, 2, 7), ::testing::Values(24, 64, 80),
                                            ::testing::Values(DType::F32, DType::BF16, DType::F16)),
                         [](const auto& p) {
                             return "group" + std::to_string(std::get<0>(p.param)) + "_dim" +
                                    std::to_string(std::get<1>(p.param)) + "_" +
                                    std::string(dtype_name(std::get<2>(p.param)));
                         });

// Head sizes and groups beyond the main grid: a group larger than one block of queries, and head
// sizes with and without vector tails.
TEST(Attention, OtherShapesMatchDoublePrecision) {
    for (auto [n_kv, group, dim] : {std::tuple{1, 130, 24}, std::tuple{2, 8, 72}, std::tuple{1, 4, 128}}) {
        Shape sh;
        sh.n_kv_heads = n_kv;
        sh.group = group;
        sh.head_dim = dim;
        sh.dtype = DType::BF16;
        const Sequence s(sh, kSteps.back(), 9);
        for (const KernelSet* k : kSets) {
            SCOPED_TRACE(k->name + " group " + std::to_string(group) + " dim " + std::to_string(dim));
            const std::vector<float> got = attend(*k, 3, s);
            for (int pos : {0, 1, 36, 37, 100, 127, 128, 300, 520, 522}) ASSERT_TRUE(matches_reference(s, got, pos));
        }
    }
}

// A position's result does not depend on the other rows of its call: a prefill gives the same bits
// as feeding positions one at a time, although a decode step's small block runs with positions
// across lanes and a prefill's large one with queries across lanes (except on AMX tiles), and
// whatever the prefill's block sizes (one thread on 523 rows: the AMX set's blocks of 64 rows).
TEST(Attention, SameBitsHoweverPositionsAreGroupedIntoCalls) {
    for (const int group : {7, 2, 1}) {
        for (const DType dtype : {DType::BF16, DType::F32}) {
            Shape sh;
            sh.group = group;
            sh.head_dim = 40;
            sh.dtype = dtype;
            const Sequence s(sh, kSteps.back(), 10);
            std::vector<int> one_by_one;
            for (int pos = 0; pos <= kSteps.back(); ++pos) one_by_one.push_back(pos);
            for (const KernelSet* k : kSets) {
                SCOPED_TRACE(k->name + " group " + std::to_string(group) + " " + std::string(dtype_name(dtype)));
                const std::vector<float> steps = attend(*k, 2, s);
                EXPECT_TRUE(same_bits(attend(*k, 2, s, one_by_one), steps));
                EXPECT_TRUE(same_bits(attend(*k, 3, s, {0, kSteps.back()}), steps));
                EXPECT_TRUE(same_bits(attend(*k, 1, s, {0, kSteps.back()}), steps));
            }
        }
    }
}

TEST(Attention, CreateBackendUsesTheActiveKernels) {
    Shape sh;
    sh.group = 7;
    const Sequence s(sh, kSteps.back(), 11);
    auto b = create_backend(BackendOptions{"cpu", 2});
    EXPECT_TRUE(same_bits(attend(*b, s, kSteps), attend(active_kernels(), 2, s)));
}

// Where the CPU has AMX tiles, the default set runs a BF16 cache's products there, and the tests
// above check those tile products as they check every other set; ASCENT_SIMD=avx512bf16 keeps them
// on the vector unit.
TEST(Attention, BF16ProductsRunOnAmxTilesWhereTheCpuHasThem) {
    const AttentionPairOps* amx = amx_attention_pair_ops();
    if (!amx) GTEST_SKIP() << "this CPU has no AMX BF16 tiles (or Linux does not grant them)";
    EXPECT_EQ(simd_kernels().attention->pairs, amx);
    EXPECT_NE(simd_kernels().name.find("amx"), std::string::npos) << simd_kernels().name;
    EXPECT_EQ(vector_pair_simd_kernels().attention->pairs, x86_attention_pair_ops());
}

// w is the BF16 rounding of e^x to within its exp's relative error (2.6e-6; 4e-6 allowed).
bool rounds_near_exp(float w, double x) {
    const double e = std::exp(x);
    return w == bf16_to_f32(f32_to_bf16(static_cast<float>(e * (1 - 4e-6)))) ||
           w == bf16_to_f32(f32_to_bf16(static_cast<float>(e * (1 + 4e-6))));
}

// The AMX set's own softmax: each weight is exp(score - the tile's max) rounded to BF16 (from a
// shorter exp), zero past the query's last position and past n; the sum adds exactly the rounded
// weights; a query that sees none of the tile is empty. And a tile cut short (a decode step's
// last tile) gives the weights and sums of the whole one.
TEST(Attention, AmxSoftmaxWeighsAndSumsWhatEachQuerySees) {
    const AttentionPairOps* amx = amx_attention_pair_ops();
    if (!amx) GTEST_SKIP() << "this CPU has no AMX BF16 tiles (or Linux does not grant them)";
    ASSERT_NE(amx->softmax_position_lanes, nullptr);
    constexpr size_t kLanes = kAttentionTile, kQueries = 6, kT0 = 128;
    std::mt19937 g(5);
    std::normal_distribution<float> d(0.f, 4.f);
    std::vector<float> s(kQueries * kLanes);
    for (float& x : s) x = d(g);
    s[2 * kLanes + 7] = -1e4f;  // far below its max: weighs zero, without a NaN
    // Query j sees positions up to last[j]: none, one, part of the tile, all of it.
    const int32_t last[kQueries] = {127, 128, 140, 170, 191, 400};
    const auto run = [&](size_t n, std::vector<float>& max, std::vector<float>& sum, std::vector<uint32_t>& w) {
        max.assign(kQueries, 0.f);
        sum.assign(kQueries, 0.f);
        w.assign(kQueries * kLanes / 2, 0xDEADBEEFu);
        amx->softmax_position_lanes(s.data(), kLanes, kQueries, kT0, n, last, max.data(), sum.data(), w.data());
    };
    std::vector<float> max, sum, cut_max, cut_sum;
    std::vector<uint32_t> w, cut_w;
    run(kLanes, max, sum, w);
    for (size_t q = 0; q < kQueries; ++q) {
        SCOPED_TRACE("query " + std::to_string(q));
        const size_t sees = static_cast<size_t>(std::clamp<int64_t>(last[q] + 1 - int64_t{kT0}, 0, kLanes));
        if (sees == 0) {
            EXPECT_TRUE(std::isinf(max[q]) && max[q] < 0);
            EXPECT_EQ(sum[q], 0.f);
        } else {
            EXPECT_EQ(max[q], *std::max_element(s.begin() + q * kLanes, s.begin() + q * kLanes + sees));
        }
        float total = 0.f;
        for (size_t t = 0; t < kLanes; ++t) {
            const uint32_t word = w[q * kLanes / 2 + t / 2];
            const float got = bf16_to_f32(static_cast<uint16_t>(t % 2 ? word >> 16 : word & 0xFFFFu));
            total += got;
            if (t >= sees) {
                EXPECT_EQ(got, 0.f) << t;
                continue;
            }
            EXPECT_TRUE(rounds_near_exp(got, double{s[q * kLanes + t]} - double{max[q]})) << t << ": " << got;
        }
        EXPECT_NEAR(sum[q], total, 1e-6f * total) << "the rounded weights' sum";
    }
    // Query 3 sees 43 positions: a tile computed only that far weighs them the same.
    run(43, cut_max, cut_sum, cut_w);
    for (size_t q = 0; q <= 3; ++q) {
        EXPECT_EQ(std::memcmp(&cut_max[q], &max[q], sizeof(float)), 0) << q;
        EXPECT_EQ(std::memcmp(&cut_sum[q], &sum[q], sizeof(float)), 0) << q;
        EXPECT_TRUE(std::equal(w.begin() + q * kLanes / 2, w.begin() + (q + 1) * kLanes / 2,
                               cut_w.begin() + q * kLanes / 2)) << q;
    }
    // Many weights over the exp's whole range of reduced arguments, all seen.
    constexpr size_t kMany = 512;
    std::vector<float> many(kMany * kLanes), many_max(kMany), many_sum(kMany);
    std::vector<uint32_t> many_w(kMany * kLanes / 2);
    std::uniform_real_distribution<float> u(-30.f, 0.f);
    for (float& x : many) x = u(g);
    const std::vector<int32_t> all(kMany, 1 << 20);
    amx->softmax_position_lanes(many.data(), kLanes, kMany, 0, kLanes, all.data(), many_max.data(), many_sum.data(),
                                many_w.data());
    size_t off = 0;
    for (size_t i = 0; i < many.size(); ++i) {
        const uint32_t word = many_w[i / 2];
        const float got = bf16_to_f32(static_cast<uint16_t>(i % 2 ? word >> 16 : word & 0xFFFFu));
        off += !rounds_near_exp(got, double{many[i]} - double{many_max[i / kLanes]});
    }
    EXPECT_EQ(off, 0u) << "of " << many.size() << " weights";
}

// Every layout puts each (position, dimension) of a head in its own slot, inside the head's
// positions x head_dim elements: the BF16 pair layout too.
TEST(Attention, CacheLayoutsGiveEverySlotOnce) {
    for (const DType t : {DType::F32, DType::BF16, DType::F16})
        for (const size_t hd : {2u, 24u, 64u, 80u}) {
            const size_t positions = 2 * kAttentionTile;
            std::vector<int> keys(positions * hd), values(positions * hd);
            for (size_t pos = 0; pos < positions; ++pos)
                for (size_t i = 0; i < hd; ++i) {
                    ++keys.at(key_index(t, hd, pos, i));
                    ++values.at(value_index(t, hd, pos, i));
                }
            for (size_t j = 0; j < keys.size(); ++j) {
                ASSERT_EQ(keys[j], 1) << dtype_name(t) << " head_dim " << hd << " key slot " << j;
                ASSERT_EQ(values[j], 1) << dtype_name(t) << " head_dim " << hd << " value slot " << j;
            }
        }
}

// Slots the sequence has not reached (a fresh cache's zeros, or what a longer sequence left
// before a rewind) never reach a result: a cache full of NaN gives the same bits as a zeroed one,
// although the pair kernels read whole tiles straight from the cache.
TEST(Attention, StaleCacheSlotsDoNotLeakIntoResults) {
    for (const DType dtype : {DType::BF16, DType::F32, DType::F16})
        for (const int dim : {64, 40}) {
            Shape sh;
            sh.group = 7;
            sh.head_dim = dim;
            sh.dtype = dtype;
            const Sequence s(sh, kSteps.back(), 12);
            for (const KernelSet* k : kSets) {
                SCOPED_TRACE(k->name + " " + std::string(dtype_name(dtype)) + " dim " + std::to_string(dim));
                CpuBackend clean(2, *k), poisoned(2, *k);
                const std::vector<float> want = attend(clean, s, kSteps);
                for (float x : want) ASSERT_FALSE(std::isnan(x));
                EXPECT_TRUE(same_bits(attend(poisoned, s, kSteps, true), want));
            }
        }
}

TEST(Attention, BF16CacheRejectsOddHeadSizes) {
    CpuBackend b(1);
    auto cache = b.create_kv_cache(1, 8, 2 * 5, DType::BF16);
    std::vector<float> x(2 * 5), out(2 * 5);
    const int32_t pos = 0;
    try {
        b.attention(x.data(), x.data(), x.data(), 1, std::span<const int32_t>(&pos, 1), {}, *cache, 0,
                    AttentionParams{2, 2, 5, 0.1f}, out.data());
        FAIL() << "no error";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("heads of 5 dims"), std::string::npos) << e.what();
    }
}

TEST(Attention, RejectsHeadsThatDoNotFitTheCache) {
    CpuBackend b(1);
    auto cache = b.create_kv_cache(1, 8, 64, DType::F32);
    std::vector<float> x(3 * 64), out(3 * 64);
    const int32_t pos = 0;
    // 3 query heads cannot share 2 kv heads.
    EXPECT_THROW(b.attention(x.data(), x.data(), x.data(), 1, std::span<const int32_t>(&pos, 1), {}, *cache, 0,
                             AttentionParams{3, 2, 32, 0.1f}, out.data()),
                 std::exception);
}

}  // namespace
