// The reference path: plain loops that spell out the numerics stated in matmul.h. Every other
// path is tested against it.
#include "engine/cpu/matmul_path.h"

namespace ascent::cpu {
namespace {

MatmulShape scalar_shape(DType wt, int64_t /*rows*/, int64_t /*in*/) {
    if (wt == DType::BF16) return {MatmulLayout::BF16, 1, 1};
    return {MatmulLayout::F32, 1, 1};
}

template <typename W, typename Widen>
void scalar_rows_typed(const MatmulInput& x, const W* w, Widen widen, int64_t o0, int64_t o1, const float* bias,
                       float* y, int64_t ldy) {
    const int64_t in = x.in();
    for (int64_t r = 0; r < x.rows(); ++r) {
        for (int64_t o = o0; o < o1; ++o) {
            const W* wo = w + o * in;
            float s = 0.f;
            if (x.layout() != MatmulLayout::F32) {
                const uint16_t* xr = x.bf16_row(r);
                for (int64_t i = 0; i < in; ++i) s += bf16_to_f32(xr[i]) * widen(wo[i]);
            } else {
                const float* xr = x.f32_row(r);
                for (int64_t i = 0; i < in; ++i) s += xr[i] * widen(wo[i]);
            }
            y[r * ldy + (o - o0)] = bias ? s + bias[o] : s;
        }
    }
}

void scalar_rows(const MatmulInput& x, const void* w, DType wt, int64_t o0, int64_t o1, const float* bias,
                 float* y, int64_t ldy) {
    switch (wt) {
        case DType::F32:
            scalar_rows_typed(x, static_cast<const float*>(w), [](float v) { return v; }, o0, o1, bias, y, ldy);
            return;
        case DType::BF16:
            scalar_rows_typed(x, static_cast<const uint16_t*>(w), bf16_to_f32, o0, o1, bias, y, ldy);
            return;
        case DType::F16:
            scalar_rows_typed(x, static_cast<const uint16_t*>(w), f16_to_f32, o0, o1, bias, y, ldy);
            return;
    }
}

float scalar_read_sum(const void* p, size_t bytes) {
    const auto* f = static_cast<const float*>(p);
    float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
    for (size_t i = 0; i < bytes / sizeof(float); i += 4) {
        s0 += f[i];
        s1 += f[i + 1];
        s2 += f[i + 2];
        s3 += f[i + 3];
    }
    return (s0 + s1) + (s2 + s3);
}

}  // namespace

const MatmulPath& scalar_matmul_path() {
    static const MatmulPath path{"scalar", 1,       scalar_shape, convert_rows_reference, nullptr,
                                 scalar_rows, nullptr, "",           scalar_read_sum};
    return path;
}

}  // namespace ascent::cpu
