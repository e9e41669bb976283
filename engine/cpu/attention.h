#pragma once
// Causal grouped-query attention over the KV cache. The work is cut into blocks of queries that
// share one kv head: the query heads of a group, for several token rows of a prefill at once, so
// each cached key and value row is read once per block rather than once per query head. When
// there are too few blocks to keep every thread busy (a decode step), a block's positions are
// split into ranges of tiles that run as separate tasks and are merged afterwards; the split
// changes no result (engine/cpu/attention_kernels.h).
#include <cstdint>
#include <span>
#include <vector>
#include "engine/backend.h"
#include "engine/cpu/kernels.h"
#include "engine/cpu/thread_pool.h"

namespace ascent::cpu {

class Attention {
public:
    explicit Attention(int threads);

    // Stores the step's k and v rows in the layer's cache, then attends: Backend::attention.
    void run(ThreadPool& pool, const KernelSet& kernels, const float* q, const float* k, const float* v,
             int64_t rows, std::span<const int32_t> positions, std::span<const int32_t> seqs, KvCache& cache,
             int layer, const AttentionParams& p, float* out);

private:
    // Token rows [r0, r1) of one sequence times query heads [h0, h1) of one group.
    struct Block {
        int64_t r0, r1;
        size_t seq;
        int h0, h1;
        size_t tiles;     // tiles up to the last position any of its rows sees
        bool split;       // its tiles run as several tasks
        size_t partials;  // where its tile partials start in partials_, when split
    };
    struct Task {
        size_t block;
        size_t tile_begin, tile_end;
    };

    std::vector<Block> blocks_;
    std::vector<Task> tasks_;
    std::vector<size_t> split_blocks_;
    std::vector<std::vector<float>> scratch_;  // per thread
    std::vector<float> partials_;
};

}  // namespace ascent::cpu
