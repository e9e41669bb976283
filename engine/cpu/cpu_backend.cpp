#include "engine/cpu/cpu_backend.h"

#include "engine/cpu/aligned_scratch.h"
#include "engine/cpu/attention_kernels.h"
#include "engine/cpu/decode_prefetch.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/matmul_path.h"
#include "engine/cpu/probes.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <numeric>
#include <thread>

#include "engine/error.h"
#include "engine/usable_cpus.h"
#include "engine/weights/safetensors.h"

namespace ascent {

std::unique_ptr<Backend> create_backend(const BackendOptions& opt) {
    if (opt.device == "cpu") {
        int threads = opt.threads;
        if (threads <= 0) threads = usable_cpus();
        return std::make_unique<cpu::CpuBackend>(threads);
    }
    if (opt.device == "npu")
        input_error("--device npu: this build has no NPU (Ascend CANN) backend; only --device cpu is available");
    input_error("unknown --device '{}' (available: cpu)", opt.device);
}

namespace cpu {

namespace {

bool aligned_for(const void* p, DType t) {
    return reinterpret_cast<uintptr_t>(p) % dtype_size(t) == 0;
}

}  // namespace

CpuBackend::CpuBackend(int threads) : CpuBackend(threads, active_kernels()) {}

CpuBackend::CpuBackend(int threads, const KernelSet& kernels)
    : k_(kernels),
      pool_(threads),
      block_scratch_(static_cast<size_t>(pool_.size())),
      attention_(pool_.size()),
      thread_inputs_(static_cast<size_t>(pool_.size())) {
    decode_prefetch_bytes();  // a bad ASCENT_DECODE_PREFETCH fails here, not inside a kernel
}

CpuBackend::~CpuBackend() = default;

std::string CpuBackend::describe() const {
    return fmt::format("cpu ({} matmul, {} kernels, {} thread{})", matmul_implementation(), k_.name, pool_.size(),
                       pool_.size() == 1 ? "" : "s");
}

Weight CpuBackend::adopt_weight(const StoredTensor& t, int64_t rows, int64_t cols) {
    Weight w;
    w.name = t.name;
    w.dtype = t.dtype;
    w.rows = rows;
    w.cols = cols;
    w.data = t.data;
    weight_bytes_ += t.nbytes;
    // safetensors allows a tensor to start at any byte; the kernels want natural alignment.
    // Only a tensor placed oddly after one of another dtype needs this one-time copy.
    if (!aligned_for(t.data, t.dtype)) {
        if (t.dtype == DType::F32) {
            owned_f32_.emplace_back(new float[t.nbytes / 4]);
            std::memcpy(owned_f32_.back().get(), t.data, t.nbytes);
            w.data = owned_f32_.back().get();
        } else {
            owned_u16_.emplace_back(new uint16_t[t.nbytes / 2]);
            std::memcpy(owned_u16_.back().get(), t.data, t.nbytes);
            w.data = owned_u16_.back().get();
        }
    }
    weight_regions_.push_back({w.data, t.nbytes});
    return w;
}

namespace {

struct CpuKvCache final : KvCache {
    CpuKvCache(std::atomic<size_t>& counter, size_t bytes_allocated) : live_bytes(counter), allocated(bytes_allocated) {
        live_bytes += allocated;  // before allocating: the destructor subtracts it on failure too
    }
    ~CpuKvCache() override {
        for (void* p : blocks) std::free(p);
        live_bytes.fetch_sub(allocated);
    }
    // A zeroed buffer starting on a cache line: attention reads whole tiles with vector loads.
    void* zeroed(size_t bytes) {
        // Zeroed pages are mapped lazily by the OS: a large --ctx costs memory only as it fills.
        void* p = std::calloc(1, bytes + 64);
        if (!p) return nullptr;
        blocks.push_back(p);
        return reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(p) + 63) / 64 * 64);
    }
    std::atomic<size_t>& live_bytes;
    size_t allocated;
    std::vector<void*> blocks;  // as allocated, before alignment
};

}  // namespace

