// Vector kernels, compiled once per instruction set by Highway and dispatched at run time.
#include <algorithm>
#include <cmath>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/cpu/kernels_hwy.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "engine/cpu/exp_hwy-inl.h"

#include "engine/cpu/kernels.h"
#include "engine/cpu/attention_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace ascent::cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

// Loads N 16-bit values and widens them to N floats.
HWY_INLINE hn::Vec<DF> LoadBF16(DF d, const uint16_t* p) {
    const hn::Rebind<uint16_t, DF> du16;
    const hn::Rebind<uint32_t, DF> du32;
    return hn::BitCast(d, hn::ShiftLeft<16>(hn::PromoteTo(du32, hn::LoadU(du16, p))));
}
HWY_INLINE hn::Vec<DF> LoadF16(DF d, const uint16_t* p) {
    const hn::Rebind<hwy::float16_t, DF> df16;
    return hn::PromoteTo(d, hn::LoadU(df16, reinterpret_cast<const hwy::float16_t*>(p)));
}
HWY_INLINE hn::Vec<DF> LoadF32(DF d, const float* p) { return hn::LoadU(d, p); }

// Four independent accumulators hide the FMA latency.
float SumSquares(const float* x, size_t n) {
    const DF d;
    const size_t N = hn::Lanes(d);
    auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
    size_t i = 0;
    for (; i + 4 * N <= n; i += 4 * N) {
        const auto a = hn::LoadU(d, x + i), b = hn::LoadU(d, x + i + N);
        const auto c = hn::LoadU(d, x + i + 2 * N), e = hn::LoadU(d, x + i + 3 * N);
        s0 = hn::MulAdd(a, a, s0);
        s1 = hn::MulAdd(b, b, s1);
        s2 = hn::MulAdd(c, c, s2);
        s3 = hn::MulAdd(e, e, s3);
    }
    for (; i + N <= n; i += N) {
        const auto a = hn::LoadU(d, x + i);
        s0 = hn::MulAdd(a, a, s0);
    }
    s0 = hn::Add(hn::Add(s0, s1), hn::Add(s2, s3));
    float sum = hn::GetLane(hn::SumOfLanes(d, s0));
    for (; i < n; ++i) sum += x[i] * x[i];
    return sum;
}

void WidenBF16(const uint16_t* x, float* out, size_t n) {
    const DF d;
    const size_t N = hn::Lanes(d);
    size_t i = 0;
    for (; i + N <= n; i += N) hn::StoreU(LoadBF16(d, x + i), d, out + i);
    for (; i < n; ++i) out[i] = bf16_to_f32(x[i]);
}
void WidenF16(const uint16_t* x, float* out, size_t n) {
    const DF d;
    const size_t N = hn::Lanes(d);
    size_t i = 0;
    for (; i + N <= n; i += N) hn::StoreU(LoadF16(d, x + i), d, out + i);
    for (; i < n; ++i) out[i] = f16_to_f32(x[i]);
}

void ScaleMul(const float* x, float scale, const float* w, float* out, size_t n) {
    const DF d;
    const size_t N = hn::Lanes(d);
    const auto vs = hn::Set(d, scale);
    size_t i = 0;
    for (; i + N <= n; i += N)
        hn::StoreU(hn::Mul(hn::Mul(hn::LoadU(d, x + i), vs), hn::LoadU(d, w + i)), d, out + i);
    for (; i < n; ++i) out[i] = x[i] * scale * w[i];
}

// e^x for SwiGLU's sigmoid (exp_hwy-inl.h), within about 2 ulp. x is clamped to [-87.3, 89]:
// below, 2^n would leave the normal floats (the sigmoid is 1 to f32 there anyway); above, n = 128
// makes 2^n exactly infinity, as e^x is from 88.73 on, so the SiLU of a very negative gate is 0.
// Highway's Exp also covers denormal results, at half again the instructions, and SwiGLU is bound
// by its instruction count (bench_kernels).
HWY_INLINE hn::Vec<DF> ExpForSigmoid(DF d, hn::Vec<DF> x) {
    const hn::RebindToSigned<DF> di;
    hn::Vec<DF> n, p;
    ExpParts(d, hn::Min(hn::Max(x, hn::Set(d, -87.3f)), hn::Set(d, 89.f)), n, p);
    return hn::Mul(p, hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(hn::ConvertTo(di, n), hn::Set(di, 127)))));
}

