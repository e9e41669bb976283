// A Qwen2-0.5B layer's products as the CPU backend runs them in graph mode, on 2 threads: q, k and
// v in one pass with their biases and RoPE, o with the residual added, gate and up with SwiGLU,
// down with the residual (BF16 weights, seeded as `--load-format dummy` makes them). Unlike
// bench_matmul's BM_Prefill, which times the bare kernels writing y, this includes what the
// backend does around them: preparing x once for q/k/v, blocking the outputs, the epilogues.
// Counter: GFLOP/s of the products.
//
// Read off a KVM Xeon with AMX (2026-12, a neighbour loading the cores, so only ratios of runs
// taken in alternation, step by step in one process): making a product's outputs in L2-sized
// blocks and copying them to y (CpuBackend::linear_fused) made the layer 4% faster at 512 and 3%
// at 2048 tokens (won 87% and 59% of the pairs; o with its residual: 7%), was even at 64 and 128
// and 0.4% slower at 16 and 32, hence from 128 rows on. The AMX kernel's pipelined panels
// (matmul_amx.cpp) took it a further 9-15% from 128 tokens on.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/cpu/cpu_backend.h"
#include "engine/dummy_weights.h"

using namespace ascent;
using namespace ascent::cpu;

namespace {

constexpr int64_t kHidden = 896, kInter = 4864, kHeads = 14, kKvHeads = 2, kHeadDim = 64;

std::vector<float> activations(int64_t rows, int64_t cols, uint32_t seed) {
    std::vector<float> v(static_cast<size_t>(rows * cols));
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.f, 1.f);
    for (auto& x : v) x = d(g);
    return v;
}

// product: -1 the whole layer, 0 q/k/v, 1 o, 2 gate/up, 3 down.
void BM_LayerProducts(benchmark::State& state) {
    const int64_t rows = state.range(0), product = state.range(1);
    static CpuBackend backend(2);
    // Seeded weights as `--load-format dummy` makes them, adopted as a loaded model's are.
    static DummyWeights dummy(DType::BF16, 1);
    const auto weight = [&](const char* name, int64_t n_out, int64_t in) {
        const std::vector<int64_t> shape = n_out == 1 ? std::vector<int64_t>{in} : std::vector<int64_t>{n_out, in};
        return backend.adopt_weight(dummy.make(name, shape), n_out, in);
    };
    static const Weight wq = weight("q", kHeads * kHeadDim, kHidden), wk = weight("k", kKvHeads * kHeadDim, kHidden),
                        wv = weight("v", kKvHeads * kHeadDim, kHidden), wo = weight("o", kHidden, kHeads * kHeadDim),
                        gate = weight("gate", kInter, kHidden), up = weight("up", kInter, kHidden),
                        down = weight("down", kHidden, kInter), bq = weight("q.bias", 1, kHeads * kHeadDim),
                        bk = weight("k.bias", 1, kKvHeads * kHeadDim), bv = weight("v.bias", 1, kKvHeads * kHeadDim);
    const RopeParams q_rope{kHeads, kHeadDim, kHeadDim, 1e6f}, k_rope{kKvHeads, kHeadDim, kHeadDim, 1e6f};
    const auto x = activations(rows, kHidden, 11), attn = activations(rows, kHidden, 12);
    std::vector<float> q(static_cast<size_t>(rows * kHidden)), k(static_cast<size_t>(rows * kKvHeads * kHeadDim)),
        v(k.size()), o(q.size()), h(static_cast<size_t>(rows * kInter)), y(q.size());
    std::vector<int32_t> positions;
    for (int64_t r = 0; r < rows; ++r) positions.push_back(static_cast<int32_t>(r));
    const LinearOutput qkv[] = {{&wq, &bq, q.data(), nullptr, &q_rope},
                                {&wk, &bk, k.data(), nullptr, &k_rope},
                                {&wv, &bv, v.data(), nullptr, nullptr}};
    const LinearOutput o_res{&wo, nullptr, o.data(), x.data(), nullptr};
    const LinearOutput down_res{&down, nullptr, y.data(), o.data(), nullptr};
    const auto flops = [&](const Weight& w) { return 2.0 * static_cast<double>(rows * w.rows * w.cols); };
    double per_pass = 0;
    if (product < 0 || product == 0) per_pass += flops(wq) + flops(wk) + flops(wv);
    if (product < 0 || product == 1) per_pass += flops(wo);
    if (product < 0 || product == 2) per_pass += flops(gate) + flops(up);
    if (product < 0 || product == 3) per_pass += flops(down);
    for (auto _ : state) {
        if (product < 0 || product == 0) backend.linear_fused(x.data(), rows, qkv, positions, nullptr);
        if (product < 0 || product == 1)
            backend.linear_fused(attn.data(), rows, std::span<const LinearOutput>(&o_res, 1), positions, nullptr);
        if (product < 0 || product == 2)
            backend.linear_swiglu(o.data(), rows, gate, nullptr, up, nullptr, h.data(), nullptr);
        if (product < 0 || product == 3)
            backend.linear_fused(h.data(), rows, std::span<const LinearOutput>(&down_res, 1), positions, nullptr);
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(per_pass * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
    static const char* const kNames[] = {"q/k/v+rope", "o+residual", "gate/up+swiglu", "down+residual"};
    state.SetLabel(product < 0 ? "layer" : kNames[product]);
}
BENCHMARK(BM_LayerProducts)
    ->ArgNames({"rows", "product"})
    ->ArgsProduct({{32, 128, 512, 2048}, {-1}})
    ->ArgsProduct({{512}, {0, 1, 2, 3}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