std::unique_ptr<KvCache> CpuBackend::create_kv_cache(int n_layers, int64_t capacity, int64_t kv_dim,
                                                     DType dtype, int n_seqs) {
    if (n_seqs < 1) runtime_error("a KV cache needs at least one sequence, got {}", n_seqs);
    // Whole tiles of positions: attention keeps keys transposed by tiles (attention_kernels.h).
    // Sequences follow one another in each layer's buffer (seq_base()).
    const size_t bytes = static_cast<size_t>(n_seqs) * cache_positions(static_cast<size_t>(capacity)) *
                         static_cast<size_t>(kv_dim) * dtype_size(dtype);
    auto cache = std::make_unique<CpuKvCache>(kv_bytes_, 2 * static_cast<size_t>(n_layers) * bytes);
    cache->dtype = dtype;
    cache->n_layers = n_layers;
    cache->capacity = capacity;
    cache->kv_dim = kv_dim;
    cache->n_seqs = n_seqs;
    for (int l = 0; l < n_layers; ++l) {
        cache->k.push_back(cache->zeroed(bytes));
        cache->v.push_back(cache->zeroed(bytes));
        if (!cache->k.back() || !cache->v.back())
            runtime_error("cannot allocate the KV cache ({} bytes per layer)", 2 * bytes);
    }
    return cache;
}

float* CpuBackend::alloc_activation(size_t floats) {
    // At least one cache line, so an empty tensor (a step that wants no logits) is a valid pointer.
    const size_t bytes = std::max<size_t>(64, ((floats * sizeof(float) + 63) / 64) * 64);
    auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!p) runtime_error("out of memory allocating {} activation bytes", floats * sizeof(float));
    size_t now = act_bytes_.fetch_add(floats * sizeof(float)) + floats * sizeof(float);
    size_t peak = act_peak_.load();
    while (now > peak && !act_peak_.compare_exchange_weak(peak, now)) {
    }
    return p;
}

void CpuBackend::free_activation(float* p, size_t floats) {
    std::free(p);
    act_bytes_.fetch_sub(floats * sizeof(float));
}

void CpuBackend::release_free_activations() {
#ifdef __GLIBC__
    // glibc raises its mmap threshold after the first large free, so eager mode's per-op buffers
    // come from the heap and stay resident after they are freed.
    malloc_trim(0);
#endif
}

BackendMemory CpuBackend::memory() const {
    return BackendMemory{weight_bytes_, kv_bytes_.load(), act_bytes_.load(), act_peak_.load()};
}

RooflineProbe CpuBackend::probe_roofline() {
    RooflineProbe r;
    const ReadBandwidth read = measure_read_scaling(pool_);
    r.read_bytes_per_second = read.all_threads;
    r.read_bytes_per_second_one_thread = read.one_thread;
    const PeakFlops peak = measure_bf16_peak(pool_);
    r.peak_flops = peak.flops_per_second;
    r.peak_kernel = peak.kernel;
    r.matrix_peak_flops = measure_amx_bf16_peak(pool_).flops_per_second;
    // ASCENT_SIMD=avx512bf16 keeps the products on the vector unit even where AMX tiles exist.
    r.prefill_on_matrix_unit = amx_matmul_path() && &active_matmul_path() == amx_matmul_path();
    return r;
}

double CpuBackend::probe_peak_flops(bool matrix_unit) {
    constexpr double kSeconds = 0.05;
    return (matrix_unit ? measure_amx_bf16_peak(pool_, kSeconds) : measure_bf16_peak(pool_, kSeconds)).flops_per_second;
}

std::vector<ThreadSpan> CpuBackend::take_thread_trace() {
    std::vector<ThreadSpan> out;
    const auto spans = pool_.take_spans();
    for (size_t t = 0; t < spans.size(); ++t)
        for (const auto& s : spans[t]) out.push_back({static_cast<int>(t), s.begin_ns, s.end_ns});
    return out;
}

double CpuBackend::probe_weight_read_bandwidth() { return measure_read_bandwidth_of(pool_, weight_regions_, 1); }

const float* CpuBackend::f32_vector_cached(const Weight& w) {
    if (w.dtype == DType::F32) return static_cast<const float*>(w.data);
    if (const auto it = vector_cache_.find(w.data); it != vector_cache_.end()) return it->second;
    const size_t n = static_cast<size_t>(w.rows * w.cols);
    owned_f32_.emplace_back(new float[n]);
    widen(k_, w.dtype, w.data, owned_f32_.back().get(), n);
    vector_cache_.emplace(w.data, owned_f32_.back().get());
    return owned_f32_.back().get();
}