// A NaN gate stays NaN (the clamp would make it a number): a corrupt activation must not turn
// into a plausible one.
HWY_INLINE hn::Vec<DF> SwigluVec(DF d, hn::Vec<DF> g, hn::Vec<DF> u) {
    const auto one = hn::Set(d, 1.f);
    const auto silu = hn::Div(g, hn::Add(one, ExpForSigmoid(d, hn::Neg(g))));
    return hn::Mul(hn::IfThenElse(hn::IsNaN(g), g, silu), u);
}

void Swiglu(const float* g, const float* u, float* out, size_t n) {
    const DF d;
    const size_t N = hn::Lanes(d);
    size_t i = 0;
    for (; i + N <= n; i += N) hn::StoreU(SwigluVec(d, hn::LoadU(d, g + i), hn::LoadU(d, u + i)), d, out + i);
    if (i == n) return;
    // The tail goes through the same vector code, so an element's value never depends on where
    // a caller happened to split the array (eager and fused graph kernels split differently).
    HWY_ALIGN float gt[64] = {}, ut[64] = {}, ot[64];  // 64 lanes: the widest vector (2048-bit SVE)
    for (size_t j = i; j < n; ++j) {
        gt[j - i] = g[j];
        ut[j - i] = u[j];
    }
    hn::Store(SwigluVec(d, hn::Load(d, gt), hn::Load(d, ut)), d, ot);
    for (size_t j = i; j < n; ++j) out[j] = ot[j - i];
}

void Add(const float* a, const float* b, float* out, size_t n) {
    const DF d;
    const size_t N = hn::Lanes(d);
    size_t i = 0;
    for (; i + N <= n; i += N) hn::StoreU(hn::Add(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, out + i);
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

void RopeHead(float* x, const float* cs, const float* sn, size_t half) {
    const DF d;
    const size_t N = hn::Lanes(d);
    size_t j = 0;
    for (; j + N <= half; j += N) {
        const auto a = hn::LoadU(d, x + j), b = hn::LoadU(d, x + j + half);
        const auto c = hn::LoadU(d, cs + j), s = hn::LoadU(d, sn + j);
        hn::StoreU(hn::NegMulAdd(b, s, hn::Mul(a, c)), d, x + j);
        hn::StoreU(hn::MulAdd(a, s, hn::Mul(b, c)), d, x + j + half);
    }
    for (; j < half; ++j) {
        const float a = x[j], b = x[j + half];
        x[j] = a * cs[j] - b * sn[j];
        x[j + half] = b * cs[j] + a * sn[j];
    }
}

const char* KernelsTargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace ascent::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ascent::cpu {

HWY_EXPORT(WidenBF16);
HWY_EXPORT(WidenF16);
HWY_EXPORT(SumSquares);
HWY_EXPORT(ScaleMul);
HWY_EXPORT(Swiglu);
HWY_EXPORT(Add);
HWY_EXPORT(RopeHead);
HWY_EXPORT(KernelsTargetName);

// Resolve the table entries once, so each kernel call is one indirect call with no dispatch check.
#define ASCENT_RESOLVED(F) (&HWY_DYNAMIC_DISPATCH(F))

const KernelSet& vector_pair_simd_kernels() {
    static const KernelSet set = [] {
        hwy::GetChosenTarget().Update(hwy::SupportedTargets());
        return KernelSet{
            std::string("simd:") + HWY_DYNAMIC_DISPATCH(KernelsTargetName)(),
            ASCENT_RESOLVED(WidenBF16), ASCENT_RESOLVED(WidenF16), ASCENT_RESOLVED(SumSquares),
            ASCENT_RESOLVED(ScaleMul),  ASCENT_RESOLVED(Swiglu),   ASCENT_RESOLVED(Add),
            ASCENT_RESOLVED(RopeHead),  &vector_pair_simd_attention_kernels()};
    }();
    return set;
}

const KernelSet& simd_kernels() {
    static const KernelSet set = [] {
        KernelSet k = vector_pair_simd_kernels();
        k.attention = &simd_attention_kernels();
        if (k.attention->pairs != vector_pair_simd_kernels().attention->pairs) k.name += "+amx-attention";
        return k;
    }();
    return set;
}

const KernelSet& widening_simd_kernels() {
    static const KernelSet set = [] {
        KernelSet k = vector_pair_simd_kernels();
        k.attention = &widening_simd_attention_kernels();
        return k;
    }();
    return set;
}

}  // namespace ascent::cpu
#endif  // HWY_ONCE
