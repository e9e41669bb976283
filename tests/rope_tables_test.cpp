// The CPU backend's RoPE tables: kept across the layers of a step, recomputed when the positions
// change, one per set of parameters.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/cpu/rope_tables.h"

using namespace ascent;
using namespace ascent::cpu;

namespace {

void expect_table(const float* cs, const std::vector<int32_t>& positions, const RopeParams& p) {
    const int half = p.rotary_dim / 2;
    for (size_t r = 0; r < positions.size(); ++r)
        for (int j = 0; j < half; ++j) {
            const double angle = positions[r] / std::pow(static_cast<double>(p.theta), 2.0 * j / p.rotary_dim);
            EXPECT_NEAR(cs[r * 2 * half + j], std::cos(angle), 2e-4) << "row " << r << " frequency " << j;
            EXPECT_NEAR(cs[r * 2 * half + half + j], std::sin(angle), 2e-4) << "row " << r << " frequency " << j;
        }
}

TEST(RopeTables, KeptWhilePositionsStayRecomputedWhenTheyMove) {
    RopeTables tables;
    const RopeParams p{4, 16, 16, 10000.f};
    const std::vector<int32_t> prefill = {0, 1, 2, 3, 4}, again = prefill, step = {5};
    const float* first = tables.get(prefill, 5, p);
    expect_table(first, prefill, p);
    EXPECT_EQ(tables.get(again, 5, p), first);  // the next layer of the same step
    expect_table(tables.get(step, 1, p), step, p);
    expect_table(tables.get(prefill, 3, p), {0, 1, 2}, p);  // only the step's rows count
}

TEST(RopeTables, OneTablePerParameters) {
    RopeTables tables;
    const RopeParams a{2, 8, 8, 10000.f}, b{2, 8, 8, 1000000.f}, c{2, 8, 4, 10000.f};
    const std::vector<int32_t> positions = {7, 300};
    const float* ta = tables.get(positions, 2, a);
    const float* tb = tables.get(positions, 2, b);
    const float* tc = tables.get(positions, 2, c);
    // All three stay valid together, as the outputs of one fused product need.
    expect_table(ta, positions, a);
    expect_table(tb, positions, b);
    expect_table(tc, positions, c);
}

}  // namespace
