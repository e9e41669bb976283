// BF16 prefill on AVX-512 BF16 without AMX: an outer-product micro-kernel on packed weight panels.
//
// The in-place kernel of matmul_x86.cpp multiplies along `in` (x and w both contiguous there), so
// every accumulator ends as 16 partial sums that must be added horizontally, and each K block
// reloads its operands from L2: on Zen 4 it stays near 75% of the vdpbf16ps peak. Here a panel of
// 48 weight rows is first packed (per K block) so that one 64-byte vector holds the pair
// (w[o][2p], w[o][2p+1]) of 16 consecutive outputs o; the kernel then broadcasts a token's pair
// (x[2p], x[2p+1]) and each vdpbf16ps adds x[2p]w[o][2p] + x[2p+1]w[o][2p+1] into output o's lane.
// No horizontal sums, 24 accumulators (8 tokens x 48 outputs) against 3 weight loads and 8
// broadcasts per step. A block's panels of one K block are packed once into scratch of the
// calling thread and serve all its token blocks (packing per token block cost ~6% of a 2048-token
// prefill); the weights themselves stay as the file stores them.
//
// Numerics are the path's BF16 prefill numerics (matmul.h): bf16 x bf16 products, exact in f32,
// summed in f32; per output the pairs are added in order of k within a K block, K blocks in order.
#include "engine/cpu/matmul_path.h"

#if defined(__x86_64__)

#include <algorithm>
#include <array>
#include <utility>
#include <vector>
#include "engine/cpu/aligned_scratch.h"
#include "engine/cpu/matmul_avx512.h"

namespace ascent::cpu {
namespace {

using namespace avx512;

constexpr int kVecs = 3;                   // output vectors per panel
constexpr int kPanelOut = 16 * kVecs;      // outputs per panel
constexpr int kTokens = 8;                 // tokens per micro-tile
constexpr int64_t kMaxBlockK = 2048;       // elements of `in` per K block: 192 KiB per panel
constexpr int64_t kXBlockBytes = 512 * 1024;  // token rows of a block, in L2 beside the panel

// How far ahead (in lines of each row) pack_panel asks for the weights it reads next. Its 16 row
// streams are more than the hardware prefetcher follows: packing was ~9% of a 512-token layer's
// time on Zen 5, a rate of ~6.5 GB/s per thread, mostly waiting on memory. 8 lines ahead, against
// none, in alternation (12 runs of bench_layer): 16% less time at 128 tokens (11/12), 12% at 512
// (12/12), 7% at 2048 (8/12), within noise at 32; 4 lines gained less, 16 less still.
constexpr int64_t kPackAhead = 8;

// Packs weight rows [n0, n0 + nrows) (nrows <= 48), columns [k0, k0 + kc) (kc a multiple of 32;
// columns past `in` read as zero) into out[p * 48 + j] = the 32-bit pair (w[n0 + j][k0 + 2p],
// w[n0 + j][k0 + 2p + 1]); rows past nrows are zero.
ASCENT_AVX512 void pack_panel(const uint16_t* w, int64_t in, int64_t n0, int nrows, int64_t k0, int64_t kc,
                              uint32_t* out) {
    for (int j0 = 0; j0 < kPanelOut; j0 += 16) {
        for (int64_t k = 0; k < kc; k += 32) {
            const int64_t left = in - (k0 + k);
            const __mmask32 m = left >= 32 ? static_cast<__mmask32>(~0u) : left > 0 ? first_n32(left) : 0;
            // Within the row: its last element once the lookahead passes it.
            const int64_t ahead = std::min(k0 + k + 32 * kPackAhead, in - 1);
            for (int i = 0; i < 16 && j0 + i < nrows; ++i)
                _mm_prefetch(reinterpret_cast<const char*>(w + (n0 + j0 + i) * in + ahead), _MM_HINT_T0);
            __m512 r[16];
            for (int i = 0; i < 16; ++i) {
                const int j = j0 + i;
                r[i] = j < nrows ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(m, w + (n0 + j) * in + k0 + k))
                                 : _mm512_setzero_ps();
            }
            transpose16(r);  // r[p]: pair p of the 16 rows, row i in lane i
            for (int p = 0; p < 16; ++p)
                _mm512_store_ps(reinterpret_cast<float*>(out + (k / 2 + p) * kPanelOut + j0), r[p]);
        }
    }
}

struct TileArgs {
    const uint16_t* x;  // token m0's row at column k0
    int64_t x_stride;   // elements between token rows
    const uint32_t* panel;
    int64_t pairs;      // kc / 2
    const float* bias;  // at output n0, or nullptr
    bool accumulate;    // add to y (later K blocks)
    int last_valid;     // outputs of the last vector that exist (1..16)
    float* y;           // at (m0, n0)
    int64_t ldy;
};

template <int M, int N>
ASCENT_AVX512 void packed_tile(const TileArgs& a) {
    __m512 acc[M][N];
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) acc[m][n] = _mm512_setzero_ps();
    const uint16_t* x = a.x;
    const uint32_t* panel = a.panel;
    for (int64_t p = 0; p < a.pairs; ++p, panel += kPanelOut) {
        __m512i wv[N];
        for (int n = 0; n < N; ++n) wv[n] = _mm512_load_si512(panel + 16 * n);
        for (int m = 0; m < M; ++m) {
            const __m512i xb = _mm512_set1_epi32(static_cast<int>(*reinterpret_cast<const __attribute__((may_alias)) uint32_t*>(x + m * a.x_stride + 2 * p)));
            for (int n = 0; n < N; ++n)
                acc[m][n] = _mm512_dpbf16_ps(acc[m][n], reinterpret_cast<__m512bh>(xb), reinterpret_cast<__m512bh>(wv[n]));
        }
    }
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
            const __mmask16 mask = n == N - 1 ? first_n16(a.last_valid) : static_cast<__mmask16>(0xFFFF);
            float* y = a.y + m * a.ldy + 16 * n;
            __m512 v = acc[m][n];
            if (a.accumulate)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, y));
            else if (a.bias)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, a.bias + 16 * n));
            _mm512_mask_storeu_ps(y, mask, v);
        }
}

