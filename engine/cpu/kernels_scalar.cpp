#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include "engine/cpu/kernels.h"
#include "engine/cpu/attention_kernels.h"

namespace ascent::cpu {
namespace {

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

void rope_head(float* x, const float* cs, const float* sn, size_t half) {
    for (size_t j = 0; j < half; ++j) {
        const float a = x[j], b = x[j + half];
        x[j] = a * cs[j] - b * sn[j];
        x[j + half] = b * cs[j] + a * sn[j];
    }
}

}  // namespace

const KernelSet& scalar_kernels() {
    static const KernelSet set{"scalar", widen_bf16, widen_f16, sum_squares, scale_mul, swiglu, add, rope_head,
                               &scalar_attention_kernels()};
    return set;
}

const KernelSet& active_kernels() {
    static const KernelSet& set = [] () -> const KernelSet& {
        const char* env = std::getenv("ASCENT_SIMD");
        if (env && std::strcmp(env, "scalar") == 0) return scalar_kernels();
        if (env && std::strcmp(env, "hwy") == 0) return widening_simd_kernels();
        if (env && std::strcmp(env, "avx512bf16") == 0) return vector_pair_simd_kernels();
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
