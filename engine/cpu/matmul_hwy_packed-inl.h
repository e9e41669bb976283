// BF16 prefill of the Highway path: an outer-product micro-kernel on packed weight panels, as the
// x86 path does without AMX (matmul_x86_packed.cpp), for the CPUs without BF16 dot products.
//
// The in-place tile of matmul_hwy.cpp multiplies along `in`, so a tile of 4 tokens x 4 rows holds
// 16 sums, 8 token halves and 2 weight halves: on AVX2's 16 registers it spills, and it reached
// about 40% of Zen 3's multiply-add peak. Here the weight rows of a panel are first packed, per K
// block, so that one vector holds the BF16 pairs (w[o][2p], w[o][2p+1]) of consecutive outputs o;
// a step splits each such vector into its even and odd halves (exact f32), broadcasts a token's
// x[2p] and x[2p+1], and adds both products into output o's lane. No horizontal sums; per pair
// step 4 tokens x kPackedVecs vectors x 2 multiply-adds against kPackedVecs weight loads and 8
// broadcasts. The K block's panels of a thread's block are packed once and serve all its tokens;
// the weights themselves stay as the file stores them.
//
// Numerics are the path's BF16 numerics (matmul.h): x comes rounded to BF16 (as f32, the
// BF16InF32 layout, so a broadcast is one load), every product is exact in f32, and per output the
// products are added in order of k within a K block, K blocks in order. The K blocks depend only
// on `in` and the target, so the sums do not depend on how the outputs are split.
//
// Included by matmul_hwy.cpp once per target (foreach_target), hence the toggled guard.
#if defined(ASCENT_CPU_MATMUL_HWY_PACKED_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ASCENT_CPU_MATMUL_HWY_PACKED_INL_H_
#undef ASCENT_CPU_MATMUL_HWY_PACKED_INL_H_
#else
#define ASCENT_CPU_MATMUL_HWY_PACKED_INL_H_
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>
#include "engine/cpu/aligned_scratch.h"
#include "engine/cpu/banks_hwy-inl.h"
#include "engine/cpu/matmul.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace ascent::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Vectors of outputs per panel. In 16 vector registers, 2 vectors take 8 sums, 4 weight halves
// and 2 broadcasts; in 32, 3 vectors take 20.
constexpr int kPackedVecs = kSixteenVectorRegisters ? 2 : 3;
constexpr int kPackedTokens = kBankSize;    // tokens per micro-tile
constexpr int64_t kPanelBytes = 16 * 1024;  // a panel's K block stays in L1 beside the tokens
constexpr int64_t kPackedXBytes = 256 * 1024;  // the token rows of a block stay in L2

// Pairs [p0, p1) of row `row` (k0 already applied) into column j of the panel.
HWY_INLINE void PackColumn(const uint16_t* row, int64_t p0, int64_t p1, int64_t width, uint32_t* column) {
    for (int64_t p = p0; p < p1; ++p) std::memcpy(column + p * width, row + 2 * p, sizeof(uint32_t));
}

// A K block of a row is short (at most kPanelBytes / width pairs: 896 bytes on AVX2), too short
// for the hardware prefetchers to reach ahead, so packing all panels of a K block waited for
// memory: with 8 layers of Qwen2-0.5B's products on Zen 3 (2 threads, weights on large pages),
// packing took 20-25% of a 32-token product but only 5% when its rows were already in cache.
// Prefetching each line 8 rows ahead took 3-10% off 24-512-token products (6-8 alternating
// passes; 4 rows ahead did as well, 12 rows less), and whole `ascent bench latency` prefills of
// 32, 128 and 512 tokens reached a larger share of the peak in 9 of 9 alternating runs. Past a
// panel they are the next panel's rows; past the matrix, harmless (a prefetch never faults).
constexpr int64_t kPackAheadRows = 8;

