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
constexpr int64_t kBlockFloats = 4 * 256;  // the four C tiles of a block
constexpr int64_t kPageBytes = 4096;

// The weights a panel prefetches (see kStreamTokenBlocks and kChunkKb).
struct PanelFetch {
    bool rows = false;  // its own rows, kStreamAhead bytes ahead, during the first token pair
    // Lines [first, first + lines) of weights that run after it, spread over its steps: a block
    // whose weight rows are runs of `run_lines` cache lines from `next` on.
    const char* next = nullptr;
    int64_t run_lines = 1, first = 0, lines = 0;
};

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

// 16 floats rounded to BF16, as 8 pairs.
ASCENT_AMX __m256i bf16_pairs(const float* p) { return _mm512_cvtepi32_epi16(round_to_bf16(_mm512_loadu_ps(p))); }

// Tokens [16 tb0, 16 tb1) x columns [c0, c1) (multiples of 16) into their tiles, padding tokens
// past dst.rows() with zeros; column c0 + j of token r is x[r * ldx + j]. A tile whose columns
// are only half in the range gets only its 8 rows of pairs for that half.
ASCENT_AMX void convert_tile_block(MatmulInput& dst, const float* x, int64_t ldx, int64_t tb0, int64_t tb1, int64_t c0,
                                   int64_t c1) {
    const int64_t n_kb = dst.in() / kTileK;
    uint16_t* base_tiles = dst.mutable_bf16_row(0);
    for (int64_t tb = tb0; tb < tb1; ++tb) {
        for (int64_t kb = c0 / kTileK; kb * kTileK < c1; ++kb) {
            const int64_t lo = std::max(c0, kb * kTileK), hi = std::min(c1, (kb + 1) * kTileK);
            const bool low_half = lo == kb * kTileK, high_half = hi == (kb + 1) * kTileK;
            __m512 v[16];  // token t's 16 pairs
            for (int64_t t = 0; t < kTileTokens; ++t) {
                const int64_t token = tb * kTileTokens + t;
                if (token >= dst.rows()) {
                    v[t] = _mm512_setzero_ps();
                    continue;
                }
                const float* p = x + token * ldx + (kb * kTileK - c0);
                const __m256i l = low_half ? bf16_pairs(p) : _mm256_setzero_si256();
                const __m256i h = high_half ? bf16_pairs(p + 16) : _mm256_setzero_si256();
                v[t] = _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castsi256_si512(l), h, 1));
            }
            transpose16(v);
            uint16_t* tile = base_tiles + (tb * n_kb + kb) * kTileElems;
            for (int p = low_half ? 0 : 8; p < (high_half ? 16 : 8); ++p) _mm512_store_ps(tile + p * 32, v[p]);
        }
    }
}

void convert_tiles(MatmulInput& dst, const float* x, int64_t ldx, int64_t r0, int64_t r1) {
    convert_tile_block(dst, x, ldx, r0 / kTileTokens, (r1 + kTileTokens - 1) / kTileTokens, 0, dst.in());
}

