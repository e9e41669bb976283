// Attention and thread-pool micro-benchmarks on the shape of Qwen2-0.5B (14 query heads, 2 kv
// heads of 64, 24 layers): a decode step's attention over a BF16 cache at several context
// lengths (time per layer; warm, or with the cache evicted as in a real decode step), and the
// cost of handing an empty job to the pool, which every kernel of a decode step pays once.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "engine/backend.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/kernels.h"
#include "engine/cpu/thread_pool.h"

using namespace ascent;
using namespace ascent::cpu;

namespace {

constexpr int kThreads = 2;
constexpr int kLayers = 24;
constexpr int kHeads = 14, kKvHeads = 2, kHeadDim = 64;

void BM_PoolEmptyJob(benchmark::State& state) {
    ThreadPool pool(static_cast<int>(state.range(0)));
    std::vector<int64_t> sink(static_cast<size_t>(pool.size()) * 16);
    for (auto _ : state)
        pool.run(pool.size(), [&](int64_t task, int thread) { sink[static_cast<size_t>(thread) * 16] += task; });
    benchmark::DoNotOptimize(sink.data());
}
BENCHMARK(BM_PoolEmptyJob)->ArgName("threads")->Arg(kThreads)->Unit(benchmark::kMicrosecond);

struct Cache : KvCache {
    std::vector<std::vector<uint16_t>> k_buf, v_buf;
};

void BM_AttentionDecode(benchmark::State& state) {
    const int64_t context = state.range(0);
    const int threads = static_cast<int>(state.range(1));
    ThreadPool pool(threads);
    Attention attention(threads);
    Cache cache;
    cache.dtype = DType::BF16;
    cache.n_layers = kLayers;
    cache.capacity = context + 1;
    cache.kv_dim = kKvHeads * kHeadDim;
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    for (int l = 0; l < kLayers; ++l) {
        cache.k_buf.emplace_back(static_cast<size_t>(cache.capacity * cache.kv_dim));
        cache.v_buf.emplace_back(static_cast<size_t>(cache.capacity * cache.kv_dim));
        for (auto& x : cache.k_buf.back()) x = f32_to_bf16(dist(rng));
        for (auto& x : cache.v_buf.back()) x = f32_to_bf16(dist(rng));
        cache.k.push_back(cache.k_buf.back().data());
        cache.v.push_back(cache.v_buf.back().data());
    }
    std::vector<float> q(kHeads * kHeadDim), k(cache.kv_dim), v(cache.kv_dim), out(q.size());
    for (auto& x : q) x = dist(rng);
    for (auto& x : k) x = dist(rng);
    for (auto& x : v) x = dist(rng);
    const int32_t position = static_cast<int32_t>(context);
    AttentionParams p;
    p.n_heads = kHeads;
    p.n_kv_heads = kKvHeads;
    p.head_dim = kHeadDim;
    p.scale = 0.125f;
    // flush: between calls (untimed), read a buffer larger than the caches, as a decode step's
    // weight stream does, so the cached rows come from memory. One thread only: a pool worker
    // would fall asleep during the flush and the wake-up would be timed.
    const bool flush = state.range(2) != 0;
    std::vector<float> big(flush ? 16 << 20 : 0, 1.f);
    float sink = 0;
    int layer = 0;
    for (auto _ : state) {
        if (flush) {
            state.PauseTiming();
            for (size_t i = 0; i < big.size(); i += 16) sink += big[i];
            state.ResumeTiming();
        }
        attention.run(pool, active_kernels(), q.data(), k.data(), v.data(), 1, {&position, 1}, cache, layer, p,
                      out.data());
        layer = (layer + 1) % kLayers;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(sink);
}
BENCHMARK(BM_AttentionDecode)
    ->ArgNames({"context", "threads", "flush"})
    ->ArgsProduct({{128, 256, 512, 2048}, {1, kThreads}, {0}})
    ->ArgsProduct({{128, 512, 2048}, {1}, {1}})
    ->Iterations(2000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