#if HWY_TARGET != HWY_SCALAR
template <class D>
constexpr int kGroupRows = static_cast<int>(hn::MaxLanes(D()));  // 4 per 128-bit block of words

// Pairs [0, whole) of the rows r[0], r[1], ... (k0 applied) into columns 0, 1, ... at `out`, four
// rows per 128-bit block of D: 4 x 4 transposes of words within each block. On 256-bit vectors,
// rows i and i + 4 share a vector, one per block, and the transposes leave pair p + i of all eight
// rows in one vector: half the shuffles and stores of two groups of four (with 4 layers of
// Qwen2-0.5B's products on Zen 3, 2 threads: 1.2% less time at 24-64 tokens on average, six runs
// from 2.0% less to 0.6% more, 85 of 120 alternating passes won; within noise at 128 and 512).
// Returns the first pair left to the caller.
template <class D>
HWY_INLINE int64_t PackGroup(D d, const uint16_t* const* r, int64_t whole, int64_t width, int64_t ahead,
                             uint32_t* out) {
    constexpr int kRows = kGroupRows<D>;
    const hn::Full128<uint32_t> d4;
    const hn::Repartition<uint64_t, D> d64;
    int64_t p = 0;
    for (; p + 4 <= whole; p += 4) {
        if (p % 16 == 0) {  // a cache line of each row: prefetch the same line `ahead` elements on
            for (int i = 0; i < kRows; ++i) __builtin_prefetch(r[i] + ahead + 2 * p, 0, 2);
        }
        const auto load = [&](int i) {
            const auto at = [&](const uint16_t* row) { return hn::LoadU(d4, reinterpret_cast<const uint32_t*>(row + 2 * p)); };
            if constexpr (kRows == 8) {
                return hn::Combine(d, at(r[i + 4]), at(r[i]));
            } else {
                return at(r[i]);
            }
        };
        const auto a0 = load(0), a1 = load(1), a2 = load(2), a3 = load(3);
        // Rows 0-1 and 2-3 interleaved by words, then by double words: vector i is pair p + i.
        const auto lo01 = hn::BitCast(d64, hn::InterleaveLower(d, a0, a1));
        const auto lo23 = hn::BitCast(d64, hn::InterleaveLower(d, a2, a3));
        const auto hi01 = hn::BitCast(d64, hn::InterleaveUpper(d, a0, a1));
        const auto hi23 = hn::BitCast(d64, hn::InterleaveUpper(d, a2, a3));
        uint32_t* o = out + p * width;
        hn::StoreU(hn::BitCast(d, hn::InterleaveLower(d64, lo01, lo23)), d, o);
        hn::StoreU(hn::BitCast(d, hn::InterleaveUpper(d64, lo01, lo23)), d, o + width);
        hn::StoreU(hn::BitCast(d, hn::InterleaveLower(d64, hi01, hi23)), d, o + 2 * width);
        hn::StoreU(hn::BitCast(d, hn::InterleaveUpper(d64, hi01, hi23)), d, o + 3 * width);
    }
    return p;
}
#endif

