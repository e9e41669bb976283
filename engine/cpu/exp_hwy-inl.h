// e^x in about half the operations of Highway's Exp, for the kernels whose arguments stay in the
// range of normal results or saturate beyond it (a softmax, a sigmoid). Included once per
// instruction set by the Highway translation units (foreach_target), hence the toggled guard.
#if defined(ASCENT_CPU_EXP_HWY_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ASCENT_CPU_EXP_HWY_INL_H_
#undef ASCENT_CPU_EXP_HWY_INL_H_
#else
#define ASCENT_CPU_EXP_HWY_INL_H_
#endif

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace ascent::cpu::HWY_NAMESPACE {

// e^x = 2^n p for x in [-87.3, 89]: x = n ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, so that
// n times the first is exact), p = e^r by Cephes' expf polynomial (about 1 ulp). The callers
// clamp x and turn n into 2^n, each the way its range allows.
template <class DF>
HWY_INLINE void ExpParts(DF d, hwy::HWY_NAMESPACE::Vec<DF> x, hwy::HWY_NAMESPACE::Vec<DF>& n,
                         hwy::HWY_NAMESPACE::Vec<DF>& p) {
    namespace hn = hwy::HWY_NAMESPACE;
    n = hn::Round(hn::Mul(x, hn::Set(d, 1.44269504088896341f)));
    auto r = hn::MulAdd(n, hn::Set(d, -0.693359375f), x);
    r = hn::MulAdd(n, hn::Set(d, 2.12194440e-4f), r);
    p = hn::Set(d, 1.9875691500e-4f);
    p = hn::MulAdd(p, r, hn::Set(d, 1.3981999507e-3f));
    p = hn::MulAdd(p, r, hn::Set(d, 8.3334519073e-3f));
    p = hn::MulAdd(p, r, hn::Set(d, 4.1665795894e-2f));
    p = hn::MulAdd(p, r, hn::Set(d, 1.6666665459e-1f));
    p = hn::MulAdd(p, r, hn::Set(d, 5.0000001201e-1f));
    p = hn::Add(hn::MulAdd(p, hn::Mul(r, r), r), hn::Set(d, 1.f));
}

}  // namespace ascent::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif
