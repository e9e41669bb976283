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

struct KernelSet {
    std::string name;
    // sum_i a[i] * b[i], with `a` in the given storage type and `b` in f32.
    float (*dot_f32)(const float* a, const float* b, size_t n);
    float (*dot_bf16)(const uint16_t* a, const float* b, size_t n);
    float (*dot_f16)(const uint16_t* a, const float* b, size_t n);
    // y[i] += s * x[i]
    void (*axpy_f32)(float s, const float* x, float* y, size_t n);
    void (*axpy_bf16)(float s, const uint16_t* x, float* y, size_t n);
    void (*axpy_f16)(float s, const uint16_t* x, float* y, size_t n);
    // out[i] = float(x[i])
    void (*widen_bf16)(const uint16_t* x, float* out, size_t n);
    void (*widen_f16)(const uint16_t* x, float* out, size_t n);
    float (*sum_squares)(const float* x, size_t n);
    // out[i] = x[i] * scale * w[i]
    void (*scale_mul)(const float* x, float scale, const float* w, float* out, size_t n);
    // out[i] = silu(g[i]) * u[i]
    void (*swiglu)(const float* g, const float* u, float* out, size_t n);
    void (*add)(const float* a, const float* b, float* out, size_t n);
    // x[i] = exp(x[i] - max x) / sum: a softmax in place.
    void (*softmax)(float* x, size_t n);
    // Rotate-half RoPE of one head: (a, b) = (x[j], x[j + half]) becomes
    // (a cos[j] - b sin[j], b cos[j] + a sin[j]) for j < half.
    void (*rope_head)(float* x, const float* cos, const float* sin, size_t half);
};

const KernelSet& scalar_kernels();
const KernelSet& simd_kernels();  // best target of this CPU; may equal scalar on unknown CPUs
// The set the backend uses: SIMD unless ASCENT_SIMD=scalar is set in the environment.
const KernelSet& active_kernels();

// Generic helpers over the storage type.
inline float dot(const KernelSet& k, DType t, const void* a, const float* b, size_t n) {
    switch (t) {
        case DType::F32: return k.dot_f32(static_cast<const float*>(a), b, n);
        case DType::BF16: return k.dot_bf16(static_cast<const uint16_t*>(a), b, n);
        case DType::F16: return k.dot_f16(static_cast<const uint16_t*>(a), b, n);
    }
    return 0.f;
}

inline void axpy(const KernelSet& k, DType t, float s, const void* x, float* y, size_t n) {
    switch (t) {
        case DType::F32: k.axpy_f32(s, static_cast<const float*>(x), y, n); return;
        case DType::BF16: k.axpy_bf16(s, static_cast<const uint16_t*>(x), y, n); return;
        case DType::F16: k.axpy_f16(s, static_cast<const uint16_t*>(x), y, n); return;
    }
}

void widen(const KernelSet& k, DType t, const void* x, float* out, size_t n);

}  // namespace ascent::cpu