void amx_convert_columns(MatmulInput& dst, const float* x, int64_t ldx, int64_t c0, int64_t c1) {
    if (dst.layout() == MatmulLayout::BF16Tiles)
        convert_tile_block(dst, x, ldx, 0, (dst.rows() + kTileTokens - 1) / kTileTokens, c0, c1);
    else
        base().convert_columns(dst, x, ldx, c0, c1);
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

// Writes a finished block's C tiles to y: `c` holds C0 (rows 0-15 x token block tb), C1 (x tb + 1),
// C2 and C3 (rows 16-31), 256 floats each; `tokens` is the product's token count.
template <bool kTwoRowTiles>
ASCENT_AMX void block_to_y(const float* c, int64_t tb, int64_t tokens, int weight_rows, const float* bias, float* y,
                           int64_t ldy) {
    const int64_t t0 = std::min(tokens - tb * kTileTokens, kTileTokens);
    const int64_t t1 = std::min(tokens - tb * kTileTokens, 2 * kTileTokens) - t0;
    float* yb = y + tb * kTileTokens * ldy;
    store_c(c, weight_rows, t0, bias, yb, ldy);
    if (t1 > 0) store_c(c + 256, weight_rows, t1, bias, yb + kTileTokens * ldy, ldy);
    if (kTwoRowTiles) {
        const float* bias2 = bias ? bias + kTileRows : nullptr;
        store_c(c + 512, 16, t0, bias2, yb + kTileRows, ldy);
        if (t1 > 0) store_c(c + 768, 16, t1, bias2, yb + kTileTokens * ldy + kTileRows, ldy);
    }
}

// One panel of 16 or 32 weight rows (`a`, row 0 of the panel) over tile columns [kb0, kb1) against
// every token pair in turn, each pair a block of up to four C tiles that start from zero (kb0 == 0)
// or from the block's `acc` and end there, and in y after the last column. Tiles are not renamed:
// a load waits for the products still reading its tile, and C cannot be stored before its last
// product is done. So every operand is reloaded right after its last product of the step (for
// the next step, or after the block's last step for the next block's first), and a finished
// block's transposed store into y is issued behind the next block's first products, where it
// overlaps them instead of waiting between the two. `fetch` says which weights it prefetches
// (see kStreamTokenBlocks and kChunkKb).
// A Qwen2-0.5B layer's products (bench_layer, 2 threads, old and new kernel in alternation):
// 9-15% faster from 128 tokens on than with each block loading its operands first and storing
// into y before the next began (72-100% of the pairs won), 1% at 32.
template <bool kTwoRowTiles>
ASCENT_AMX void amx_panel(const uint16_t* a, int64_t in, const uint16_t* tiles, int64_t n_kb, int64_t token_blocks,
                          int64_t tokens, int64_t kb0, int64_t kb1, float* acc, int weight_rows, const float* bias,
                          float* y, int64_t ldy, const PanelFetch& fetch) {
    const int64_t a_stride = in * 2;
    const int64_t steps = (token_blocks + 1) / 2 * (kb1 - kb0);
    const int64_t next_per_step = (fetch.lines + steps - 1) / steps;
    int64_t next_left = fetch.lines;
    const char* next_run = fetch.next + fetch.first / fetch.run_lines * a_stride;
    int64_t next_line = fetch.first % fetch.run_lines;
    const auto b_at = [&](int64_t tb, int64_t kb) { return tiles + (tb * n_kb + kb) * kTileElems; };
    const auto start_c = [&](const float* c, bool two_tokens) {
        if (kb0 == 0) {
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            return;
        }
        _tile_loadd(0, c, 64);
        if (two_tokens) _tile_loadd(1, c + 256, 64);
        if (kTwoRowTiles) _tile_loadd(2, c + 512, 64);
        if (kTwoRowTiles && two_tokens) _tile_loadd(3, c + 768, 64);
    };
    _tile_loadd(4, a + kb0 * kTileK, a_stride);
    _tile_loadd(6, b_at(0, kb0), 64);
    if (token_blocks > 1) _tile_loadd(7, b_at(1, kb0), 64);
    if (kTwoRowTiles) _tile_loadd(5, a + kTileRows * in + kb0 * kTileK, a_stride);
    start_c(acc, token_blocks > 1);
    const float* done = nullptr;  // a finished block whose store into y is still to be issued
    int64_t done_tb = 0;
    for (int64_t tb = 0; tb < token_blocks; tb += 2, acc += kBlockFloats) {
        const bool two = tb + 1 < token_blocks;
        const int64_t next_tb = tb + 2;
        for (int64_t kb = kb0; kb < kb1; ++kb) {
            const bool same_block = kb + 1 < kb1;
            const bool load = same_block || next_tb < token_blocks;
            const bool load7 = same_block ? two : next_tb + 1 < token_blocks;
            const uint16_t* an = a + (same_block ? kb + 1 : kb0) * kTileK;
            const uint16_t* bn = same_block ? b_at(tb, kb + 1) : b_at(next_tb, kb0);
            if (fetch.rows && tb == 0 && (kb + 1) * kTileK * 2 + kStreamAhead <= a_stride)
                for (int r = 0; r < (kTwoRowTiles ? 2 * kTileRows : weight_rows); ++r)
                    _mm_prefetch(reinterpret_cast<const char*>(a + kb * kTileK + r * in) + kStreamAhead, _MM_HINT_T0);
            for (int64_t i = 0; i < next_per_step && next_left > 0; ++i, --next_left) {
                _mm_prefetch(next_run + next_line * 64, _MM_HINT_T2);
                if (++next_line == fetch.run_lines) {
                    next_line = 0;
                    next_run += a_stride;
                }
            }
            _tile_dpbf16ps(0, 4, 6);
            if (two) _tile_dpbf16ps(1, 4, 7);
            if (load) _tile_loadd(4, an, a_stride);
            if (kTwoRowTiles) _tile_dpbf16ps(2, 5, 6);
            if (load) _tile_loadd(6, bn, 64);
            if (kTwoRowTiles && two) _tile_dpbf16ps(3, 5, 7);
            if (load && kTwoRowTiles) _tile_loadd(5, an + kTileRows * in, a_stride);
            if (load && load7) _tile_loadd(7, bn + n_kb * kTileElems, 64);
            if (done) {
                block_to_y<kTwoRowTiles>(done, done_tb, tokens, weight_rows, bias, y, ldy);
                done = nullptr;
            }
        }
        _tile_stored(0, acc, 64);
        if (two) _tile_stored(1, acc + 256, 64);
        if (kTwoRowTiles) _tile_stored(2, acc + 512, 64);
        if (kTwoRowTiles && two) _tile_stored(3, acc + 768, 64);
        if (next_tb < token_blocks) start_c(acc + kBlockFloats, next_tb + 1 < token_blocks);
        if (kb1 == n_kb) {
            done = acc;
            done_tb = tb;
        }
    }
    if (done) block_to_y<kTwoRowTiles>(done, done_tb, tokens, weight_rows, bias, y, ldy);
}

// A thread's rows are done in groups of kGroupRows, each over the columns in chunks of kChunkKb
// tiles: the group's weights for one chunk (128 rows x 256 columns, 64 KiB) and the tokens' B
// tiles for it stay in cache while every token pair passes, and each block's C tiles wait in
// `acc` between chunks (tile stores and loads are exact, so the sums are the same as in one
// pass). The first version ran each 32-row panel over all columns for every token pair, and its
// weight tiles came from L2 each time. Qwen2-0.5B's layer products at 512 tokens, 2 threads,
// KVM Xeon: 1.42-1.54 TFLOP/s before, 1.64-1.82 after (96 rows: 1.64-1.71; 64: 1.46-1.50;
// chunks of 4 or 6 tiles: 1.42-1.58); packing the weight tiles contiguously as well was slower.
// With the pipelined panels (amx_panel), 8 tiles still measured best: chunks of 4, 6, 10, 14 or
// 28 were 0-8% slower at 128 and 512 tokens (in alternation with 8; at 2048 within +-3%), and
// for down's 152 tiles, chunks of 12, 16 or 19 were 0.6-4.5% slower on that product.
// A chunk's rows are runs of 512 bytes, too short for the hardware's page-wise streamer to follow
// (see kStreamTokenBlocks), so each chunk prefetches the next one (the group's next columns, or
// the next group's first) into L2, a slice in each of its panels. A Qwen2-0.5B MLP over 24 layers'
// weights, old and new code in alternation: prefetching only the next group's whole rows where
// they are shorter than a page was 3-6% faster at 208-320 tokens than no prefetch (8-10 of 12
// pairs won), even at 384-1024; the next chunk for every matrix, against that, 5% faster at 256
// (9/12), 1% at 384 and 512 (9/12, 10/16), within the noise at 1024 and 2048.
constexpr int64_t kGroupRows = 128;
constexpr int64_t kChunkKb = 8;
// A prompt of up to 192 tokens (at most 6 pairs of token tiles) does too little work per weight
// for the tiles to hide memory: the product streams the weights as decode does, running whole
// rows as one chunk, and prefetches them during the first token pair (the later pairs find the
// panel in L2). Figures: KVM Xeon, 2 threads, a Qwen2-0.5B MLP over 24 layers' weights (627 MB,
// more than the L3), old and new code in alternation, share of pairs won in brackets.
//  - Whole rows, each prefetched 4 tiles (256 bytes) ahead, against 256-column chunks: 15-28%
//    faster at 64 tokens (15/16 to 20/20; whole rows without the prefetch, 15%), 8-13% at 128.
//    128 bytes ahead was even with 256; 512 and 1024 bytes, 6-11% slower. (An earlier test that
//    found nothing at 64 and 128 tokens ran on weights that fit in the L3.)
//  - Prefetching in the first token pair only: 3-6% faster at 64 and 128 tokens (14-15/16).
//  - Rows shorter than a page (Qwen2-0.5B's 896 columns, 1792 bytes): a panel is then 32 short
//    runs over a few pages, which the hardware's page-wise streamer does not follow, and 32 rows'
//    prefetches into L1 queue on its few fill buffers (each thread took in weights at 8 of its
//    16 GB/s). So each panel instead prefetches the next one front to back into L2, a few lines
//    per step: gate/up 9-17% faster at 64 and 128 tokens (12/12), the MLP 5% at 32 tokens
//    (12/12), 4-16% at 64-128 (9/12 to 16/16). Down's long rows (9728 bytes) the hardware
//    follows; there the next-panel prefetch was 2-7% slower, and a burst of it before each panel
//    11-31% slower anywhere.
//  - Streaming up to 192 tokens instead of 128 then: 6-12% faster at 144-192 (11/12 to 12/12),
//    even at 224 and 5% slower at 256.
constexpr int64_t kStreamTokenBlocks = 12;

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
    // The weights this thread runs next, prefetched into L2 a slice in each panel before them (see
    // kStreamTokenBlocks and kChunkKb): rows [r0, r1) x tile columns [c0, c1).
    const bool short_rows = in * 2 < kPageBytes;
    PanelFetch ahead;  // all of them; `first` counts the lines handed out
    int64_t ahead_slice = 0;  // lines per panel
    const auto fetch_during = [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1, int64_t panels) {
        r1 = std::min(r1, o1);  // never past this call's rows, so never past the matrix
        ahead.next = reinterpret_cast<const char*>(w + r0 * in + c0 * kTileK);
        ahead.run_lines = (c1 - c0) * kTileK * 2 / 64;
        ahead.first = 0;
        ahead.lines = std::max<int64_t>(0, r1 - r0) * ahead.run_lines;
        ahead_slice = (ahead.lines + panels - 1) / panels;
    };
    auto panel = [&](int64_t n0, int64_t n1, int weight_rows, int64_t kb0, int64_t kb1, float* acc) {
        const float* bn = bias ? bias + n0 : nullptr;
        PanelFetch fetch;
        if (stream) {
            fetch.rows = !short_rows || n0 == o0;  // the others' rows came with the panel before
            if (short_rows) fetch_during(n1, n1 + 2 * kTileRows, 0, n_kb, 1);
        }
        if (ahead.first < ahead.lines) {
            fetch = {fetch.rows, ahead.next, ahead.run_lines, ahead.first,
                     std::min(ahead_slice, ahead.lines - ahead.first)};
            ahead.first += fetch.lines;
        }
        if (n1 - n0 > kTileRows)
            amx_panel<true>(w + n0 * in, in, tiles, n_kb, token_blocks, rows, kb0, kb1, acc, weight_rows, bn,
                            y + (n0 - o0), ldy, fetch);
        else
            amx_panel<false>(w + n0 * in, in, tiles, n_kb, token_blocks, rows, kb0, kb1, acc, weight_rows, bn,
                             y + (n0 - o0), ldy, fetch);
    };
    const int64_t full_end = o0 + (o1 - o0) / kTileRows * kTileRows;
    const int64_t chunk = stream ? n_kb : kChunkKb;
    for (int64_t g0 = o0; g0 < o1; g0 += kGroupRows) {
        const int64_t g1 = std::min(o1, g0 + kGroupRows);
        for (int64_t kb0 = 0; kb0 < n_kb; kb0 += chunk) {
            const int64_t kb1 = std::min(n_kb, kb0 + chunk);
            float* acc = acc0;
            if (!stream) {  // the group's next chunk, or the next group's first
                const int64_t panels = (g1 - g0 + 2 * kTileRows - 1) / (2 * kTileRows);
                if (kb1 < n_kb)
                    fetch_during(g0, g1, kb1, std::min(n_kb, kb1 + chunk), panels);
                else
                    fetch_during(g1, g1 + kGroupRows, 0, std::min(n_kb, chunk), panels);
            }
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
        return {MatmulLayout::BF16Tiles, kTileK, kTileTokens};
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
        static const MatmulPath amx{x86->name + "+amx", 16, amx_shape, amx_convert, amx_convert_columns, amx_rows,
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