float* CpuBackend::block_scratch(int thread, size_t floats) {
    return aligned_floats(block_scratch_[static_cast<size_t>(thread)], floats);
}

void CpuBackend::embed(const Weight& table, std::span<const int32_t> tokens, float* out) {
    const auto cols = static_cast<size_t>(table.cols);
    const auto* base = static_cast<const std::byte*>(table.data);
    for (size_t i = 0; i < tokens.size(); ++i) {
        const auto row = static_cast<size_t>(tokens[i]);
        widen(k_, table.dtype, base + row * cols * dtype_size(table.dtype), out + i * cols, cols);
    }
}

void CpuBackend::normalize_row(const float* x, int64_t cols, const float* w, float eps, float* out) const {
    const auto n = static_cast<size_t>(cols);
    const float ms = k_.sum_squares(x, n) / static_cast<float>(cols);
    k_.scale_mul(x, 1.f / std::sqrt(ms + eps), w, out, n);
}

void CpuBackend::rms_norm(const float* x, int64_t rows, int64_t cols, const Weight& w, float eps,
                          float* out) {
    const float* wf = f32_vector_cached(w);
    pool_.run(rows, [&](int64_t r, int) { normalize_row(x + r * cols, cols, wf, eps, out + r * cols); }, rows * cols);
}

void CpuBackend::linear(const float* x, int64_t rows, const Weight& w, const Weight* bias, float* out) {
    LinearOutput o;
    o.weight = &w;
    o.bias = bias;
    o.y = out;
    linear_fused(x, rows, std::span<const LinearOutput>(&o, 1), {}, nullptr);
}

namespace {

// Rotates heads [h0, h1) of one row in place ("rotate half": pairs i, i + rotary_dim/2).
void rope_heads(const KernelSet& k, float* row, int h0, int h1, const RopeParams& p, const float* cs) {
    const int half = p.rotary_dim / 2;
    for (int h = h0; h < h1; ++h) k.rope_head(row + static_cast<int64_t>(h) * p.head_dim, cs, cs + half, static_cast<size_t>(half));
}

}  // namespace

void CpuBackend::prepare(MatmulInput& dst, std::vector<float>& scratch, const InputPlan& plan, ThreadPool* pool) const {
    if (!plan.norm_weight) {
        dst.prepare(active_matmul_path(), plan.x, plan.rows, plan.in, plan.in, plan.type, pool);
        return;
    }
    // Rows are normalized into scratch (the rows rms_norm() would write) by the thread that
    // converts them, right before it does.
    const size_t n = static_cast<size_t>(plan.rows * plan.in);
    if (scratch.size() < n) scratch.resize(n);
    struct Fill {
        const CpuBackend* self;
        const InputPlan* plan;
        float* out;
    } fill{this, &plan, scratch.data()};
    const MatmulInput::RowPrepass prepass{[](void* ctx, int64_t r0, int64_t r1) {
                                              const auto& f = *static_cast<const Fill*>(ctx);
                                              const int64_t in = f.plan->in;
                                              for (int64_t r = r0; r < r1; ++r)
                                                  f.self->normalize_row(f.plan->x + r * in, in, f.plan->norm_weight,
                                                                        f.plan->eps, f.out + r * in);
                                          },
                                          &fill};
    dst.prepare(active_matmul_path(), scratch.data(), plan.rows, plan.in, plan.in, plan.type, pool, &prepass);
}

CpuBackend::InputPlan CpuBackend::plan_input(const float* x, int64_t rows, int64_t in, DType type,
                                             const InputNorm* norm) {
    // Where the shared preparation would run on the caller alone anyway (matmul.cpp).
    constexpr int64_t kPerThreadMaxElements = int64_t{1} << 16;
    const InputPlan plan{x,
                         rows,
                         in,
                         type,
                         norm ? f32_vector_cached(*norm->weight) : nullptr,
                         norm ? norm->eps : 0.f,
                         pool_.size() > 1 && rows * in < kPerThreadMaxElements,
                         nullptr};
    if (plan.per_thread)
        ++product_;
    else
        prepare(input_, norm_rows_, plan, &pool_);
    return plan;
}

