#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <map>
#include <random>

#include "engine/sampler.h"

using namespace ascent;

namespace {

TEST(Sampler, GreedyPicksTheMaximum) {
    SamplingParams p;
    p.temperature = 0;
    Sampler s(p);
    std::vector<float> l{0.1f, 3.f, -1.f, 2.9f};
    EXPECT_EQ(s.sample(l, {}), 1);
}

// The chunked argmax against std::max_element: sizes around its 16-lane and 1024-element chunks,
// ties (the first index wins, also across chunks), -inf everywhere, and NaN, which never wins.
TEST(Sampler, ArgmaxIsTheFirstLargest) {
    std::mt19937 g(5);
    std::uniform_int_distribution<int> small(-3, 3);
    for (size_t n : {size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{1023}, size_t{1024}, size_t{1025},
                     size_t{3000}, size_t{151936}}) {
        std::vector<float> v(n);
        for (int round = 0; round < 20; ++round) {
            for (float& x : v) x = static_cast<float>(small(g));  // many ties
            ASSERT_EQ(argmax(v), static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin())) << n;
        }
        std::fill(v.begin(), v.end(), -INFINITY);
        EXPECT_EQ(argmax(v), 0u);
        v[n - 1] = 1.f;
        EXPECT_EQ(argmax(v), n - 1);
        v[0] = NAN;
        EXPECT_EQ(argmax(v), n == 1 ? 0u : n - 1);
    }
}

TEST(Sampler, RepeatPenaltyDemotesRecentTokensOnce) {
    SamplingParams p;
    p.temperature = 0;
    p.repeat_penalty = 2.f;
    Sampler s(p);
    std::vector<float> l{0.f, 3.f, 2.f, -1.f};
    std::vector<int32_t> recent{1, 1, 1};
    EXPECT_EQ(s.sample(l, recent), 2);  // 3/2 = 1.5 < 2, and only once despite three repeats
    std::vector<float> neg{-1.f, -0.9f};
    std::vector<int32_t> r2{1};
    EXPECT_EQ(s.sample(neg, r2), 0);    // -0.9 * 2 = -1.8 < -1
}

std::map<int32_t, int> histogram(SamplingParams p, const std::vector<float>& l, int draws) {
    Sampler s(p);
    std::map<int32_t, int> h;
    for (int i = 0; i < draws; ++i) ++h[s.sample(l, {})];
    return h;
}

TEST(Sampler, TopKAndTopPAndMinPRestrictTheChoice) {
    std::vector<float> l{std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
    SamplingParams p;
    p.temperature = 1.f;
    p.top_k = 0;
    p.top_p = 1.f;
    p.min_p = 0.f;
    p.seed = 1;
    auto all = histogram(p, l, 4000);
    EXPECT_EQ(all.size(), 4u);
    EXPECT_NEAR(all[0] / 4000.0, 0.5, 0.04);
    p.top_k = 2;
    auto k2 = histogram(p, l, 2000);
    EXPECT_EQ(k2.size(), 2u);
    EXPECT_NEAR(k2[0] / 2000.0, 0.625, 0.05);  // renormalized 0.5 / 0.8
    p.top_k = 0;
    p.top_p = 0.7f;  // 0.5 + 0.3 reaches it
    EXPECT_EQ(histogram(p, l, 2000).size(), 2u);
    p.top_p = 1.f;
    p.min_p = 0.25f;  // keeps p >= 0.125
    EXPECT_EQ(histogram(p, l, 2000).size(), 3u);
}

TEST(Sampler, SameSeedSameDraws) {
    std::vector<float> l(50);
    for (size_t i = 0; i < l.size(); ++i) l[i] = std::sin(static_cast<float>(i));
    SamplingParams p;
    p.temperature = 1.5f;
    p.top_k = 0;
    p.top_p = 1.f;
    p.min_p = 0.f;
    p.seed = 99;
    Sampler a(p), b(p);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(a.sample(l, {}), b.sample(l, {}));
}

TEST(Sampler, LogSoftmaxIsNormalized) {
    std::vector<float> l{1.f, 2.f, 3.f}, out;
    log_softmax(l, out);
    double sum = 0;
    for (float v : out) sum += std::exp(v);
    EXPECT_NEAR(sum, 1.0, 1e-6);
    EXPECT_NEAR(out[2] - out[1], 1.f, 1e-6);
}

}  // namespace
