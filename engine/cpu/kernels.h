#pragma once
// The inner loops of the CPU backend. Two implementations exist: a plain scalar one (the
// reference, and the path for CPUs without a supported vector unit) and a Highway one compiled
// for several instruction sets and chosen at run time (AVX-512, AVX2, NEON, SVE...). Tests run
// both on the same inputs.
#include <cstddef>
#include <cstdint>
#include <string>
#include "engine/dtype.h"

namespace ascent::cpu {

struct AttentionKernels;  // engine/cpu/attention_kernels.h

struct KernelSet {
    std::string name;
    // out[i] = float(x[i])
    void (*widen_bf16)(const uint16_t* x, float* out, size_t n);
    void (*widen_f16)(const uint16_t* x, float* out, size_t n);
    float (*sum_squares)(const float* x, size_t n);
    // out[i] = x[i] * scale * w[i]
    void (*scale_mul)(const float* x, float scale, const float* w, float* out, size_t n);
    // out[i] = silu(g[i]) * u[i]
    void (*swiglu)(const float* g, const float* u, float* out, size_t n);
    void (*add)(const float* a, const float* b, float* out, size_t n);
    // Rotate-half RoPE of one head: (a, b) = (x[j], x[j + half]) becomes
    // (a cos[j] - b sin[j], b cos[j] + a sin[j]) for j < half.
    void (*rope_head)(float* x, const float* cos, const float* sin, size_t half);
    // Attention over the KV cache, for the same instruction set.
    const AttentionKernels* attention;
};

const KernelSet& scalar_kernels();
const KernelSet& simd_kernels();  // best target of this CPU; may equal scalar on unknown CPUs
// The same with attention's BF16 products on the vector unit where the CPU also has AMX tiles:
// what ASCENT_SIMD=avx512bf16 runs (as matmul.h's x86 path without AMX).
const KernelSet& vector_pair_simd_kernels();
// The same without the CPU's own BF16 attention products (attention_pairs.h): what a CPU without
// a BF16 dot product runs.
const KernelSet& widening_simd_kernels();
// The set the backend uses: SIMD, or with ASCENT_SIMD in the environment (as matmul.h's paths)
// the scalar set (scalar), the widening one (hwy) or the vector pair one (avx512bf16).
const KernelSet& active_kernels();

void widen(const KernelSet& k, DType t, const void* x, float* out, size_t n);

}  // namespace ascent::cpu
