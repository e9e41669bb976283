#pragma once
// AVX-512 helpers shared by the x86 translation units (matmul_x86*.cpp, matmul_amx.cpp,
// attention_x86_pairs.cpp, attention_amx_pairs.cpp).
// Only for x86-64 builds; every function carries its own target attribute, because the rest of
// the project is compiled for baseline x86-64 and these run only after a run-time CPU check.
#if defined(__x86_64__)

// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm512_undefined_*() helpers
// (GCC bug 105593, fixed in 13); the warning is about the header, not the code using it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#include <cstdint>

#define ASCENT_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,f16c,fma")))
#define ASCENT_AVX512_INLINE ASCENT_AVX512 inline __attribute__((always_inline))

namespace ascent::cpu::avx512 {

// Whether this CPU runs code built with ASCENT_AVX512: checked before any such function is offered.
inline bool cpu_has_avx512_bf16() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
}

ASCENT_AVX512_INLINE __mmask8 first_n8(int n) { return static_cast<__mmask8>((1u << n) - 1u); }
ASCENT_AVX512_INLINE __mmask16 first_n16(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

// The lanes of a vector of 16 starting at element `at` that lie below element n.
ASCENT_AVX512_INLINE __mmask16 lanes_below(size_t at, size_t n) {
    return at >= n ? 0 : n - at >= 16 ? static_cast<__mmask16>(0xFFFF) : first_n16(static_cast<int64_t>(n - at));
}
ASCENT_AVX512_INLINE __mmask32 first_n32(int64_t n) {
    return _cvtu32_mask32(static_cast<uint32_t>((uint64_t{1} << n) - 1u));
}

// 16 floats rounded to BF16 (nearest even, NaN stays NaN: bit-identical to f32_to_bf16), one per
// 32-bit lane in the low half.
ASCENT_AVX512_INLINE __m512i round_to_bf16(__m512 v) {
    const __m512i bits = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    const __m512i rounded =
        _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb)), 16);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff)),
                                                  _mm512_set1_epi32(0x7f800000));
    return _mm512_mask_or_epi32(rounded, nan, _mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40));
}

// Words (bf16 of a[i], bf16 of b[i]) from f32 lanes that already hold BF16 values: their high
// halves, exactly.
ASCENT_AVX512_INLINE __m512i high_halves(__m512 a, __m512 b) {
    return _mm512_or_si512(_mm512_srli_epi32(_mm512_castps_si512(a), 16),
                           _mm512_and_si512(_mm512_castps_si512(b), _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

// Lane-wise operations for the folds below.
struct AddOp {
    ASCENT_AVX512_INLINE __m512 operator()(__m512 a, __m512 b) const { return _mm512_add_ps(a, b); }
};
struct MaxOp {
    ASCENT_AVX512_INLINE __m512 operator()(__m512 a, __m512 b) const { return _mm512_max_ps(a, b); }
};

// 128-bit lanes [a0 op a2, a1 op a3, b0 op b2, b1 op b3].
template <class Op = AddOp>
ASCENT_AVX512_INLINE __m512 fold_pair(__m512 a, __m512 b, Op op = {}) {
    return op(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
}
// From two fold_pair results: 128-bit lanes [A, B, C, D], each a 4-lane partial fold of one input.
template <class Op = AddOp>
ASCENT_AVX512_INLINE __m512 fold_quad(__m512 ab, __m512 cd, Op op = {}) {
    return op(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xDD));
}

// Sixteen vectors folded lane-wise into one whose lane j is the fold of v[j]'s 16 lanes, by the
// tree _mm512_reduce_add_ps uses for one vector (lanes i and i + 8, then i and i + 4, i and i + 2,
// i and i + 1), so a sum has the bits of that call. Folding 16 rows at once takes 3 operations a
// row where the one-vector call takes 8, and no row waits on its own chain of shuffles.
template <class Op>
ASCENT_AVX512_INLINE __m512 fold16(const __m512 (&v)[16], Op op) {
    __m512 w[4];
    for (int m = 0; m < 4; ++m)  // block j: row 4m + j's four partial folds
        w[m] = fold_quad(fold_pair(v[4 * m], v[4 * m + 1], op), fold_pair(v[4 * m + 2], v[4 * m + 3], op), op);
    __m512 y[2];
    for (int m = 0; m < 2; ++m)  // block j: rows 8m + j and 8m + 4 + j, two folds each
        y[m] = op(_mm512_shuffle_ps(w[2 * m], w[2 * m + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                  _mm512_shuffle_ps(w[2 * m], w[2 * m + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    const __m512 r = op(_mm512_shuffle_ps(y[0], y[1], _MM_SHUFFLE(2, 0, 2, 0)),
                        _mm512_shuffle_ps(y[0], y[1], _MM_SHUFFLE(3, 1, 3, 1)));
    // Lane 4j + i of r is row 4i + j.
    return _mm512_permutexvar_ps(_mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0), r);
}

// In-place transpose of a 16 x 16 matrix of 32-bit elements held in 16 registers.
ASCENT_AVX512_INLINE void transpose16(__m512 (&r)[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {  // pairs of rows: a0 b0 a1 b1 | a4 b4 a5 b5 | ...
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {  // quads: a0 b0 c0 d0 | a4 b4 c4 d4 | ...
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    // r[4q + j] holds column j (+4, +8, +12 in its 128-bit lanes) of rows 4q..4q+3.
    for (int j = 0; j < 4; ++j) {
        const __m512 a = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);       // cols j, j+8 of rows 0-7
        const __m512 b = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);       // cols j+4, j+12 of rows 0-7
        const __m512 c = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);  // cols j, j+8 of rows 8-15
        const __m512 d = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);  // cols j+4, j+12 of rows 8-15
        t[j] = _mm512_shuffle_f32x4(a, c, 0x88);
        t[j + 8] = _mm512_shuffle_f32x4(a, c, 0xDD);
        t[j + 4] = _mm512_shuffle_f32x4(b, d, 0x88);
        t[j + 12] = _mm512_shuffle_f32x4(b, d, 0xDD);
    }
    for (int i = 0; i < 16; ++i) r[i] = t[i];
}

}  // namespace ascent::cpu::avx512

namespace ascent::cpu {
class MatmulInput;
// BF16 prefill (x prepared as MatmulLayout::BF16) on packed weight panels, matmul_x86_packed.cpp;
// arguments as matmul_rows().
void x86_gemm_bf16_packed(const MatmulInput& x, const uint16_t* w, int64_t o0, int64_t o1, const float* bias,
                          float* y, int64_t ldy);
}  // namespace ascent::cpu

#endif  // __x86_64__