const MatmulInput& CpuBackend::input_on(int thread, const InputPlan& plan) {
    if (plan.prepared) return *plan.prepared;
    if (!plan.per_thread) return input_;
    ThreadInput& t = thread_inputs_[static_cast<size_t>(thread)];
    if (t.product != product_) {
        prepare(t.input, t.norm_rows, plan, nullptr);  // on this thread alone
        t.product = product_;
    }
    return t.input;
}

void CpuBackend::linear_fused(const float* x, int64_t rows, std::span<const LinearOutput> outputs,
                              std::span<const int32_t> positions, const InputNorm* norm) {
    const DType type = outputs[0].weight->dtype;
    for (const auto& out : outputs)
        if (out.weight->dtype != type || out.weight->cols != outputs[0].weight->cols)
            runtime_error("fused product {}: its weights differ in type or width", out.weight->name);
    fused_products(plan_input(x, rows, outputs[0].weight->cols, type, norm), rows, outputs, positions);
}

void CpuBackend::fused_products(const InputPlan& plan, int64_t rows, std::span<const LinearOutput> outputs,
                                std::span<const int32_t> positions) {
    // One job over the units of every output in turn, so q, k and v share one hand-out of work
    // and one preparation of x.
    std::vector<FusedOutput>& parts = fused_outputs_;
    parts.clear();
    const DType type = outputs[0].weight->dtype;
    int64_t work = 0, total_out = 0, unit = kMatmulUnitRows;
    for (const auto& out : outputs) {
        total_out += out.weight->rows;
        // A unit holds whole heads, so the rotation runs right after the unit's product.
        if (out.rope) unit = std::lcm(unit, static_cast<int64_t>(out.rope->head_dim));
    }
    int64_t n_units = 0;
    for (const auto& out : outputs) {
        const int64_t n_out = out.weight->rows;
        work += rows * n_out * out.weight->cols;
        const float* cs = out.rope ? rope_tables_.get(positions, rows, *out.rope) : nullptr;
        const float* bias = out.bias ? f32_vector_cached(*out.bias) : nullptr;
        parts.push_back({&out, n_units, (n_out + unit - 1) / unit, cs, bias});
        n_units += parts.back().n_units;
    }
    const int64_t block = matmul_chunk_rows(type, rows, total_out, outputs[0].weight->cols, pool_.size());
    // A prefill product's outputs are made a block at a time in the thread's L2-sized scratch,
    // then each row goes to y once, with its residual added or its heads rotated. The kernel
    // writing straight into y, whose rows lie n_out floats apart, spent its time on those stores:
    // Qwen2-0.5B's 896-wide rows put a C tile's 16 tokens in 8 of L1's 64 sets, where they evicted
    // the weight tiles the kernel was reusing (bench_amx BM_AmxKernel, one thread, 512 tokens:
    // 680 GFLOP/s into y, 1041 with the rows 16 floats further apart), and a wide output (gate's
    // 4864) streamed out to memory from inside the kernel (337 against 1121 in 128-wide blocks).
    // A layer's products (bench_layer, in alternation): 3-4% faster at 512 and 2048 tokens, even
    // at 64 and 128, 0.4% slower at 16 and 32, where the outputs stay in cache anyway.
    const bool staged = rows >= kStagedMinRows;
    const int64_t stage_cols = staged ? block_scratch_cols(rows, 1, unit) : 0;
    pool_.run_chunks(n_units, std::max<int64_t>(1, block / unit), [&](int64_t u0, int64_t u1, int thread) {
        const MatmulInput& in = input_on(thread, plan);
        for (const FusedOutput& part : parts) {
            const int64_t b = std::max(u0, part.first_unit), e = std::min(u1, part.first_unit + part.n_units);
            if (b >= e) continue;
            const LinearOutput& out = *part.out;
            const int64_t n_out = out.weight->rows;
            const int64_t o0 = (b - part.first_unit) * unit, o1 = std::min(n_out, (e - part.first_unit) * unit);
            if (!staged) {
                matmul_rows(in, out.weight->data, type, o0, o1, part.bias, out.y + o0, n_out);
                finish_rows(part, rows, o0, o1, out.y + o0, n_out);
                continue;
            }
            for (int64_t s0 = o0; s0 < o1; s0 += stage_cols) {
                const int64_t s1 = std::min(o1, s0 + stage_cols), w = s1 - s0;
                float* c = block_scratch(thread, static_cast<size_t>(rows * w));
                matmul_rows(in, out.weight->data, type, s0, s1, part.bias, c, w);
                finish_rows(part, rows, s0, s1, c, w);
            }
        }
    }, work);
}

void CpuBackend::finish_rows(const FusedOutput& part, int64_t rows, int64_t o0, int64_t o1, const float* c,
                             int64_t ldc) {
    // Where c is y itself, there is nothing to copy.
    const LinearOutput& out = *part.out;
    const int64_t n_out = out.weight->rows;
    const auto w = static_cast<size_t>(o1 - o0);
    for (int64_t r = 0; r < rows; ++r) {
        float* yr = out.y + r * n_out + o0;
        const float* cr = c + r * ldc;
        if (out.residual)
            k_.add(cr, out.residual + r * n_out + o0, yr, w);
        else if (cr != yr)
            std::memcpy(yr, cr, w * sizeof(float));
        if (out.rope) {
            const int hd = out.rope->head_dim;
            rope_heads(k_, yr - o0, static_cast<int>(o0 / hd), static_cast<int>(o1 / hd), *out.rope,
                       part.rope_cs + r * (out.rope->rotary_dim / 2) * 2);
        }
    }
}

void CpuBackend::linear_swiglu(const float* x, int64_t rows, const Weight& gate, const Weight* gate_bias,
                               const Weight& up, const Weight* up_bias, float* out, const InputNorm* norm) {
    if (gate.dtype != up.dtype || gate.rows != up.rows || gate.cols != up.cols)
        runtime_error("fused gate/up product {}: the two weights differ in type or shape", gate.name);
    if (rows == 0) return;  // a chunk with no rows to compute (its blocks are sized per row)
    const float* gb = gate_bias ? f32_vector_cached(*gate_bias) : nullptr;
    const float* ub = up_bias ? f32_vector_cached(*up_bias) : nullptr;
    const InputPlan plan = plan_input(x, rows, gate.cols, gate.dtype, norm);
    if (rows <= kGateUpApartMaxRows && pool_.size() > 1) {
        gate_up_apart(plan, rows, gate, gb, up, ub, out);
        return;
    }
    gate_up_blocks(plan, rows, gate, gb, up, ub, out, nullptr);
}

void CpuBackend::gate_up_blocks(const InputPlan& plan, int64_t rows, const Weight& gate, const float* gb,
                                const Weight& up, const float* ub, float* out, MatmulInput* tiles) {
    const int64_t n_out = gate.rows;
    // A task's gate and up products live in the thread's scratch until SwiGLU reads them back:
    // blocks small enough for both to stay in L2 (512 tokens: 128 outputs, not 608 whose 2.4 MiB
    // went out to L3 and back). An AMX kernel that paired 16 gate rows with the same 16 up rows
    // in each panel and applied SwiGLU to every finished block of C tiles, with no scratch at all,
    // was 9% slower on this product (bench_layer, in alternation): SwiGLU's vector work, issued
    // between the tile products, held them up instead of overlapping them.
    const int64_t l2_block = block_scratch_cols(rows, 2, kMatmulUnitRows);
    const int64_t block = std::min(matmul_chunk_rows(gate.dtype, rows, n_out, gate.cols, pool_.size()), l2_block);
    pool_.run_chunks(matmul_units(n_out), block / kMatmulUnitRows, [&](int64_t u0, int64_t u1, int thread) {
        const int64_t o0 = u0 * kMatmulUnitRows, o1 = std::min(n_out, u1 * kMatmulUnitRows);
        const int64_t w = o1 - o0;
        // Gate and up of this block live only in the thread's own buffer.
        float* g = block_scratch(thread, static_cast<size_t>(2 * rows * w));
        float* u = g + rows * w;
        const MatmulInput& in = input_on(thread, plan);
        matmul_rows(in, gate.data, gate.dtype, o0, o1, gb, g, w);
        matmul_rows(in, up.data, up.dtype, o0, o1, ub, u, w);
        if (!tiles) {
            for (int64_t r = 0; r < rows; ++r)
                k_.swiglu(g + r * w, u + r * w, out + r * n_out + o0, static_cast<size_t>(w));
            return;
        }
        // The next product's input columns [o0, o1), straight from L2.
        for (int64_t r = 0; r < rows; ++r) k_.swiglu(g + r * w, u + r * w, g + r * w, static_cast<size_t>(w));
        tiles->convert_columns(g, w, o0, o1);
    }, 2 * rows * n_out * gate.cols);
}

void CpuBackend::mlp(const float* x, int64_t rows, const MlpWeights& w, const float* residual, float* out,
                     const InputNorm* norm) {
    const Weight &gate = *w.gate, &up = *w.up, &down = *w.down;
    if (down.cols != gate.rows)
        runtime_error("MLP {}: down takes {} columns, but gate makes {}", down.name, down.cols, gate.rows);
    const int64_t inter = gate.rows;
    const LinearOutput down_out{&down, w.down_bias, out, residual, nullptr};
    const MatmulPath& path = active_matmul_path();
    const MatmulLayout down_layout = path.shape(down.dtype, rows, inter).layout;
    const bool by_columns = rows > kGateUpApartMaxRows && path.convert_columns &&
                            (down_layout == MatmulLayout::BF16Tiles || down_layout == MatmulLayout::BF16);
    if (by_columns && gate.dtype == up.dtype && gate.rows == up.rows && gate.cols == up.cols) {
        // Gate/up's blocks write the SwiGLU activations straight into down's input layout, from
        // L2, instead of as f32 rows that the down product reads back from memory and converts.
        // Qwen2-0.5B's MLP on a loaded KVM Xeon, against the two calls apart in alternation:
        // 2-6% faster at 512 rows (29/40 and 30/40 pairs won), 3% at 128 (38/60), at 2048 +1%
        // (10 pairs) and -6% (16/20); and a graph's arena no longer holds the activations. Into
        // the BF16 rows of AVX-512 BF16 without AMX (Zen 5, 8 layers' MLPs, two runs of 10
        // alternating passes): 4-6% faster at 512 rows (10/10 each), 8-9% at 2048 (10/10), 0.5-3%
        // at 128 (8/10), even at 32.
        mlp_input_.shape(path, rows, inter, down.dtype);
        const float* gb = w.gate_bias ? f32_vector_cached(*w.gate_bias) : nullptr;
        const float* ub = w.up_bias ? f32_vector_cached(*w.up_bias) : nullptr;
        gate_up_blocks(plan_input(x, rows, gate.cols, gate.dtype, norm), rows, gate, gb, up, ub, nullptr, &mlp_input_);
        InputPlan prepared{};
        prepared.prepared = &mlp_input_;
        fused_products(prepared, rows, std::span<const LinearOutput>(&down_out, 1), {});
        return;
    }
    // Elsewhere through f32 rows, as the separate ops go.
    if (mlp_rows_.size() < static_cast<size_t>(rows * inter)) mlp_rows_.resize(static_cast<size_t>(rows * inter));
    linear_swiglu(x, rows, gate, w.gate_bias, up, w.up_bias, mlp_rows_.data(), norm);
    linear_fused(mlp_rows_.data(), rows, std::span<const LinearOutput>(&down_out, 1), {}, nullptr);
}

