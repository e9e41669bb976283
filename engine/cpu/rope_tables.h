#pragma once
// cos and sin of every (token, frequency) pair of a step, for rotate-half RoPE. Every layer of a
// forward pass rotates at the same positions, so a table is kept while the positions and the
// parameters stay the same: a 2048-token prefill would otherwise compute 65536 sines and cosines
// on one thread in every layer.
#include <cstdint>
#include <span>
#include <vector>
#include "engine/ops.h"

namespace ascent::cpu {

class RopeTables {
public:
    // Per row, rotary_dim / 2 cosines then as many sines. Valid until the next call with the same
    // rotary_dim and theta but other positions.
    const float* get(std::span<const int32_t> positions, int64_t rows, const RopeParams& p);

private:
    struct Table {
        int rotary_dim;
        float theta;
        std::vector<float> inv_freq;  // rotary_dim / 2, computed once: a decode step allocates nothing
        std::vector<int32_t> positions;
        std::vector<float> cs;
    };
    std::vector<Table> tables_;  // one per distinct (rotary_dim, theta): one or two
};

}  // namespace ascent::cpu
