#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include "engine/cpu/kernels.h"

namespace ascent::cpu {
namespace {

float dot_f32(const float* a, const float* b, size_t n) {
    float s = 0.f;
    for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}
float dot_bf16(const uint16_t* a, const float* b, size_t n) {
    float s = 0.f;
    for (size_t i = 0; i < n; ++i) s += bf16_to_f32(a[i]) * b[i];
    return s;
}
float dot_f16(const uint16_t* a, const float* b, size_t n) {
    float s = 0.f;
    for (size_t i = 0; i < n; ++i) s += f16_to_f32(a[i]) * b[i];
    return s;
}
void axpy_f32(float s, const float* x, float* y, size_t n) {
    for (size_t i = 0; i < n; ++i) y[i] += s * x[i];
}
void axpy_bf16(float s, const uint16_t* x, float* y, size_t n) {
    for (size_t i = 0; i < n; ++i) y[i] += s * bf16_to_f32(x[i]);
}
void axpy_f16(float s, const uint16_t* x, float* y, size_t n) {
    for (size_t i = 0; i < n; ++i) y[i] += s * f16_to_f32(x[i]);
}
void widen_bf16(const uint16_t* x, float* out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = bf16_to_f32(x[i]);
}
void widen_f16(const uint16_t* x, float* out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = f16_to_f32(x[i]);
}
float sum_squares(const float* x, size_t n) {
    float s = 0.f;
    for (size_t i = 0; i < n; ++i) s += x[i] * x[i];
    return s;
}
void scale_mul(const float* x, float scale, const float* w, float* out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
}
void swiglu(const float* g, const float* u, float* out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
}
void add(const float* a, const float* b, float* out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void softmax(float* x, size_t n) {
    float mx = x[0];
    for (size_t i = 1; i < n; ++i) mx = std::max(mx, x[i]);
    float sum = 0.f;
    for (size_t i = 0; i < n; ++i) sum += (x[i] = std::exp(x[i] - mx));
    const float inv = 1.f / sum;
    for (size_t i = 0; i < n; ++i) x[i] *= inv;
}
void rope_head(float* x, const float* cs, const float* sn, size_t half) {
    for (size_t j = 0; j < half; ++j) {
        const float a = x[j], b = x[j + half];
        x[j] = a * cs[j] - b * sn[j];
        x[j + half] = b * cs[j] + a * sn[j];
    }
}

}  // namespace

const KernelSet& scalar_kernels() {
    static const KernelSet set{"scalar",  dot_f32,    dot_bf16,  dot_f16,     axpy_f32,  axpy_bf16, axpy_f16,
                               widen_bf16, widen_f16, sum_squares, scale_mul, swiglu, add, softmax, rope_head};
    return set;
}

const KernelSet& active_kernels() {
    static const KernelSet& set = [] () -> const KernelSet& {
        const char* env = std::getenv("ASCENT_SIMD");
        if (env && std::strcmp(env, "scalar") == 0) return scalar_kernels();
        return simd_kernels();
    }();
    return set;
}

void widen(const KernelSet& k, DType t, const void* x, float* out, size_t n) {
    switch (t) {
        case DType::F32: std::memcpy(out, x, n * sizeof(float)); return;
        case DType::BF16: k.widen_bf16(static_cast<const uint16_t*>(x), out, n); return;
        case DType::F16: k.widen_f16(static_cast<const uint16_t*>(x), out, n); return;
    }
}

}  // namespace ascent::cpu