using TileFn = void (*)(const TileArgs&);

template <int M, std::size_t... N>
constexpr std::array<TileFn, sizeof...(N)> tile_row(std::index_sequence<N...>) {
    return {packed_tile<M, static_cast<int>(N) + 1>...};
}
template <std::size_t... M>
constexpr std::array<std::array<TileFn, kVecs>, sizeof...(M)> tile_table(std::index_sequence<M...>) {
    return {tile_row<static_cast<int>(M) + 1>(std::make_index_sequence<kVecs>())...};
}
TileFn pick_tile(int m, int n) {
    static constexpr auto table = tile_table(std::make_index_sequence<kTokens>());
    return table[static_cast<size_t>(m - 1)][static_cast<size_t>(n - 1)];
}

// The calling thread's panel buffer, 64-byte aligned, grown to the largest panel seen.
uint32_t* panel_scratch(size_t words) {
    thread_local std::vector<uint32_t> buffer;
    return aligned_elements(buffer, words);
}

}  // namespace

void x86_gemm_bf16_packed(const MatmulInput& x, const uint16_t* w, int64_t o0, int64_t o1, const float* bias,
                          float* y, int64_t ldy) {
    const int64_t rows = x.rows(), in = x.in(), xs = x.stride();
    const auto* xbase = static_cast<const uint16_t*>(x.data());
    // x rows are zero-padded to a multiple of 32 elements: K blocks of equal size up to there.
    const int64_t padded = (in + 31) / 32 * 32;
    const int64_t n_kblocks = (padded + kMaxBlockK - 1) / kMaxBlockK;
    const int64_t kc = ((padded + n_kblocks - 1) / n_kblocks + 31) / 32 * 32;
    const int64_t mc = std::max<int64_t>(kTokens, kXBlockBytes / (kc * 2) / kTokens * kTokens);
    // The block's output vectors spread evenly over its panels (112 outputs: 3 + 2 + 2 vectors, not
    // 3 + 3 + 1), since a one-vector tile does 8 multiply-adds per 9 loads.
    const int64_t vectors = (o1 - o0 + 15) / 16;
    const int64_t n_panels = (vectors + kVecs - 1) / kVecs;
    const int64_t panel_words = kc / 2 * kPanelOut;
    // All the block's panels of one K block are packed once and serve every token block.
    uint32_t* panels = panel_scratch(static_cast<size_t>(n_panels * panel_words));
    TileArgs a{};
    a.x_stride = xs;
    a.ldy = ldy;
    for (int64_t k0 = 0; k0 < padded; k0 += kc) {
        const int64_t kb = std::min(kc, padded - k0);
        int64_t n0 = o0;
        for (int64_t panel_index = 0; panel_index < n_panels; ++panel_index) {
            const int vecs = static_cast<int>(vectors / n_panels + (panel_index < vectors % n_panels ? 1 : 0));
            const int nrows = static_cast<int>(std::min<int64_t>(16 * vecs, o1 - n0));
            pack_panel(w, in, n0, nrows, k0, kb, panels + panel_index * panel_words);
            n0 += nrows;
        }
        a.pairs = kb / 2;
        a.accumulate = k0 > 0;
        for (int64_t m_block = 0; m_block < rows; m_block += mc) {
            const int64_t m_end = std::min(rows, m_block + mc);
            n0 = o0;
            for (int64_t panel_index = 0; panel_index < n_panels; ++panel_index) {
                const int vecs = static_cast<int>(vectors / n_panels + (panel_index < vectors % n_panels ? 1 : 0));
                const int nrows = static_cast<int>(std::min<int64_t>(16 * vecs, o1 - n0));
                a.last_valid = nrows - 16 * (vecs - 1);
                a.bias = bias ? bias + n0 : nullptr;
                a.panel = panels + panel_index * panel_words;
                const TileFn full = pick_tile(kTokens, vecs);
                for (int64_t m0 = m_block; m0 < m_end; m0 += kTokens) {
                    const int mm = static_cast<int>(std::min<int64_t>(kTokens, m_end - m0));
                    a.x = xbase + m0 * xs + k0;
                    a.y = y + m0 * ldy + (n0 - o0);
                    (mm == kTokens ? full : pick_tile(mm, vecs))(a);
                }
                n0 += nrows;
            }
        }
    }
}

}  // namespace ascent::cpu

#endif  // __x86_64__
