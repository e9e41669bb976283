// Every SIMD kernel against the scalar reference, on sizes that are not multiples of any vector
// width, so the tails are exercised too.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "engine/cpu/kernels.h"

using namespace ascent;
using namespace ascent::cpu;

namespace {

const size_t kSizes[] = {1, 2, 3, 7, 15, 17, 30, 31, 33, 63, 65, 127, 257, 1000, 4098, 4099};

std::vector<float> randoms(size_t n, uint32_t seed, float scale = 1.f) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(g);
    return v;
}

std::vector<uint16_t> to16(const std::vector<float>& v, DType t) {
    std::vector<uint16_t> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = t == DType::BF16 ? f32_to_bf16(v[i]) : f32_to_f16(v[i]);
    return out;
}

TEST(Kernels, SimdSetIsSelected) {
    EXPECT_FALSE(simd_kernels().name.empty());
    EXPECT_EQ(scalar_kernels().name, "scalar");
}

TEST(Kernels, SumOfSquaresMatchesScalar) {
    const auto& s = scalar_kernels();
    const auto& v = simd_kernels();
    for (size_t n : kSizes) {
        auto a = randoms(n, 1);
        // Summation order differs between paths: allow rounding relative to the sum of terms.
        double mag = 1e-3;
        for (size_t i = 0; i < n; ++i) mag += a[i] * a[i];
        const double tol = 2e-6 * mag;
        EXPECT_NEAR(v.sum_squares(a.data(), n), s.sum_squares(a.data(), n), tol) << n;
    }
}

TEST(Kernels, ElementwiseMatchScalar) {
    const auto& s = scalar_kernels();
    const auto& v = simd_kernels();
    for (size_t n : kSizes) {
        auto a = randoms(n, 3, 4.f), b = randoms(n, 4);
        std::vector<float> x(n), y(n);
        auto a16 = to16(a, DType::BF16), h16 = to16(a, DType::F16);
        auto check = [&](const char* what) {
            for (size_t i = 0; i < n; ++i)
                ASSERT_NEAR(x[i], y[i], 1e-5f * (1.f + std::fabs(y[i]))) << what << " n=" << n << " i=" << i;
        };
        v.swiglu(a.data(), b.data(), x.data(), n);
        s.swiglu(a.data(), b.data(), y.data(), n);
        check("swiglu");
        v.add(a.data(), b.data(), x.data(), n);
        s.add(a.data(), b.data(), y.data(), n);
        check("add");
        v.scale_mul(a.data(), 0.37f, b.data(), x.data(), n);
        s.scale_mul(a.data(), 0.37f, b.data(), y.data(), n);
        check("scale_mul");
        v.widen_bf16(a16.data(), x.data(), n);
        s.widen_bf16(a16.data(), y.data(), n);
        check("widen_bf16");
        v.widen_f16(h16.data(), x.data(), n);
        s.widen_f16(h16.data(), y.data(), n);
        check("widen_f16");
        if (n % 2 == 0) {
            std::vector<float> cs = randoms(n, 5), sn = randoms(n, 6);
            x = a;
            y = a;
            v.rope_head(x.data(), cs.data(), sn.data(), n / 2);
            s.rope_head(y.data(), cs.data(), sn.data(), n / 2);
            check("rope_head");
        }
    }
}

// SwiGLU's sigmoid uses its own exponential (kernels_hwy.cpp): within a few ulp of the exact
// value over the whole range where it is a normal float, saturating beyond it, and NaN stays NaN.
TEST(Kernels, SwigluIsAccurateOverItsRangeAndKeepsNaN) {
    const auto& v = simd_kernels();
    const size_t n = 200001;  // odd: the tail too
    std::vector<float> g(n), ones(n, 1.f), out(n);
    for (size_t i = 0; i < n; ++i) g[i] = -100.f + 200.f * static_cast<float>(i) / static_cast<float>(n - 1);
    v.swiglu(g.data(), ones.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) {
        const double x = g[i], exact = x / (1.0 + std::exp(-x));
        if (std::fabs(exact) > 1e-30)
            ASSERT_NEAR(out[i], exact, 4.8e-7 * std::fabs(exact)) << "g=" << g[i];
        else  // far below any activation's scale: only its size matters
            ASSERT_LE(std::fabs(out[i]), 1e-30f) << "g=" << g[i];
    }
    std::vector<float> special{std::nanf(""), 0.f, -0.f, 1e-3f, -1e-3f, 88.7f, -88.7f, 1e30f, -1e30f,
                               std::numeric_limits<float>::infinity(), 3.f, -3.f, std::nanf(""), 5.f, 6.f, 7.f, 8.f};
    std::vector<float> u(special.size(), 2.f), y(special.size());
    v.swiglu(special.data(), u.data(), y.data(), special.size());
    EXPECT_TRUE(std::isnan(y[0]));
    EXPECT_TRUE(std::isnan(y[12]));
    EXPECT_EQ(y[1], 0.f);
    EXPECT_EQ(y[7], 2e30f);
    EXPECT_LE(std::fabs(y[8]), 1e-30f);
    EXPECT_TRUE(std::isinf(y[9]) && y[9] > 0);
    EXPECT_NEAR(y[10], 2 * 3 / (1 + std::exp(-3.0)), 1e-6);
}

TEST(DTypes, ConversionsRoundTripAndRound) {
    EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.5f)), 1.5f);
    EXPECT_EQ(f16_to_f32(f32_to_f16(-2.25f)), -2.25f);
    EXPECT_EQ(f16_to_f32(f32_to_f16(65504.f)), 65504.f);
    EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(1e6f))));
    EXPECT_NEAR(f16_to_f32(f32_to_f16(1e-6f)), 1e-6f, 1e-7f);  // subnormal
    EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
    // Round to nearest even: 1 + 2^-8 is halfway between two bf16 values and rounds down to 1.
    EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.f + 1.f / 256)), 1.f);
}

}  // namespace
