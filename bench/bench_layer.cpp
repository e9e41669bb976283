// A Qwen2-0.5B layer's products as the CPU backend runs them in graph mode, on 2 threads: q, k and
// v in one pass with their biases and RoPE, o with the residual added, gate and up with SwiGLU,
// down with the residual (BF16 weights, seeded values). Unlike bench_matmul's BM_Prefill, which
// times the bare kernels writing y, this includes what the backend does around them: preparing x
// once for q/k/v, blocking the outputs, the epilogues. Counter: GFLOP/s of the products.
//
// Read off a KVM Xeon with AMX (2026-12, a neighbour loading the cores, so only ratios of runs
// taken in alternation, step by step in one process): making a product's outputs in L2-sized
// blocks and copying them to y (CpuBackend::linear_fused) made the layer 4% faster at 512 and 3%
// at 2048 tokens (won 87% and 59% of the pairs; o with its residual: 7%), was even at 64 and 128
// and 0.4% slower at 16 and 32, hence from 128 rows on.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/cpu/cpu_backend.h"

using namespace ascent;
using namespace ascent::cpu;

namespace {

constexpr int64_t kHidden = 896, kInter = 4864, kHeads = 14, kKvHeads = 2, kHeadDim = 64;

struct Matrix {
    Matrix(const char* name, int64_t rows, int64_t cols, uint32_t seed) : values(static_cast<size_t>(rows * cols)) {
        std::mt19937 g(seed);
        std::normal_distribution<float> d(0.f, 0.05f);
        for (auto& v : values) v = f32_to_bf16(d(g));
        weight.name = name;
        weight.dtype = DType::BF16;
        weight.rows = rows;
        weight.cols = cols;
        weight.data = values.data();
    }
    std::vector<uint16_t> values;
    Weight weight;
};

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
    static const Matrix wq("q", kHeads * kHeadDim, kHidden, 1), wk("k", kKvHeads * kHeadDim, kHidden, 2),
        wv("v", kKvHeads * kHeadDim, kHidden, 3), wo("o", kHidden, kHeads * kHeadDim, 4),
        gate("gate", kInter, kHidden, 5), up("up", kInter, kHidden, 6), down("down", kHidden, kInter, 7),
        bq("q.bias", 1, kHeads * kHeadDim, 8), bk("k.bias", 1, kKvHeads * kHeadDim, 9),
        bv("v.bias", 1, kKvHeads * kHeadDim, 10);
    const RopeParams q_rope{kHeads, kHeadDim, kHeadDim, 1e6f}, k_rope{kKvHeads, kHeadDim, kHeadDim, 1e6f};
    const auto x = activations(rows, kHidden, 11), attn = activations(rows, kHidden, 12);
    std::vector<float> q(static_cast<size_t>(rows * kHidden)), k(static_cast<size_t>(rows * kKvHeads * kHeadDim)),
        v(k.size()), o(q.size()), h(static_cast<size_t>(rows * kInter)), y(q.size());
    std::vector<int32_t> positions;
    for (int64_t r = 0; r < rows; ++r) positions.push_back(static_cast<int32_t>(r));
    const LinearOutput qkv[] = {{&wq.weight, &bq.weight, q.data(), nullptr, &q_rope},
                                {&wk.weight, &bk.weight, k.data(), nullptr, &k_rope},
                                {&wv.weight, &bv.weight, v.data(), nullptr, nullptr}};
    const LinearOutput o_res{&wo.weight, nullptr, o.data(), x.data(), nullptr};
    const LinearOutput down_res{&down.weight, nullptr, y.data(), o.data(), nullptr};
    const auto flops = [&](const Matrix& w) { return 2.0 * static_cast<double>(rows * w.weight.rows * w.weight.cols); };
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
            backend.linear_swiglu(o.data(), rows, gate.weight, nullptr, up.weight, nullptr, h.data(), nullptr);
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
