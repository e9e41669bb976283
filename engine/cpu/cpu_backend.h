#pragma once
#include <algorithm>
#include <atomic>
#include <memory>
#include <unordered_map>
#include <vector>
#include "engine/backend.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/kernels.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/probes.h"
#include "engine/cpu/rope_tables.h"
#include "engine/cpu/thread_pool.h"

namespace ascent::cpu {

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(int threads);
    CpuBackend(int threads, const KernelSet& kernels);  // e.g. the scalar set, for tests
    ~CpuBackend() override;

    std::string name() const override { return "cpu"; }
    std::string memory_label() const override { return "RAM"; }
    int threads() const override { return pool_.size(); }
    std::string describe() const override;

    Weight adopt_weight(const StoredTensor& t, int64_t rows, int64_t cols) override;
    std::unique_ptr<KvCache> create_kv_cache(int n_layers, int64_t capacity, int64_t kv_dim,
                                             DType dtype, int n_seqs = 1) override;
    float* alloc_activation(size_t floats) override;
    void free_activation(float* p, size_t floats) override;
    void release_free_activations() override;
    BackendMemory memory() const override;
    RooflineProbe probe_roofline() override;
    double probe_weight_read_bandwidth() override;
    double probe_peak_flops(bool matrix_unit) override;
    void set_thread_accounting(bool on) override { pool_.set_accounting(on); }
    std::vector<double> thread_busy_seconds() const override { return pool_.busy_seconds(); }
    void set_thread_tracing(bool on) override { pool_.set_tracing(on); }
    std::vector<ThreadSpan> take_thread_trace() override;

    void embed(const Weight& table, std::span<const int32_t> tokens, float* out) override;
    void rms_norm(const float* x, int64_t rows, int64_t cols, const Weight& w, float eps,
                  float* out) override;
    void linear(const float* x, int64_t rows, const Weight& w, const Weight* bias, float* out) override;
    void rope(const float* x, int64_t rows, int64_t cols, std::span<const int32_t> positions,
              const RopeParams& p, float* out) override;
    void attention(const float* q, const float* k, const float* v, int64_t rows,
                   std::span<const int32_t> positions, std::span<const int32_t> seqs, KvCache& cache,
                   int layer, const AttentionParams& p, float* out) override;
    void swiglu(const float* gate, const float* up, int64_t n, float* out) override;
    void add(const float* a, const float* b, int64_t n, float* out) override;
    void linear_fused(const float* x, int64_t rows, std::span<const LinearOutput> outputs,
                      std::span<const int32_t> positions, const InputNorm* norm) override;
    void linear_swiglu(const float* x, int64_t rows, const Weight& gate, const Weight* gate_bias,
                       const Weight& up, const Weight* up_bias, float* out, const InputNorm* norm) override;
    void mlp(const float* x, int64_t rows, const MlpWeights& w, const float* residual, float* out,
             const InputNorm* norm) override;