// out[p * width + j] = the pair (w[n0 + j][k0 + 2p], w[n0 + j][k0 + 2p + 1]) as one 32-bit word
// (even element in the low half), for p < pairs and j < nrows; columns past `in` and rows past
// nrows read as zero. Rows go by groups (PackGroup): on Zen 3 a word at a time took a third of a
// 32-token prefill's products. Each line read is prefetched again `ahead_rows` rows on.
HWY_INLINE void PackPanel(const uint16_t* w, int64_t in, int64_t n0, int64_t nrows, int64_t width, int64_t k0,
                          int64_t pairs, uint32_t* out, [[maybe_unused]] int64_t ahead_rows) {
    const int64_t whole = std::clamp<int64_t>((in - k0) / 2, 0, pairs);  // pairs entirely inside the row
    const auto row_of = [&](int64_t j) { return w + (n0 + j) * in + k0; };
    int64_t j = 0;
#if HWY_TARGET != HWY_SCALAR
    const auto pack_groups = [&](auto d) {  // rows from j on, as many whole groups as there are
        constexpr int kRows = kGroupRows<decltype(d)>;
        for (; j + kRows <= nrows; j += kRows) {
            const uint16_t* r[kRows];
            for (int i = 0; i < kRows; ++i) r[i] = row_of(j + i);
            const int64_t p = PackGroup(d, r, whole, width, ahead_rows * in, out + j);
            for (int i = 0; i < kRows; ++i) PackColumn(r[i], p, whole, width, out + j + i);
        }
    };
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
    pack_groups(hn::Full256<uint32_t>());
#endif
    pack_groups(hn::Full128<uint32_t>());
#endif
    for (; j < nrows; ++j) PackColumn(row_of(j), 0, whole, width, out + j);
    for (j = 0; j < width; ++j) {
        uint32_t* o = out + j;
        const uint16_t* row = j < nrows ? row_of(j) : nullptr;
        for (int64_t p = j < nrows ? whole : 0; p < pairs; ++p) {
            const uint16_t pair[2] = {row && k0 + 2 * p < in ? row[2 * p] : uint16_t{0}, 0};
            std::memcpy(o + p * width, pair, sizeof(pair));
        }
    }
}

struct PackedTileArgs {
    const float* x;  // token m0's row at column k0 (BF16InF32)
    int64_t x_stride;
    const uint32_t* panel;
    int64_t pairs;
    const float* bias;  // at output n0, or nullptr
    bool accumulate;    // add to y (later K blocks)
    int64_t valid;      // outputs of the panel that exist
    float* y;           // at (m0, n0)
    int64_t ldy;
};

// y[m][n] (+)= v, for the outputs n < valid of the vector that starts at output n0.
HWY_INLINE void StoreOutputs(hn::ScalableTag<float> df, hn::Vec<hn::ScalableTag<float>> v, const PackedTileArgs& a,
                             int m, int64_t n0) {
    const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
    const int64_t n = std::min(a.valid - n0, lanes);
    if (n <= 0) return;
    float* y = a.y + m * a.ldy + n0;
    const float* add = a.accumulate ? y : a.bias ? a.bias + n0 : nullptr;
    if (n == lanes) {
        if (add) v = hn::Add(v, hn::LoadU(df, add));
        hn::StoreU(v, df, y);
    } else {  // through a buffer: the masked loads and stores of some targets touch the whole vector
        HWY_ALIGN float buf[hn::MaxLanes(hn::ScalableTag<float>())];
        if (add) {
            std::memcpy(buf, add, static_cast<size_t>(n) * sizeof(float));
            v = hn::Add(v, hn::Load(df, buf));
        }
        hn::Store(v, df, buf);
        std::memcpy(y, buf, static_cast<size_t>(n) * sizeof(float));
    }
}

// The lines of y that a tile of M tokens x `width` outputs ends by writing (and, past the first K
// block, by reading), fetched as it starts: a product's outputs are mostly not in cache when its
// tiles reach them (nor, in the many-token order, a token block's outputs when the next K block
// does), and each tile's end waited for them. With 4 layers of Qwen2-0.5B's products on Zen 3 (2
// threads, 8 alternating passes), 3.8-5.7% less time at 64 tokens, 0.5-5.8% at 128 and 0.5-3.0%
// at 512 (three runs each, all won); within noise at 24. The first and last of the panel's valid
// outputs, so every address is inside y.
template <int M>
HWY_INLINE void PrefetchOutputs(const PackedTileArgs& a) {
    for (int m = 0; m < M; ++m) {
        __builtin_prefetch(a.y + m * a.ldy, 1, 3);
        __builtin_prefetch(a.y + m * a.ldy + a.valid - 1, 1, 3);
    }
}

