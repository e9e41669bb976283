#include "engine/cpu/rope_tables.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace ascent::cpu {

const float* RopeTables::get(std::span<const int32_t> positions, int64_t rows, const RopeParams& p) {
    const std::span<const int32_t> step = positions.first(static_cast<size_t>(rows));
    auto it = std::find_if(tables_.begin(), tables_.end(),
                           [&](const Table& t) { return t.rotary_dim == p.rotary_dim && t.theta == p.theta; });
    const int half = p.rotary_dim / 2;
    if (it == tables_.end()) {
        Table fresh{p.rotary_dim, p.theta, std::vector<float>(static_cast<size_t>(half)), {}, {}};
        for (int j = 0; j < half; ++j)
            fresh.inv_freq[static_cast<size_t>(j)] =
                1.f / std::pow(p.theta, static_cast<float>(2 * j) / static_cast<float>(p.rotary_dim));
        it = tables_.insert(tables_.end(), std::move(fresh));
    }
    Table& t = *it;
    if (!t.cs.empty() && std::ranges::equal(t.positions, step)) return t.cs.data();

    const std::vector<float>& inv_freq = t.inv_freq;
    t.positions.assign(step.begin(), step.end());
    t.cs.resize(static_cast<size_t>(rows * half * 2));
    for (int64_t r = 0; r < rows; ++r) {
        const auto pos = static_cast<float>(step[static_cast<size_t>(r)]);
        float* row = t.cs.data() + r * half * 2;
        for (int j = 0; j < half; ++j) {
            const float angle = pos * inv_freq[static_cast<size_t>(j)];
            row[j] = std::cos(angle);
            row[half + j] = std::sin(angle);
        }
    }
    return t.cs.data();
}

}  // namespace ascent::cpu
