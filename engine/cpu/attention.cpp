#include "engine/cpu/attention.h"

#include <algorithm>
#include <cstring>
#include "engine/cpu/aligned_scratch.h"
#include "engine/cpu/attention_kernels.h"
#include "engine/error.h"

namespace ascent::cpu {
namespace {

// Rows of a block on AMX tiles: at most kMaxBlockRows (the rows of a block see different numbers
// of positions, and the shorter ones still pay for the longest one's last tile), and fewer, down
// to kMinBlockRows, while each thread would get fewer than kBlocksPerThread blocks.
constexpr int64_t kMaxBlockRows = 64;
constexpr int64_t kMinBlockRows = 16;
constexpr size_t kBlocksPerThread = 16;
// Sets with queries across lanes: their softmax and products ran 3% slower with blocks of 64 rows
// than with these (ASCENT_SIMD=avx512bf16, 512 and 2048 tokens).
constexpr int64_t kVectorBlockRows = 32;
constexpr int64_t kVectorBlockQueries = 128;
// When blocks are few, positions are split so that each thread gets about this many tasks (a
// thread that starts late still finds work)...
constexpr size_t kTasksPerThread = 4;
// ...but no task gets fewer tiles than this: the merge and the wake-ups would cost more.
constexpr size_t kMinTaskTiles = 4;

// Stores n values in the cache's type at dst[index(i)].
template <typename Index>
void store(DType t, const float* src, void* dst, size_t n, Index index) {
    switch (t) {
        case DType::F32:
            for (size_t i = 0; i < n; ++i) static_cast<float*>(dst)[index(i)] = src[i];
            return;
        case DType::BF16:
            for (size_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[index(i)] = f32_to_bf16(src[i]);
            return;
        case DType::F16:
            for (size_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[index(i)] = f32_to_f16(src[i]);
            return;
    }
}

// A block's queries in kernel order: row by row, head by head.
struct Queries {
    size_t n = 0;
    const float* q[kAttentionQueries];
    int32_t last[kAttentionQueries];
    float* out[kAttentionQueries];
};

}  // namespace

Attention::Attention(int threads) : scratch_(static_cast<size_t>(threads)) {}

void Attention::run(ThreadPool& pool, const KernelSet& kernels, const float* q, const float* k, const float* v,
                    int64_t rows, std::span<const int32_t> positions, std::span<const int32_t> seqs,
                    KvCache& cache, int layer, const AttentionParams& p, float* out) {
    if (p.n_kv_heads <= 0 || p.n_heads % p.n_kv_heads != 0 || cache.kv_dim != int64_t{p.n_kv_heads} * p.head_dim)
        runtime_error("attention: {} query heads, {} kv heads of {} dims do not fit a cache of {} dims", p.n_heads,
                      p.n_kv_heads, p.head_dim, cache.kv_dim);
    if (cache.dtype == DType::BF16 && p.head_dim % 2 != 0)
        runtime_error("attention: a BF16 KV cache pairs head dimensions, and heads of {} dims do not pair up "
                      "(use --kv-cache-dtype f32 or f16)", p.head_dim);
    if (!seqs.empty() && static_cast<int64_t>(seqs.size()) != rows)
        runtime_error("attention: {} sequence ids for {} rows", seqs.size(), rows);
    auto seq_of = [&](int64_t r) { return seqs.empty() ? size_t{0} : static_cast<size_t>(seqs[static_cast<size_t>(r)]); };
    for (int64_t r = 0; r < rows; ++r) {
        const int32_t pos = positions[static_cast<size_t>(r)];
        const int32_t seq = seqs.empty() ? 0 : seqs[static_cast<size_t>(r)];
        if (seq < 0 || seq >= cache.n_seqs || pos < 0 || pos >= cache.capacity)
            runtime_error("attention: row {} is at position {} of sequence {}, outside a cache of {} sequences of {} "
                          "positions", r, pos, seq, cache.n_seqs, cache.capacity);
    }
    const auto hd = static_cast<size_t>(p.head_dim);
    const size_t elem = dtype_size(cache.dtype), cached = cache_positions(static_cast<size_t>(cache.capacity));
    auto* kc = static_cast<std::byte*>(cache.k[static_cast<size_t>(layer)]);
    auto* vc = static_cast<std::byte*>(cache.v[static_cast<size_t>(layer)]);
    const auto kv_dim = static_cast<size_t>(cache.kv_dim);
    for (int64_t r = 0; r < rows; ++r) {
        const auto pos = static_cast<size_t>(positions[static_cast<size_t>(r)]);
        for (size_t h = 0; h < static_cast<size_t>(p.n_kv_heads); ++h) {
            const size_t base = seq_base(cached, kv_dim, seq_of(r)) + head_base(cached, hd, h),
                         at = static_cast<size_t>(r * cache.kv_dim) + h * hd;
            store(cache.dtype, k + at, kc, hd, [&](size_t i) { return base + key_index(cache.dtype, hd, pos, i); });
            store(cache.dtype, v + at, vc, hd, [&](size_t i) { return base + value_index(cache.dtype, hd, pos, i); });
        }
    }
    if (rows <= 0) return;

    const int group = p.n_heads / p.n_kv_heads;
    const AttentionKernels& ak = *kernels.attention;
    // A set that runs every block with positions across lanes (AMX tiles) reads each tile of keys
    // and values once per block, and blocks of up to 64 rows made a prefill's attention 4-8%
    // faster at 512-2048 tokens than blocks of 16 rows (bench_attention, alternated)...
    const bool big_blocks = cache.dtype == DType::BF16 && ak.pairs && ak.pairs->softmax_position_lanes;
    const int64_t max_queries = big_blocks ? kAttentionQueries : kVectorBlockQueries;
    const int block_heads = std::min(group, static_cast<int>(max_queries));
    int64_t block_rows = std::clamp<int64_t>(max_queries / block_heads, 1, big_blocks ? kMaxBlockRows : kVectorBlockRows);
    // ...as long as each thread still gets kBlocksPerThread blocks to balance: at 128 tokens, blocks
    // of 64 rows left one thread idle at the end.
    const size_t wanted = pool.size() > 1 ? kTasksPerThread * static_cast<size_t>(pool.size()) : 1;
    const auto head_blocks = static_cast<size_t>(p.n_kv_heads * ((group + block_heads - 1) / block_heads));
    while (big_blocks && block_rows > kMinBlockRows &&
           static_cast<size_t>((rows + block_rows - 1) / block_rows) * head_blocks <
               kBlocksPerThread * static_cast<size_t>(pool.size()))
        block_rows /= 2;
    // Blocks of whole vectors of queries, which on 16 lanes are whole AMX tiles: for 7 heads, 16
    // rows rather than 18, whose 126 queries left a partial tile that took another tile
    // configuration and a copy (3% of a prefill's attention, bench_attention).
    for (int64_t r = block_rows; r > block_rows / 2; --r)
        if (r * block_heads % static_cast<int64_t>(ak.lanes) == 0) {
            block_rows = r;
            break;
        }
    // Later rows see more positions: their blocks come first, so that the tasks idle threads take
    // from the back of busier ones' ranges are the short ones. A block's rows are one run of rows
    // of the same sequence (a batched decode step: one row per sequence).
    blocks_.clear();
    int64_t work = 0;
    for (int64_t r1 = rows, r0 = 0; r1 > 0; r1 = r0) {
        const size_t seq = seq_of(r1 - 1);
        for (r0 = r1 - 1; r0 > std::max<int64_t>(0, r1 - block_rows) && seq_of(r0 - 1) == seq;) --r0;
        const int32_t last = *std::max_element(positions.begin() + r0, positions.begin() + r1);
        const size_t tiles = static_cast<size_t>(last) / kAttentionTile + 1;
        for (int g = 0; g < p.n_kv_heads; ++g)
            for (int h0 = g * group; h0 < (g + 1) * group; h0 += block_heads)
                blocks_.push_back({r0, r1, seq, h0, std::min(h0 + block_heads, (g + 1) * group), tiles, false, 0});
        for (int64_t r = r0; r < r1; ++r)
            work += (int64_t{positions[static_cast<size_t>(r)]} + 1) * 2 * p.n_heads * p.head_dim;
    }

    auto layout = [&](const Block& b) {
        return AttentionLayout(ak.lanes, static_cast<size_t>((b.r1 - b.r0) * (b.h1 - b.h0)), hd);
    };
    const size_t chunks = (wanted + blocks_.size() - 1) / blocks_.size();
    tasks_.clear();
    split_blocks_.clear();
    size_t partial_floats = 0;
    for (size_t i = 0; i < blocks_.size(); ++i) {
        Block& b = blocks_[i];
        const size_t n = std::max<size_t>(1, std::min(chunks, b.tiles / kMinTaskTiles));
        if (n > 1) {
            b.split = true;
            b.partials = partial_floats;
            partial_floats += b.tiles * layout(b).partial_floats();
            split_blocks_.push_back(i);
        }
        for (size_t c = 0; c < n; ++c) tasks_.push_back({i, b.tiles * c / n, b.tiles * (c + 1) / n});
    }
    float* partials = aligned_floats(partials_, partial_floats);

    const int64_t q_cols = int64_t{p.n_heads} * p.head_dim;
    auto queries = [&](const Block& b) {
        Queries qs;
        for (int64_t r = b.r0; r < b.r1; ++r)
            for (int h = b.h0; h < b.h1; ++h) {
                const int64_t at = r * q_cols + int64_t{h} * p.head_dim;
                qs.q[qs.n] = q + at;
                qs.out[qs.n] = out + at;
                qs.last[qs.n] = positions[static_cast<size_t>(r)];
                ++qs.n;
            }
        return qs;
    };
    pool.run(static_cast<int64_t>(tasks_.size()), [&](int64_t i, int thread) {
        const Task& t = tasks_[static_cast<size_t>(i)];
        const Block& b = blocks_[t.block];
        const Queries qs = queries(b);
        const AttentionLayout l = layout(b);
        const auto head = static_cast<size_t>(b.h0 / group);
        AttentionBlock a;
        a.queries = qs.n;
        a.head_dim = hd;
        a.q = qs.q;
        a.last = qs.last;
        a.scale = p.scale;
        a.dtype = cache.dtype;
        const size_t base = (seq_base(cached, kv_dim, b.seq) + head_base(cached, hd, head)) * elem;
        a.k = kc + base;
        a.v = vc + base;
        a.tile_begin = t.tile_begin;
        a.tile_end = t.tile_end;
        a.scratch = aligned_floats(scratch_[static_cast<size_t>(thread)], l.scratch_floats());
        a.out = b.split ? nullptr : qs.out;
        a.partials = b.split ? partials + b.partials + t.tile_begin * l.partial_floats() : nullptr;
        a.pairs = cache.dtype == DType::BF16 ? ak.pairs : nullptr;
        ak.block(a);
    }, work);

    if (split_blocks_.empty()) return;
    pool.run(static_cast<int64_t>(split_blocks_.size()), [&](int64_t i, int thread) {
        const Block& b = blocks_[split_blocks_[static_cast<size_t>(i)]];
        const Queries qs = queries(b);
        const AttentionLayout l = layout(b);
        AttentionMerge m;
        m.queries = qs.n;
        m.head_dim = hd;
        m.partials = partials + b.partials;
        m.tiles = b.tiles;
        m.scratch = aligned_floats(scratch_[static_cast<size_t>(thread)], l.scratch_floats());
        m.out = qs.out;
        ak.merge(m);
    }, static_cast<int64_t>(partial_floats));
}

}  // namespace ascent::cpu