template <int M>
HWY_INLINE void PackedTile(const PackedTileArgs& a) {
    using DF = hn::ScalableTag<float>;
    using VF = hn::Vec<DF>;
    const DF df;
    const hn::RebindToUnsigned<DF> du;
    const int64_t lanes = static_cast<int64_t>(hn::Lanes(df)), width = kPackedVecs * lanes;
    // a<m>, b<m>, c<m>: token m's sums of the panel's first, second and third vector.
    VF a0 = hn::Zero(df), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, c0 = a0, c1 = a0, c2 = a0,
       c3 = a0;
    const auto high = hn::Set(du, 0xFFFF0000u);
    const auto split = [&](const uint32_t* p, VF& even, VF& odd) ASCENT_BANK_LAMBDA {
        const auto v = hn::Load(du, p);
        even = hn::BitCast(df, hn::ShiftLeft<16>(v));
        odd = hn::BitCast(df, hn::And(v, high));
    };
    PrefetchOutputs<M>(a);
    const uint32_t* panel = a.panel;
    const float* x = a.x;
    const int64_t xs = a.x_stride;
    for (int64_t p = 0; p < a.pairs; ++p, panel += width, x += 2) {
        VF e0, o0, e1, o1;
        split(panel, e0, o0);
        split(panel + lanes, e1, o1);
        if constexpr (kPackedVecs == 2) {
            Each<M>(
                [&](int m, VF& s0, VF& s1) ASCENT_BANK_LAMBDA {
                    const VF xe = hn::Set(df, x[m * xs]), xo = hn::Set(df, x[m * xs + 1]);
                    s0 = hn::MulAdd(e0, xe, s0);
                    s1 = hn::MulAdd(e1, xe, s1);
                    s0 = hn::MulAdd(o0, xo, s0);
                    s1 = hn::MulAdd(o1, xo, s1);
                },
                a0, a1, a2, a3, b0, b1, b2, b3);
        } else {
            VF e2, o2;
            split(panel + 2 * lanes, e2, o2);
            Each<M>(
                [&](int m, VF& s0, VF& s1, VF& s2) ASCENT_BANK_LAMBDA {
                    const VF xe = hn::Set(df, x[m * xs]), xo = hn::Set(df, x[m * xs + 1]);
                    s0 = hn::MulAdd(e0, xe, s0);
                    s1 = hn::MulAdd(e1, xe, s1);
                    s2 = hn::MulAdd(e2, xe, s2);
                    s0 = hn::MulAdd(o0, xo, s0);
                    s1 = hn::MulAdd(o1, xo, s1);
                    s2 = hn::MulAdd(o2, xo, s2);
                },
                a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3);
        }
    }
    Each<M>(
        [&](int m, VF& s0, VF& s1, VF& s2) ASCENT_BANK_LAMBDA {
            StoreOutputs(df, s0, a, m, 0);
            StoreOutputs(df, s1, a, m, lanes);
            if (kPackedVecs == 3) StoreOutputs(df, s2, a, m, 2 * lanes);
        },
        a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3);
}

// The tiles of tokens [m_begin, m_end) on one packed K block (k0 = its first column) of a panel.
HWY_INLINE void PanelTiles(PackedTileArgs& a, const MatmulInput& x, int64_t k0, int64_t m_begin, int64_t m_end,
                           float* y_panel) {
    for (int64_t m0 = m_begin; m0 < m_end; m0 += kPackedTokens) {
        a.x = x.f32_row(m0) + k0;
        a.y = y_panel + m0 * a.ldy;
        switch (std::min<int64_t>(kPackedTokens, m_end - m0)) {
            case 1: PackedTile<1>(a); break;
            case 2: PackedTile<2>(a); break;
            case 3: PackedTile<3>(a); break;
            default: PackedTile<4>(a); break;
        }
    }
}