void CpuBackend::gate_up_apart(const InputPlan& plan, int64_t rows, const Weight& gate, const float* gb,
                               const Weight& up, const float* ub, float* out) {
    // Tasks run over gate's blocks, then up's: a thread's contiguous range of tasks reads one
    // matrix front to back. Reading a gate block, then the up block beside it, then the next gate
    // block made each thread hop between two streams, which cost 2-3% of these products' rate on
    // Zen 4 (bandwidth bound: one or a few rows). Each block's SwiGLU runs on whichever thread
    // finishes the second of its two products.
    const int64_t n_out = gate.rows;
    const int64_t block = matmul_block_rows(gate.dtype, rows, n_out, gate.cols, pool_.size());
    const auto n_blocks = static_cast<size_t>((n_out + block - 1) / block);
    if (gate_up_blocks_ < n_blocks) {
        gate_up_done_ = std::make_unique<std::atomic<int>[]>(n_blocks);
        gate_up_blocks_ = n_blocks;
    }
    for (size_t b = 0; b < n_blocks; ++b) gate_up_done_[b].store(0, std::memory_order_relaxed);
    if (gate_up_rows_.size() < static_cast<size_t>(2 * rows * n_out)) gate_up_rows_.resize(static_cast<size_t>(2 * rows * n_out));
    float* g = gate_up_rows_.data();
    float* u = g + rows * n_out;
    pool_.run(static_cast<int64_t>(2 * n_blocks), [&](int64_t task, int thread) {
        const MatmulInput& in = input_on(thread, plan);
        const auto b = static_cast<size_t>(task) % n_blocks;
        const bool is_up = static_cast<size_t>(task) >= n_blocks;
        const int64_t o0 = static_cast<int64_t>(b) * block, o1 = std::min(n_out, o0 + block);
        if (is_up)
            matmul_rows(in, up.data, up.dtype, o0, o1, ub, u + o0, n_out);
        else
            matmul_rows(in, gate.data, gate.dtype, o0, o1, gb, g + o0, n_out);
        // acq_rel: the second finisher sees the first one's products.
        if (gate_up_done_[b].fetch_add(1, std::memory_order_acq_rel) != 1) return;
        for (int64_t r = 0; r < rows; ++r)
            k_.swiglu(g + r * n_out + o0, u + r * n_out + o0, out + r * n_out + o0, static_cast<size_t>(o1 - o0));
    }, 2 * rows * n_out * gate.cols);
}

void CpuBackend::rope(const float* x, int64_t rows, int64_t cols, std::span<const int32_t> positions,
                      const RopeParams& p, float* out) {
    const float* cs = rope_tables_.get(positions, rows, p);
    const int half = p.rotary_dim / 2;
    pool_.run(rows, [&](int64_t r, int) {
        float* yr = out + r * cols;
        if (yr != x + r * cols) std::memcpy(yr, x + r * cols, static_cast<size_t>(cols) * sizeof(float));
        rope_heads(k_, yr, 0, p.n_heads, p, cs + r * half * 2);
    }, rows * cols * 4);
}

void CpuBackend::attention(const float* q, const float* k, const float* v, int64_t rows,
                           std::span<const int32_t> positions, std::span<const int32_t> seqs, KvCache& cache,
                           int layer, const AttentionParams& p, float* out) {
    attention_.run(pool_, k_, q, k, v, rows, positions, seqs, cache, layer, p, out);
}

void CpuBackend::each_piece(int64_t n, void (*fn)(const float*, const float*, float*, size_t), const float* a,
                            const float* b, float* out) {
    // Large inputs (a prefill's activations; eager mode runs these ops unfused) are split among
    // the threads, as PyTorch's CPU kernels split theirs. Pieces start on whole vectors, so each
    // element comes out as from one call. Qwen2-0.5B's 512-token prefill in eager mode spent 87 ms
    // of its 495 in SwiGLU on one thread while the other waited (threads busy 73% of the step).
    constexpr int64_t kPiece = 1024;        // floats: 4 KiB
    constexpr int64_t kPiecesPerTake = 64;  // 256 KiB
    pool_.run_chunks((n + kPiece - 1) / kPiece, kPiecesPerTake, [&](int64_t p0, int64_t p1, int) {
        const int64_t e0 = p0 * kPiece, e1 = std::min(n, p1 * kPiece);
        fn(a + e0, b + e0, out + e0, static_cast<size_t>(e1 - e0));
    }, n);
}

void CpuBackend::swiglu(const float* gate, const float* up, int64_t n, float* out) {
    each_piece(n, k_.swiglu, gate, up, out);
}

void CpuBackend::add(const float* a, const float* b, int64_t n, float* out) {
    each_piece(n, k_.add, a, b, out);
}

}  // namespace cpu
}  // namespace ascent
