// Where the AMX prefill kernel's time goes: its inner step (matmul_amx.cpp: two A tiles of weight
// rows, two B tiles of tokens, four TDPBF16PS) on one thread, over `panels` 32-row weight panels
// (rows 1792 bytes apart, as Qwen2-0.5B's hidden size gives) and `pairs` 32-token pairs, each
// `steps` tile columns wide, every panel against every pair in the kernel's order (pairs inner).
// With `carry`, each block's C tiles come from memory and go back there, as they do between the
// kernel's column chunks; without, they start from zero. `misaligned` puts every operand 16 bytes
// past a cache line, as a plain malloc may. Operands hold BF16 values in [-1, 1]. Counters:
// GFLOP/s and the share of the AMX peak of one thread.
//
// Read off a KVM Xeon (2026-12), share of the peak, with the step's four tile loads first:
//  - 65-70% with one panel and one pair (all in L1) and with 16 pairs (B tiles from L2); about 60%
//    with 16 panels (the strided A tiles from L2): where the operands come from matters little;
//  - carrying C through memory takes that to 45-50%;
//  - misaligned operands, 17-27%: a tile row across two cache lines costs about what the whole
//    step does (the earlier measurements that blamed L2 had operands from malloc).
// The kernel itself, single thread on a cache-resident 896 x 896 product, runs at 30-40%: the C
// carry, and transposing C on the way out (13% of its profile), are the rest. Tiles are not
// renamed, so a load into a tile waits for the products reading it: reloading each operand right
// after its last product of the step, as now, took every case above 4-9% further (old and new
// order timed in alternation, 92-97% of the pairs won).
//
// BM_AmxKernel runs the kernel itself on layer shapes (2026-12, same machine, a neighbour often
// sharing the cores, so ratios within one run only). On one hot 128-row group it comes within
// 75-90% of the step with C carried. Gate's 4864 x 896 weights against 512 tokens ran 2.2-2.5x
// slower writing their whole 10 MiB output than in 128-row blocks into one L2-sized buffer (5
// runs, e.g. 444 against 960 GFLOP/s): the output stream, whose write-allocates push the tokens'
// B tiles out of L2, not the tile arithmetic, is what the kernel loses at full size. The model's
// fused gate/up product already writes into such blocks; q/k/v, o and down write their outputs
// whole. Non-temporal stores for C were within the noise. Two causes (best of 15 alternating runs):
// q/o's 896-float rows of y put a C tile's 16 tokens in 8 of L1's 64 sets, where the stores evict
// the weight tiles being reused: 680 GFLOP/s, against 1041 with y's rows 16 floats longer; gate's
// 10 MiB goes out to memory from inside the kernel: 337 against 1121 in 128-row blocks. Hence
// CpuBackend::linear_fused's blocks.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/cpu/probes.h"
#include "engine/cpu/thread_pool.h"
#include "engine/dtype.h"

#if defined(__x86_64__) && defined(__linux__)
#include "engine/cpu/amx_tiles.h"
#include "engine/cpu/matmul_path.h"
#include "engine/cpu/matmul.h"
#endif

using namespace ascent;
using namespace ascent::cpu;

namespace {

#if defined(__x86_64__) && defined(__linux__)

constexpr int64_t kRowBytes = 1792;  // 896 BF16 weights
constexpr int64_t kTileBytes = 1024;
constexpr int64_t kBlockFloats = 4 * 256;

struct Operands {
    const char* a;
    const char* b;
    float* c;  // kBlockFloats per (panel, pair)
};

template <bool kCarry>
ASCENT_AMX void steps(const Operands& o, int64_t n_steps, int64_t panels, int64_t pairs) {
    const int64_t pair_bytes = 2 * n_steps * kTileBytes;
    for (int64_t p = 0; p < panels; ++p)
        for (int64_t t = 0; t < pairs; ++t) {
            const char* ap = o.a + p * 32 * kRowBytes;
            const char* bp = o.b + t * pair_bytes;
            float* c = kCarry ? o.c + (p * pairs + t) * kBlockFloats : o.c;
            if (kCarry) {
                _tile_loadd(0, c, 64);
                _tile_loadd(1, c + 256, 64);
                _tile_loadd(2, c + 512, 64);
                _tile_loadd(3, c + 768, 64);
            } else {
                _tile_zero(0);
                _tile_zero(1);
                _tile_zero(2);
                _tile_zero(3);
            }
            // The kernel's order (matmul_amx.cpp): each operand is reloaded for the next step
            // right after its last product of this step.
            _tile_loadd(4, ap, kRowBytes);
            _tile_loadd(6, bp, 64);
            _tile_loadd(7, bp + n_steps * kTileBytes, 64);
            _tile_loadd(5, ap + 16 * kRowBytes, kRowBytes);
            for (int64_t k = 0; k < n_steps; ++k) {
                const bool next = k + 1 < n_steps;
                _tile_dpbf16ps(0, 4, 6);
                _tile_dpbf16ps(1, 4, 7);
                if (next) _tile_loadd(4, ap + (k + 1) * 64, kRowBytes);
                _tile_dpbf16ps(2, 5, 6);
                if (next) _tile_loadd(6, bp + (k + 1) * kTileBytes, 64);
                _tile_dpbf16ps(3, 5, 7);
                if (next) {
                    _tile_loadd(5, ap + 16 * kRowBytes + (k + 1) * 64, kRowBytes);
                    _tile_loadd(7, bp + (n_steps + k + 1) * kTileBytes, 64);
                }
            }
            _tile_stored(0, c, 64);
            _tile_stored(1, c + 256, 64);
            _tile_stored(2, c + 512, 64);
            _tile_stored(3, c + 768, 64);
        }
}

// `bytes` of BF16 values in [-1, 1], starting `offset` bytes past a cache line.
struct Buffer {
    Buffer(size_t bytes, size_t offset, uint32_t seed) : data(bytes + 128) {
        std::mt19937 rng(seed);
        std::uniform_real_distribution<float> dist(-1.f, 1.f);
        auto* h = reinterpret_cast<uint16_t*>(data.data());
        for (size_t i = 0; i < data.size() / 2; ++i) h[i] = f32_to_bf16(dist(rng));
        at = data.data() + (64 - reinterpret_cast<uintptr_t>(data.data()) % 64) % 64 + offset;
    }
    std::vector<char> data;
    char* at;
};

void BM_AmxStep(benchmark::State& state) {
    const int64_t n_steps = state.range(0), panels = state.range(1), pairs = state.range(2);
    const bool carry = state.range(3) != 0;
    const size_t offset = state.range(4) != 0 ? 16 : 0;
    if (!amx_matmul_path()) {
        state.SkipWithError("this CPU has no AMX BF16 tiles (or Linux does not grant them)");
        return;
    }
    ThreadPool one(1);
    static const double peak = measure_amx_bf16_peak(one, 0.3).flops_per_second;
    const Buffer a(static_cast<size_t>(panels * 32 * kRowBytes), offset, 1);
    const Buffer b(static_cast<size_t>(pairs * 2 * n_steps * kTileBytes), offset, 2);
    std::vector<float> c_buf(static_cast<size_t>(panels * pairs * kBlockFloats + 16));
    float* const c = c_buf.data() + (16 - reinterpret_cast<uintptr_t>(c_buf.data()) % 64 / 4) % 16;
    amx::configure(amx::whole_tiles());
    const Operands o{a.at, b.at, c};
    for (auto _ : state) carry ? steps<true>(o, n_steps, panels, pairs) : steps<false>(o, n_steps, panels, pairs);
    amx::release();
    const double flops =
        static_cast<double>(state.iterations()) * static_cast<double>(panels * pairs * n_steps) * 4 * 16384;
    state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
    state.counters["amx_peak_frac"] = benchmark::Counter(flops / peak, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AmxStep)
    ->ArgNames({"steps", "panels", "pairs", "carry", "misaligned"})
    ->Args({8, 1, 1, 0, 0})   // 32 KiB: A and B in L1
    ->Args({8, 1, 16, 0, 0})  // B tiles from L2
    ->Args({8, 16, 1, 0, 0})  // A tiles from L2
    ->Args({8, 4, 16, 0, 0})  // the kernel's group of 128 rows against 512 tokens
    ->Args({8, 4, 16, 1, 0})  // ...carrying C between column chunks, as the kernel does
    ->Args({8, 4, 16, 0, 1})  // ...with operands off their cache lines
    ->Unit(benchmark::kMicrosecond);

// The kernel itself (matmul_rows on the AMX path) on one thread, over a Qwen2-0.5B layer shape of
// `n_out` x `in` weights (64-byte aligned) against `tokens` tokens whose B tiles are prepared once,
// outside the loop. The outputs go to y in blocks of `block` weight rows: one block writes the
// whole [tokens, n_out] product (10 MiB for gate at 512 tokens), as a lone product does; blocks of
// 128 rows reuse one [tokens, 128] buffer that stays in L2, as the fused gate/up product's
// scratch does. The difference is what the output stream costs the kernel.
void BM_AmxKernel(benchmark::State& state) {
    const int64_t n_out = state.range(0), in = state.range(1), tokens = state.range(2), block = state.range(3);
    const int64_t ld = block + state.range(4);  // y's row length: the block's, plus `pad` floats
    const MatmulPath* path = amx_matmul_path();
    if (!path) {
        state.SkipWithError("this CPU has no AMX BF16 tiles (or Linux does not grant them)");
        return;
    }
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    std::vector<float> x(static_cast<size_t>(tokens * in));
    for (auto& v : x) v = dist(rng);
    const Buffer w(static_cast<size_t>(n_out * in * 2), 0, 4);
    std::vector<float> y(static_cast<size_t>(tokens * ld));
    MatmulInput input;
    input.prepare(*path, x.data(), tokens, in, in, DType::BF16);
    for (auto _ : state)
        for (int64_t o0 = 0; o0 < n_out; o0 += block)
            matmul_rows(input, w.at, DType::BF16, o0, std::min(n_out, o0 + block), nullptr, y.data(), ld);
    const double flops = static_cast<double>(state.iterations()) * 2.0 * static_cast<double>(n_out * tokens * in);
    state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AmxKernel)
    ->ArgNames({"n_out", "in", "tokens", "block", "pad"})
    ->Args({128, 896, 512, 128, 0})    // one hot group
    ->Args({896, 896, 512, 896, 0})    // q, o
    ->Args({896, 896, 512, 896, 16})   // q, o with y's rows 16 floats further apart
    ->Args({4864, 896, 512, 4864, 0})  // gate alone: a 10 MiB output stream
    ->Args({4864, 896, 512, 128, 0})   // gate in L2-sized blocks
    ->Args({896, 4864, 512, 896, 0})   // down
    ->Unit(benchmark::kMillisecond);

#endif

}  // namespace