// y[r][o - o0] = x[r] . w[o] (+ bias[o]) for every token r and o in [o0, o1); x in BF16InF32.
HWY_INLINE void PackedRowsBF16(const MatmulInput& x, const uint16_t* w, int64_t o0, int64_t o1, const float* bias,
                               float* y, int64_t ldy) {
    const hn::ScalableTag<float> df;
    const int64_t rows = x.rows(), in = x.in();
    const int64_t width = kPackedVecs * static_cast<int64_t>(hn::Lanes(df));
    // K blocks of equal size (whole pairs) whose panel fits kPanelBytes.
    const int64_t total_pairs = (in + 1) / 2;
    const int64_t max_pairs = std::max<int64_t>(16, kPanelBytes / (width * 4));
    const int64_t n_kblocks = (total_pairs + max_pairs - 1) / max_pairs;
    const int64_t kc = (total_pairs + n_kblocks - 1) / n_kblocks;
    const int64_t mc = std::max<int64_t>(kPackedTokens, kPackedXBytes / (kc * 8) / kPackedTokens * kPackedTokens);
    const int64_t n_panels = (o1 - o0 + width - 1) / width;
    const int64_t panel_words = kc * width;
    thread_local std::vector<uint32_t> scratch;
    PackedTileArgs a{};
    a.x_stride = x.stride();
    a.ldy = ldy;
    const auto start_panel = [&](int64_t i) {
        const int64_t n0 = o0 + i * width;
        a.valid = std::min(width, o1 - n0);
        a.bias = bias ? bias + n0 : nullptr;
        return n0;
    };
    const auto start_kblock = [&](int64_t kb) {
        a.pairs = std::min(kc, total_pairs - kb);
        a.accumulate = kb > 0;
    };
    if (rows * total_pairs * 8 <= kPackedXBytes) {
        // All the tokens' K blocks (8 bytes per pair and token) fit the L2 budget together, so a
        // panel can take every K block in turn: each is packed just before its tiles, and the
        // weights are read in order, a panel's rows whole (while packing, the next panel's rows
        // are prefetched), not in pieces a K block long, far apart in time. With 8 layers of
        // Qwen2-0.5B's products on Zen 3, 2.3-3.3% less time at 24-64 tokens with 2 threads and
        // 3.8-8.1% with one (one run per size, 16 or 8 alternating passes). Used too when only
        // one K block of the tokens fit, this order swept them all through L2 for every panel:
        // whole 128-token prefills took longer in 6 of 6 alternating runs.
        uint32_t* panel = aligned_elements(scratch, static_cast<size_t>(panel_words));
        a.panel = panel;
        for (int64_t i = 0; i < n_panels; ++i) {
            const int64_t n0 = start_panel(i);
            for (int64_t kb = 0; kb < total_pairs; kb += kc) {
                start_kblock(kb);
                PackPanel(w, in, n0, a.valid, width, 2 * kb, a.pairs, panel, width);
                PanelTiles(a, x, 2 * kb, 0, rows, y + (n0 - o0));
            }
        }
        return;
    }
    // Otherwise a K block's panels are packed once and serve every block of tokens.
    uint32_t* panels = aligned_elements(scratch, static_cast<size_t>(n_panels * panel_words));
    for (int64_t kb = 0; kb < total_pairs; kb += kc) {
        start_kblock(kb);
        for (int64_t i = 0; i < n_panels; ++i) {
            const int64_t n0 = start_panel(i);
            PackPanel(w, in, n0, a.valid, width, 2 * kb, a.pairs, panels + i * panel_words, kPackAheadRows);
        }
        for (int64_t m_block = 0; m_block < rows; m_block += mc) {
            for (int64_t i = 0; i < n_panels; ++i) {
                const int64_t n0 = start_panel(i);
                a.panel = panels + i * panel_words;
                PanelTiles(a, x, 2 * kb, m_block, std::min(rows, m_block + mc), y + (n0 - o0));
            }
        }
    }
}

}  // namespace ascent::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif
