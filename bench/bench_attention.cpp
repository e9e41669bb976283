// Attention and thread-pool micro-benchmarks on the shape of Qwen2-0.5B (14 query heads, 2 kv
// heads of 64, 24 layers): a decode step's attention over a BF16 cache at several context
// lengths (time per layer; warm, or with the cache evicted as in a real decode step), and the
// cost of handing an empty job to the pool, which every kernel of a decode step pays once, and a
// prefill's causal attention over 512 and 2048 prompt tokens.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "engine/backend.h"
#include "engine/cpu/attention_kernels.h"
#include "engine/cpu/cpu_backend.h"
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

void BM_AttentionDecode(benchmark::State& state) {
    const int64_t context = state.range(0);
    CpuBackend backend(static_cast<int>(state.range(1)));
    const int64_t kv_dim = kKvHeads * kHeadDim;
    auto cache = backend.create_kv_cache(kLayers, context + 1, kv_dim, DType::BF16);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    const size_t elements = cache_positions(static_cast<size_t>(context + 1)) * static_cast<size_t>(kv_dim);
    for (int l = 0; l < kLayers; ++l)
        for (void* buffer : {cache->k[static_cast<size_t>(l)], cache->v[static_cast<size_t>(l)]})
            for (size_t i = 0; i < elements; ++i) static_cast<uint16_t*>(buffer)[i] = f32_to_bf16(dist(rng));
    std::vector<float> q(kHeads * kHeadDim), k(static_cast<size_t>(kv_dim)), v(k.size()), out(q.size());
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
        backend.attention(q.data(), k.data(), v.data(), 1, {&position, 1}, {}, *cache, layer, p, out.data());
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

// A prefill's attention: `rows` prompt tokens from position 0 attend causally to themselves,
// one layer per iteration. GFLOP/s counts the two products (scores and weighted values) over the
// positions each query sees, as `ascent bench` does (shown per second).
void BM_AttentionPrefill(benchmark::State& state) {
    const int64_t rows = state.range(0);
    const auto dtype = static_cast<DType>(state.range(1));
    CpuBackend backend(static_cast<int>(state.range(2)));
    const int64_t kv_dim = kKvHeads * kHeadDim, q_dim = kHeads * kHeadDim;
    auto cache = backend.create_kv_cache(kLayers, rows, kv_dim, dtype);
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    std::vector<float> q(static_cast<size_t>(rows * q_dim)), k(static_cast<size_t>(rows * kv_dim)), v(k.size()),
        out(q.size());
    for (auto* x : {&q, &k, &v})
        for (auto& e : *x) e = 2.f * dist(rng);
    std::vector<int32_t> positions(static_cast<size_t>(rows));
    for (int64_t i = 0; i < rows; ++i) positions[static_cast<size_t>(i)] = static_cast<int32_t>(i);
    AttentionParams p;
    p.n_heads = kHeads;
    p.n_kv_heads = kKvHeads;
    p.head_dim = kHeadDim;
    p.scale = 0.125f;
    int layer = 0;
    for (auto _ : state) {
        backend.attention(q.data(), k.data(), v.data(), rows, positions, {}, *cache, layer, p, out.data());
        layer = (layer + 1) % kLayers;
    }
    benchmark::DoNotOptimize(out.data());
    const double pairs = static_cast<double>(rows) * static_cast<double>(rows + 1) / 2;
    state.counters["GFLOP"] = benchmark::Counter(pairs * 4.0 * q_dim * static_cast<double>(state.iterations()) / 1e9,
                                                   benchmark::Counter::kIsRate);
    state.SetLabel(std::string(dtype_name(dtype)) + " cache");
}
BENCHMARK(BM_AttentionPrefill)
    ->ArgNames({"rows", "cache", "threads"})
    ->ArgsProduct({{512, 2048}, {static_cast<int64_t>(DType::BF16), static_cast<int64_t>(DType::F32)}, {kThreads}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
