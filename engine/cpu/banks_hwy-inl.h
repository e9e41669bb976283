// Banks of vectors for the Highway kernels. SVE's vectors have no size known at compile time, so
// they cannot be array elements (nor class members): a kernel keeps its accumulators, or the
// activations it reuses, as named variables in banks of four, and Each<R>(fn, banks...) calls
// fn(i, bank0[i], bank1[i], ...) for i = 0..R-1, in order, on every target. The calls inline
// away, so the code is what indexing an array of registers gives elsewhere. Included once per
// instruction set by the Highway translation units (foreach_target), hence the toggled guard.

// For the lambdas that Each() calls: inlined as Each itself is, or their vectors, passed by
// reference, would go through memory (GCC did not inline them all, and the portable prefill
// product ran 20-30% slower).
#ifndef ASCENT_BANK_LAMBDA
#define ASCENT_BANK_LAMBDA __attribute__((always_inline))
#endif

#if defined(ASCENT_CPU_BANKS_HWY_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ASCENT_CPU_BANKS_HWY_INL_H_
#undef ASCENT_CPU_BANKS_HWY_INL_H_
#else
#define ASCENT_CPU_BANKS_HWY_INL_H_
#endif

#include <cstddef>
#include <utility>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace ascent::cpu::HWY_NAMESPACE {

constexpr int kBankSize = 4;

// x86 before AVX-512 has 16 vector registers; the other targets have 32. Register tiles are
// sized by it.
constexpr bool kSixteenVectorRegisters = HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3;

// The I-th of its arguments.
template <size_t I, typename T, typename... Ts>
HWY_INLINE T& NthOf(T& first, Ts&... rest) {
    if constexpr (I == 0)
        return first;
    else
        return NthOf<I - 1>(rest...);
}

template <size_t I, size_t... B, typename F, typename... V>
HWY_INLINE void EachAt(std::index_sequence<B...>, F& fn, V&... v) {
    fn(static_cast<int>(I), NthOf<B * kBankSize + I>(v...)...);
}

template <typename F, size_t... I, typename... V>
HWY_INLINE void EachOf(std::index_sequence<I...>, F& fn, V&... v) {
    constexpr size_t kBanks = sizeof...(V) / kBankSize;
    (EachAt<I>(std::make_index_sequence<kBanks>(), fn, v...), ...);
}

// `v` is the banks one after the other, kBankSize vectors each.
template <int R, typename F, typename... V>
HWY_INLINE void Each(F&& fn, V&... v) {
    static_assert(R >= 1 && R <= kBankSize && sizeof...(V) % kBankSize == 0 && sizeof...(V) > 0);
    EachOf(std::make_index_sequence<R>(), fn, v...);
}

}  // namespace ascent::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif
