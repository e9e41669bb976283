// The x86 path with AMX (Advanced Matrix Extensions) for BF16 prefill. One TDPBF16PS multiplies
// a 16 x 32 BF16 tile by a 32 x 16 one into 16 x 16 f32 sums: 16x the work of vdpbf16ps.
//
// The weights stay in place: an A tile is 16 weight rows x 32 columns, loaded straight from the
// row-major [n_out, in] matrix with the row length as stride. The activations are the B operand,
// which AMX wants with column pairs interleaved ("VNNI" layout), so MatmulInput stores them as
// ready-made B tiles (MatmulLayout::BF16Tiles, built once per matmul). The C tiles come out as
// [weight row][token] and are transposed on the way to y[token][row].
//
// Used when the input has at least kMinTokens rows and `in` is a multiple of 32 (so no tile reads
// past a weight row); every other shape, and F32/F16 weights, run the plain x86 kernels.
#include "engine/cpu/matmul_path.h"

#if defined(__x86_64__) && defined(__linux__)

#include <algorithm>
#include <cstring>
#include <vector>
#include "engine/cpu/aligned_scratch.h"
#include "engine/cpu/amx_tiles.h"
#include "engine/cpu/matmul_avx512.h"

namespace ascent::cpu {
namespace {

using namespace avx512;

constexpr int64_t kTileTokens = 16;                   // B tile columns
constexpr int64_t kTileK = 32;                        // BF16 columns of x per tile (16 pairs)
constexpr int64_t kTileRows = 16;                     // weight rows per A tile
constexpr int64_t kTileElems = kTileTokens * kTileK;  // 512 BF16 = 1 KiB
constexpr int64_t kMinTokens = 4;  // from 4 tokens on, padded 16-token tiles still beat vdpbf16ps
constexpr int64_t kStreamAhead = 256;  // bytes: see kStreamTokenBlocks

// Tiles 0-3: C (2 x 2 blocks of [weight row][token] sums); 4, 5: A (weights); 6, 7: B (tokens).
// `weight_rows` is 16 except for the last rows of a matrix whose height is not a multiple of 16.
amx::TileConfig tile_config(int weight_rows) {
    amx::TileConfig c = amx::whole_tiles();
    for (int t = 0; t < 6; ++t) c.set(t, weight_rows, 64);
    return c;
}

const MatmulPath& base() { return *x86_matmul_path(); }

// ------------------------------------------------------------------------------------------
// Activations as B tiles: tile (token block tb, column block kb) sits at (tb * n_kb + kb) * 512
// elements; its row p holds, for tokens t = 0..15, the pair x[t][32 kb + 2p], x[t][32 kb + 2p + 1].

ASCENT_AMX void convert_tiles(MatmulInput& dst, const float* x, int64_t ldx, int64_t r0, int64_t r1) {
    const int64_t n_kb = dst.in() / kTileK;
    uint16_t* base_tiles = dst.mutable_bf16_row(0);
    for (int64_t tb = r0 / kTileTokens; tb * kTileTokens < r1; ++tb) {
        for (int64_t kb = 0; kb < n_kb; ++kb) {
            __m512 v[16];  // token t's 16 pairs
            for (int64_t t = 0; t < kTileTokens; ++t) {
                const int64_t token = tb * kTileTokens + t;
                if (token >= dst.rows()) {
                    v[t] = _mm512_setzero_ps();
                    continue;
                }
                const float* p = x + token * ldx + kb * kTileK;
                const __m256i lo = _mm512_cvtepi32_epi16(round_to_bf16(_mm512_loadu_ps(p)));
                const __m256i hi = _mm512_cvtepi32_epi16(round_to_bf16(_mm512_loadu_ps(p + 16)));
                v[t] = _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
            }
            transpose16(v);
            uint16_t* tile = base_tiles + (tb * n_kb + kb) * kTileElems;
            for (int p = 0; p < 16; ++p) _mm512_store_ps(tile + p * 32, v[p]);
        }
    }
}

// ------------------------------------------------------------------------------------------
// Kernel: C tiles for weight rows [n0, n0 + 16 or 32) x tokens [16 tb, 16 tb + 16 or 32).

// Writes one C tile ([weight row][token], `rows` weight rows valid) to y[token][row].
ASCENT_AMX void store_c(const float* c, int weight_rows, int64_t tokens, const float* bias, float* y, int64_t ldy) {
    __m512 v[16];
    for (int r = 0; r < 16; ++r) v[r] = r < weight_rows ? _mm512_load_ps(c + r * 16) : _mm512_setzero_ps();
    transpose16(v);
    const __mmask16 m = first_n16(weight_rows);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias) : _mm512_setzero_ps();
    for (int64_t t = 0; t < tokens; ++t) _mm512_mask_storeu_ps(y + t * ldy, m, _mm512_add_ps(v[t], b));
}

// Runs tile columns [kb0, kb1) of one block. The C tiles start from zero (kb0 == 0) or from `acc`
// (4 x 256 floats) and end in `acc`, or in y when kb1 is the last tile column. Only with `stream`
// (see kStreamTokenBlocks) are the weights prefetched: with more tokens, prefetching the next
// panel measured slower.
template <bool kTwoRowTiles, bool kTwoTokenTiles>
ASCENT_AMX void amx_block(const uint16_t* w, int64_t in, const uint16_t* b_tiles, int64_t n_kb, int64_t kb0,
                          int64_t kb1, float* acc, int weight_rows, int64_t tokens, const float* bias, float* y,
                          int64_t ldy, bool stream) {
    if (kb0 == 0) {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    } else {
        _tile_loadd(0, acc, 64);
        if (kTwoTokenTiles) _tile_loadd(1, acc + 256, 64);
        if (kTwoRowTiles) _tile_loadd(2, acc + 512, 64);
        if (kTwoRowTiles && kTwoTokenTiles) _tile_loadd(3, acc + 768, 64);
    }
    const int64_t a_stride = in * 2;
    // Each operand tile is reloaded for the next step right after its last product of this step
    // has been issued: tiles are not renamed, so loading all four first made every step wait for
    // the previous step's products, then for its own loads (bench_amx BM_AmxStep, old and new
    // order timed in alternation: 4-9% faster; a Qwen2-0.5B layer's products, bench_layer: 1-6%).
    _tile_loadd(4, w + kb0 * kTileK, a_stride);
    _tile_loadd(6, b_tiles + kb0 * kTileElems, 64);
    if (kTwoTokenTiles) _tile_loadd(7, b_tiles + (n_kb + kb0) * kTileElems, 64);
    if (kTwoRowTiles) _tile_loadd(5, w + kTileRows * in + kb0 * kTileK, a_stride);
    for (int64_t kb = kb0; kb < kb1; ++kb) {
        const uint16_t* a = w + (kb + 1) * kTileK;  // the next step's
        const uint16_t* b = b_tiles + (kb + 1) * kTileElems;
        const bool next = kb + 1 < kb1;
        if (stream && (kb + 1) * kTileK * 2 + kStreamAhead <= a_stride)
            for (int r = 0; r < (kTwoRowTiles ? 2 * kTileRows : weight_rows); ++r)
                _mm_prefetch(reinterpret_cast<const char*>(a - kTileK + r * in) + kStreamAhead, _MM_HINT_T0);
        _tile_dpbf16ps(0, 4, 6);
        if (kTwoTokenTiles) _tile_dpbf16ps(1, 4, 7);
        if (next) _tile_loadd(4, a, a_stride);
        if (kTwoRowTiles) _tile_dpbf16ps(2, 5, 6);
        if (next) _tile_loadd(6, b, 64);
        if (kTwoRowTiles && kTwoTokenTiles) _tile_dpbf16ps(3, 5, 7);
        if (next && kTwoRowTiles) _tile_loadd(5, a + kTileRows * in, a_stride);
        if (next && kTwoTokenTiles) _tile_loadd(7, b + n_kb * kTileElems, 64);
    }
    _tile_stored(0, acc, 64);
    if (kTwoTokenTiles) _tile_stored(1, acc + 256, 64);
    if (kTwoRowTiles) _tile_stored(2, acc + 512, 64);
    if (kTwoRowTiles && kTwoTokenTiles) _tile_stored(3, acc + 768, 64);
    if (kb1 < n_kb) return;
    const int64_t t0 = std::min(tokens, kTileTokens), t1 = tokens - t0;
    store_c(acc, weight_rows, t0, bias, y, ldy);
    if (kTwoTokenTiles) store_c(acc + 256, weight_rows, t1, bias, y + kTileTokens * ldy, ldy);
    if (kTwoRowTiles) {
        const float* bias2 = bias ? bias + kTileRows : nullptr;
        store_c(acc + 512, 16, t0, bias2, y + kTileRows, ldy);
        if (kTwoTokenTiles) store_c(acc + 768, 16, t1, bias2, y + kTileTokens * ldy + kTileRows, ldy);
    }
}

// A thread's rows are done in groups of kGroupRows, each over the columns in chunks of kChunkKb
// tiles: the group's weights for one chunk (128 rows x 256 columns, 64 KiB) and the tokens' B
// tiles for it stay in cache while every token pair passes, and each block's C tiles wait in
// `acc` between chunks (tile stores and loads are exact, so the sums are the same as in one
// pass). The first version ran each 32-row panel over all columns for every token pair, and its
// weight tiles came from L2 each time. Qwen2-0.5B's layer products at 512 tokens, 2 threads,
// KVM Xeon: 1.42-1.54 TFLOP/s before, 1.64-1.82 after (96 rows: 1.64-1.71; 64: 1.46-1.50;
// chunks of 4 or 6 tiles: 1.42-1.58); packing the weight tiles contiguously as well was slower.
constexpr int64_t kGroupRows = 128;
constexpr int64_t kChunkKb = 8;
// A prompt of at most 32 tokens (one pair of token tiles) uses each weight tile once, so the
// product streams the weights as decode does and waits on memory: it runs whole rows as one chunk
// and prefetches every row 4 tiles ahead. Prefill of 32 tokens, KVM Xeon: TTFT 51-52 ms -> 43-45
// (whole rows alone 47-48, prefetch alone 49); at 64 and 128 tokens neither helped.
constexpr int64_t kStreamTokenBlocks = 2;
constexpr int64_t kBlockFloats = 4 * 256;  // the four C tiles of a block

ASCENT_AMX void amx_gemm(const MatmulInput& x, const uint16_t* w, int64_t o0, int64_t o1, const float* bias, float* y,
                         int64_t ldy) {
    const int64_t in = x.in(), rows = x.rows(), n_kb = in / kTileK;
    const int64_t token_blocks = (rows + kTileTokens - 1) / kTileTokens;
    const int64_t pairs = (token_blocks + 1) / 2;
    const bool stream = token_blocks <= kStreamTokenBlocks;
    const uint16_t* tiles = x.bf16_row(0);
    // C tiles of a group's blocks: one per 32-row panel (and the last rows' panel) and token pair.
    // Grown once per thread to the largest prefill seen, then reused.
    thread_local std::vector<float> scratch;
    float* const acc0 =
        aligned_floats(scratch, static_cast<size_t>((kGroupRows / (2 * kTileRows) + 1) * pairs * kBlockFloats));
    auto panel = [&](int64_t n0, int64_t n1, int weight_rows, int64_t kb0, int64_t kb1, float* acc) {
        for (int64_t tb = 0; tb < token_blocks; tb += 2, acc += kBlockFloats) {
            const bool two_tokens = tb + 1 < token_blocks;
            const int64_t tokens = std::min(rows - tb * kTileTokens, 2 * kTileTokens);
            const uint16_t* b = tiles + tb * n_kb * kTileElems;
            const float* bn = bias ? bias + n0 : nullptr;
            float* yb = y + tb * kTileTokens * ldy + (n0 - o0);
            const uint16_t* a = w + n0 * in;
            const auto block = [&](auto kernel) {
                kernel(a, in, b, n_kb, kb0, kb1, acc, weight_rows, tokens, bn, yb, ldy, stream);
            };
            if (n1 - n0 > kTileRows)
                two_tokens ? block(amx_block<true, true>) : block(amx_block<true, false>);
            else
                two_tokens ? block(amx_block<false, true>) : block(amx_block<false, false>);
        }
    };
    const int64_t full_end = o0 + (o1 - o0) / kTileRows * kTileRows;
    const int64_t chunk = stream ? n_kb : kChunkKb;
    for (int64_t g0 = o0; g0 < o1; g0 += kGroupRows) {
        const int64_t g1 = std::min(o1, g0 + kGroupRows);
        for (int64_t kb0 = 0; kb0 < n_kb; kb0 += chunk) {
            const int64_t kb1 = std::min(n_kb, kb0 + chunk);
            float* acc = acc0;
            const int64_t f1 = std::min(g1, full_end);
            if (f1 > g0) {
                amx::configure(tile_config(16));
                for (int64_t n0 = g0; n0 < f1; n0 += 2 * kTileRows, acc += pairs * kBlockFloats)
                    panel(n0, std::min(f1, n0 + 2 * kTileRows), 16, kb0, kb1, acc);
            }
            if (f1 < g1) {  // fewer than 16 rows left: tiles of that height
                amx::configure(tile_config(static_cast<int>(g1 - f1)));
                panel(f1, g1, static_cast<int>(g1 - f1), kb0, kb1, acc);
            }
        }
    }
    amx::release();
}

// ------------------------------------------------------------------------------------------
// The path's entry points: the AMX layout and kernel where they apply, the x86 ones elsewhere.

MatmulShape amx_shape(DType wt, int64_t rows, int64_t in) {
    if (wt == DType::BF16 && rows >= kMinTokens && in % kTileK == 0)
        return {MatmulLayout::BF16Tiles, 1, kTileK, kTileTokens};
    return base().shape(wt, rows, in);
}

void amx_convert(MatmulInput& dst, const float* x, int64_t ldx, int64_t r0, int64_t r1) {
    if (dst.layout() == MatmulLayout::BF16Tiles)
        convert_tiles(dst, x, ldx, r0, r1);
    else
        base().convert(dst, x, ldx, r0, r1);
}

void amx_rows(const MatmulInput& x, const void* w, DType wt, int64_t o0, int64_t o1, const float* bias, float* y,
              int64_t ldy) {
    if (x.layout() == MatmulLayout::BF16Tiles)
        amx_gemm(x, static_cast<const uint16_t*>(w), o0, o1, bias, y, ldy);
    else
        base().rows(x, w, wt, o0, o1, bias, y, ldy);
}

// Register-resident TDPBF16PS loop: four C tiles from two A and two B tiles.
ASCENT_AMX double amx_peak(int64_t iterations) {
    amx::configure(tile_config(16));
    alignas(64) static const uint16_t ones[512] = {};  // zeros: the values do not matter
    alignas(64) float c[256];
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, ones, 64);
    _tile_loadd(5, ones, 64);
    _tile_loadd(6, ones, 64);
    _tile_loadd(7, ones, 64);
    for (int64_t i = 0; i < iterations; ++i) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, c, 64);
    amx::release();
    volatile float sink = c[0];
    (void)sink;
    return static_cast<double>(iterations) * 4 * kTileRows * kTileTokens * kTileK * 2;
}

}  // namespace

double amx_peak_loop(int64_t iterations) { return amx_matmul_path() ? amx_peak(iterations) : 0.0; }

const MatmulPath* amx_matmul_path() {
    static const MatmulPath* path = []() -> const MatmulPath* {
        const MatmulPath* x86 = x86_matmul_path();
        if (!x86 || !amx::permitted()) return nullptr;
        static const MatmulPath amx{x86->name + "+amx", 16, amx_shape, amx_convert, amx_rows,
                                    x86->peak_loop, x86->peak_kernel, x86->read_sum};
        return &amx;
    }();
    return path;
}

}  // namespace ascent::cpu

#else  // not x86-64 Linux

namespace ascent::cpu {
const MatmulPath* amx_matmul_path() { return nullptr; }
double amx_peak_loop(int64_t) { return 0.0; }
}  // namespace ascent::cpu

#endif