    ThreadPool& pool() { return pool_; }
    const KernelSet& kernels() const { return k_; }

private:
    // f32 copy of a small vector weight (norm weights, biases), made once.
    const float* f32_vector_cached(const Weight& w);
    // A thread's own buffer for a block of a prefill product's outputs, on whole cache lines.
    float* block_scratch(int thread, size_t floats);
    // What one such block may hold: small enough to stay in the core's L2 beside the product's
    // other operands.
    static constexpr int64_t kBlockScratchBytes = 512 << 10;
    // Output columns of a block whose `arrays` f32 arrays of [rows, columns] fit in that budget: a
    // multiple of `unit`, and at least one unit (rows > 0).
    static int64_t block_scratch_cols(int64_t rows, int64_t arrays, int64_t unit) {
        return std::max(unit, kBlockScratchBytes / (arrays * rows * static_cast<int64_t>(sizeof(float))) / unit * unit);
    }
    // From this many rows on, a product's outputs are made in block_scratch() and then copied to y
    // (with the residual added, or rotated), rather than written to y by the kernel: see
    // linear_fused().
    static constexpr int64_t kStagedMinRows = 128;
    // Gate and up products of this many rows or fewer (bandwidth bound) are handed out matrix by
    // matrix (gate_up_apart); more rows keep each block's two products on one thread, whose L2
    // holds both until SwiGLU reads them.
    static constexpr int64_t kGateUpApartMaxRows = 8;
    // A product's input x (normalized first when `norm` is set), prepared for the matrix kernels
    // (e.g. rounded to BF16). A large one is prepared once, by all threads, before the product's
    // job. A decode-sized one is prepared by each thread for itself when it takes its first chunk
    // of the job: the caller preparing it alone kept the other core waiting, and then made it
    // fetch the result from the caller's cache (x itself was mostly written by both threads).
    struct InputPlan {
        const float* x;
        int64_t rows, in;
        DType type;
        const float* norm_weight;  // f32, resolved before the job (the cache is not thread-safe); or nullptr
        float eps;
        bool per_thread;
        const MatmulInput* prepared;  // or an input made ready by the caller (mlp())
    };
    InputPlan plan_input(const float* x, int64_t rows, int64_t in, DType type, const InputNorm* norm);
    const MatmulInput& input_on(int thread, const InputPlan& plan);
    void gate_up_apart(const InputPlan& in, int64_t rows, const Weight& gate, const float* gb, const Weight& up,
                       const float* ub, float* out);
    // Gate and up a block of outputs at a time on one thread, SwiGLU into out, or (tiles set) into
    // columns of the next product's input.
    void gate_up_blocks(const InputPlan& in, int64_t rows, const Weight& gate, const float* gb, const Weight& up,
                        const float* ub, float* out, MatmulInput* tiles);
    // linear_fused() after its input is planned.
    void fused_products(const InputPlan& plan, int64_t rows, std::span<const LinearOutput> outputs,
                        std::span<const int32_t> positions);
    // The plan's x (normalized into `scratch` first when it has a norm) prepared into dst, by the
    // pool's threads, or by the calling thread alone when pool is nullptr.
    void prepare(MatmulInput& dst, std::vector<float>& scratch, const InputPlan& plan, ThreadPool* pool) const;
    // One row of RMSNorm; rms_norm() and a fused product's input norm share it, so both give the
    // same bits.
    void normalize_row(const float* x, int64_t cols, const float* w, float eps, float* out) const;
    // out = fn(a, b) elementwise over n floats, on the threads once n is large.
    void each_piece(int64_t n, void (*fn)(const float*, const float*, float*, size_t), const float* a,
                    const float* b, float* out);

    const KernelSet& k_;
    ThreadPool pool_;
    size_t weight_bytes_ = 0;
    std::vector<MemoryRegion> weight_regions_;  // what probe_weight_read_bandwidth() reads
    std::atomic<size_t> kv_bytes_{0};
    std::atomic<size_t> act_bytes_{0};
    std::atomic<size_t> act_peak_{0};
    // Owned copies: realigned weights and widened vectors, kept for the backend's lifetime.
    std::vector<std::unique_ptr<float[]>> owned_f32_;
    std::vector<std::unique_ptr<uint16_t[]>> owned_u16_;
    // By the weight's data: a step looks up about five per layer (norms, biases) on the caller's
    // path before each product, and a 24-layer Qwen2 has 121 of them to search.
    std::unordered_map<const void*, const float*> vector_cache_;
    std::vector<std::vector<float>> block_scratch_;  // per thread
    // A few rows' gate/up products: gate then up, each [rows, n_out], and per block the number of
    // its two products done (linear_swiglu).
    std::vector<float> gate_up_rows_;
    std::unique_ptr<std::atomic<int>[]> gate_up_done_;
    size_t gate_up_blocks_ = 0;
    RopeTables rope_tables_;
    Attention attention_;
    std::vector<float> norm_rows_;  // a fused product's normalized input
    MatmulInput input_;  // the current product's input, when prepared once for all threads
    MatmulInput mlp_input_;  // the down product's input, written by mlp()'s gate/up blocks
    std::vector<float> mlp_rows_;  // mlp()'s activations where they go through f32 rows
    // Each thread's own prepared input (InputPlan::per_thread), made for the product numbered
    // `product`; on its own cache lines.
    struct alignas(64) ThreadInput {
        MatmulInput input;
        std::vector<float> norm_rows;
        uint64_t product = 0;
    };
    std::vector<ThreadInput> thread_inputs_;
    uint64_t product_ = 0;  // products planned so far; written by the caller before each job
    // One output of a fused product: its units [first_unit, first_unit + n_units) of the job; the
    // list is kept so a replay allocates nothing.
    struct FusedOutput {
        const LinearOutput* out;
        int64_t first_unit, n_units;
        const float* rope_cs;
        const float* bias;  // f32 view, resolved before the hand-out: the cache is not thread-safe
    };
    std::vector<FusedOutput> fused_outputs_;
    // The end of a fused product: outputs [o0, o1) of every row, held in c (ldc floats per row),
    // go to the part's y with its residual added or its heads rotated.
    void finish_rows(const FusedOutput& part, int64_t rows, int64_t o0, int64_t o1, const float* c, int64_t ldc);
};

}  // namespace ascent::cpu
