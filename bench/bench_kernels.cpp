// The CPU backend's row kernels (kernels.h) on one thread, the scalar reference set against the
// SIMD set this CPU runs, over Qwen2-0.5B's shapes: one token (decode) and 512 (a prefill chunk).
// RMSNorm is sum_squares then scale_mul, as the backend normalizes a row; RoPE rotates 14 query
// and 2 key heads of 64 per token; SwiGLU and add run over a token's 4864 MLP and 896 hidden
// values. Counters: elements/s and the bytes each kernel reads and writes per second.
//
// Read off a KVM Xeon (2026-12, AVX-512, a neighbour often sharing the core): SwiGLU is the slow
// one, compute bound where its operands are in cache. With Highway's Exp and a division it ran
// about 1e9 elements/s on a decode row (some 30-45 cycles per 16-lane vector); with the shorter
// exponential of kernels_hwy.cpp, 1.2-1.4e9 (1.13-1.26x, four alternating runs of both builds);
// over a prefill's blocks, whose 10 MiB output stream shares the time, 1.0-1.25x. Replacing the
// division by the reciprocal estimate and two Newton steps measured 8-25% slower (more
// instructions on the same two vector ports).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/cpu/kernels.h"

using namespace ascent;
using namespace ascent::cpu;

namespace {

constexpr int64_t kHidden = 896, kInter = 4864, kHeadDim = 64, kRopeHeads = 14 + 2;

const KernelSet& set_arg(int64_t i) { return i == 0 ? scalar_kernels() : simd_kernels(); }

std::vector<float> randoms(size_t n, uint32_t seed, float scale = 1.f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(-scale, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

void rates(benchmark::State& state, const KernelSet& k, double elements, double bytes) {
    const auto it = static_cast<double>(state.iterations());
    state.counters["elements/s"] = benchmark::Counter(elements * it, benchmark::Counter::kIsRate);
    state.counters["GB/s"] = benchmark::Counter(bytes * it / 1e9, benchmark::Counter::kIsRate);
    state.SetLabel(k.name);
}

void BM_RmsNorm(benchmark::State& state) {
    const KernelSet& k = set_arg(state.range(0));
    const int64_t rows = state.range(1);
    const auto x = randoms(static_cast<size_t>(rows * kHidden), 1), w = randoms(kHidden, 2);
    std::vector<float> out(x.size());
    for (auto _ : state)
        for (int64_t r = 0; r < rows; ++r) {
            const float* xr = x.data() + r * kHidden;
            const float ms = k.sum_squares(xr, kHidden) / static_cast<float>(kHidden);
            k.scale_mul(xr, 1.f / std::sqrt(ms + 1e-6f), w.data(), out.data() + r * kHidden, kHidden);
        }
    benchmark::DoNotOptimize(out.data());
    const double n = static_cast<double>(rows * kHidden);
    rates(state, k, n, n * 4 * 3);  // x twice, out once (w stays in L1)
}

// As the fused gate/up product runs it: per block of 128 outputs, from that block's gate and up
// products in a thread's L2-sized scratch ([tokens, 128] each) into the output rows.
void BM_Swiglu(benchmark::State& state) {
    const KernelSet& k = set_arg(state.range(0));
    const int64_t tokens = state.range(1), block = 128;
    const auto g = randoms(static_cast<size_t>(tokens * block), 3, 4.f);
    const auto u = randoms(g.size(), 4);
    std::vector<float> out(static_cast<size_t>(tokens * kInter));
    for (auto _ : state)
        for (int64_t o0 = 0; o0 < kInter; o0 += block) {
            const int64_t w = std::min(block, kInter - o0);
            for (int64_t r = 0; r < tokens; ++r)
                k.swiglu(g.data() + r * w, u.data() + r * w, out.data() + r * kInter + o0, static_cast<size_t>(w));
        }
    benchmark::DoNotOptimize(out.data());
    const auto n = static_cast<double>(tokens * kInter);
    rates(state, k, n, n * 4 * 3);
}

void BM_Add(benchmark::State& state) {
    const KernelSet& k = set_arg(state.range(0));
    const auto n = static_cast<size_t>(state.range(1) * kHidden);
    const auto a = randoms(n, 5), b = randoms(n, 6);
    std::vector<float> out(n);
    for (auto _ : state) k.add(a.data(), b.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
    rates(state, k, static_cast<double>(n), static_cast<double>(n) * 4 * 3);
}

void BM_Rope(benchmark::State& state) {
    const KernelSet& k = set_arg(state.range(0));
    const int64_t rows = state.range(1);
    constexpr int64_t half = kHeadDim / 2;
    auto x = randoms(static_cast<size_t>(rows * kRopeHeads * kHeadDim), 7);
    std::vector<float> cs(static_cast<size_t>(rows * kHeadDim));  // per token: cos[half], sin[half]
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < half; ++j) {
            const double angle = static_cast<double>(r) * std::pow(10000.0, -2.0 * static_cast<double>(j) / kHeadDim);
            cs[static_cast<size_t>(r * kHeadDim + j)] = static_cast<float>(std::cos(angle));
            cs[static_cast<size_t>(r * kHeadDim + half + j)] = static_cast<float>(std::sin(angle));
        }
    for (auto _ : state)
        for (int64_t r = 0; r < rows; ++r) {
            const float* c = cs.data() + r * kHeadDim;
            for (int64_t h = 0; h < kRopeHeads; ++h)
                k.rope_head(x.data() + (r * kRopeHeads + h) * kHeadDim, c, c + half, half);
        }
    benchmark::DoNotOptimize(x.data());
    const double n = static_cast<double>(rows * kRopeHeads * kHeadDim);
    rates(state, k, n, n * 4 * 2);  // x read and written in place (the tables stay in cache)
}

void BM_WidenBf16(benchmark::State& state) {  // an embedding row, or a BF16 norm weight, to f32
    const KernelSet& k = set_arg(state.range(0));
    const auto n = static_cast<size_t>(state.range(1) * kHidden);
    std::vector<uint16_t> x(n);
    std::mt19937 rng(8);
    for (auto& v : x) v = static_cast<uint16_t>(0x3c00 + rng() % 0x0400);  // BF16 values in [2^-7, 2^-6)
    std::vector<float> out(n);
    for (auto _ : state) k.widen_bf16(x.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
    rates(state, k, static_cast<double>(n), static_cast<double>(n) * (2 + 4));
}

// {set: 0 scalar, 1 SIMD} x {tokens: 1 decode, 512 prefill}
#define ASCENT_ROW_KERNEL(bm) \
    BENCHMARK(bm)->ArgNames({"simd", "tokens"})->ArgsProduct({{0, 1}, {1, 512}})->Unit(benchmark::kMicrosecond)
ASCENT_ROW_KERNEL(BM_RmsNorm);
ASCENT_ROW_KERNEL(BM_Swiglu);
ASCENT_ROW_KERNEL(BM_Add);
ASCENT_ROW_KERNEL(BM_Rope);
ASCENT_ROW_KERNEL(BM_WidenBf16);

}  // namespace
