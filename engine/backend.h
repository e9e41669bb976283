#pragma once
// What a device must provide: memory for weights, the KV cache and activations, and the kernels
// behind every op of engine/ops.h. The CPU backend (engine/cpu/) is the only one built here; an
// NPU backend would implement the same interface with device memory and its own kernels.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>
#include "engine/ops.h"
#include "engine/tensor.h"

namespace ascent {

struct StoredTensor;

// Per layer, keys and values for `capacity` positions of each of `n_seqs` independent sequences
// (a batch decodes them side by side), each position kv_dim values, laid out as the backend's
// attention wants them (the CPU's: engine/cpu/attention_kernels.h).
struct KvCache {
    virtual ~KvCache() = default;  // the backend's subclass releases the buffers
    DType dtype = DType::F32;
    int n_layers = 0;
    int64_t capacity = 0;  // positions per sequence
    int64_t kv_dim = 0;
    int n_seqs = 1;
    std::vector<void*> k;  // one buffer per layer, holding every sequence
    std::vector<void*> v;
    size_t bytes() const {
        return 2 * static_cast<size_t>(n_layers) * static_cast<size_t>(n_seqs) * static_cast<size_t>(capacity * kv_dim) *
               dtype_size(dtype);
    }
};

struct BackendMemory {
    size_t weights = 0;      // weight bytes the backend reads (mapped, or copied to the device)
    size_t kv_cache = 0;     // allocated KV cache bytes
    size_t activations = 0;  // activation bytes allocated right now
    size_t activations_peak = 0;
};

// One output of a fused matrix product: y = x w^T (+ bias) (+ residual), rotated by RoPE at the
// step's positions when rope is set. Several outputs that share x (q, k, v) run as one pass.
struct LinearOutput {
    const Weight* weight = nullptr;
    const Weight* bias = nullptr;
    float* y = nullptr;                 // [rows, weight->rows]
    const float* residual = nullptr;    // [rows, weight->rows], added after the bias
    const RopeParams* rope = nullptr;
};

// A gated MLP's weights (biases may be nullptr): down(silu(gate(x)) * up(x)).
struct MlpWeights {
    const Weight* gate = nullptr;
    const Weight* gate_bias = nullptr;
    const Weight* up = nullptr;
    const Weight* up_bias = nullptr;
    const Weight* down = nullptr;
    const Weight* down_bias = nullptr;
};

// RMSNorm of a fused product's input: the product reads x normalized (x / rms(x) * weight), row
// by row exactly as Backend::rms_norm computes it, without the normalized rows being stored.
struct InputNorm {
    const Weight* weight = nullptr;
    float eps = 0;
};

// A stretch of work of one of the backend's threads (0: the caller's), on steady_clock in
// nanoseconds since its epoch: one task of a parallel kernel.
struct ThreadSpan {
    int thread = 0;
    int64_t begin_ns = 0, end_ns = 0;
};

// What the device can do at best, measured on the spot: the roofline `ascent bench` compares
// achieved figures against.
struct RooflineProbe {
    double read_bytes_per_second = 0;  // streaming read bandwidth of the weights' memory
    // The same read by one thread: near read_bytes_per_second where the memory is the limit, about
    // its share where each core's own bandwidth is (0 where not measured).
    double read_bytes_per_second_one_thread = 0;
    double peak_flops = 0;             // dot-product peak in the weights' precision (BF16), vector unit
    std::string peak_kernel;           // how the peak was measured
    double matrix_peak_flops = 0;      // a matrix unit's BF16 peak (AMX tiles), 0 when there is none
    // Whether BF16 prefill runs on that matrix unit: not where there is none, nor where the
    // backend was told to keep to the vector unit (ASCENT_SIMD). Its peak is then the prefill's.
    bool prefill_on_matrix_unit = false;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;        // "cpu"
    virtual std::string memory_label() const = 0;  // "RAM" on the host, "HBM" on a device
    virtual int threads() const = 0;
    virtual std::string describe() const = 0;    // e.g. "cpu (AVX-512 BF16, 2 threads)"

    // Weights stay where they are when the backend can read them (CPU: the mmap).
    virtual Weight adopt_weight(const StoredTensor& t, int64_t rows, int64_t cols) = 0;

    virtual std::unique_ptr<KvCache> create_kv_cache(int n_layers, int64_t capacity, int64_t kv_dim,
                                                     DType dtype, int n_seqs = 1) = 0;
    virtual float* alloc_activation(size_t floats) = 0;
    virtual void free_activation(float* p, size_t floats) = 0;
    // Gives activation memory that has been freed but is still held (an allocator's cache) back
    // to the system; called when a session switches modes, so one mode's leftovers do not sit
    // beside the other's working set.
    virtual void release_free_activations() {}
    virtual BackendMemory memory() const = 0;
    virtual RooflineProbe probe_roofline() = 0;
    // Read bandwidth over the weights' own memory right now: one pass over all of them with all
    // threads (bytes/s), so about as long as a decode step. The roof beside a decode step measured
    // at the same moment: machines whose bandwidth changes by the second (a VM's cores moved
    // between dies, neighbours' traffic) make an earlier or best-of probe the wrong yardstick.
    virtual double probe_weight_read_bandwidth() = 0;
    // The BF16 peak (FLOP/s) of the vector unit, or of the matrix unit (0 without one), right now
    // in about 50 ms: the yardstick beside a prefill timed at the same moment, for the same reason.
    virtual double probe_peak_flops(bool matrix_unit) = 0;
    // Seconds each of the backend's threads has spent running kernel work while accounting was
    // on, by thread (empty where the backend does not count). A step's wall time minus a thread's
    // share is what that core spent waiting: for the others, for the caller, for the next kernel.
    virtual void set_thread_accounting(bool /*on*/) {}
    virtual std::vector<double> thread_busy_seconds() const { return {}; }
    // A timeline of the threads' work while tracing is on (busy time is counted with it);
    // take_thread_trace() hands over what was recorded, empty where the backend keeps none.
    virtual void set_thread_tracing(bool /*on*/) {}
    virtual std::vector<ThreadSpan> take_thread_trace() { return {}; }

    // Kernels. Activations are f32 row-major [rows, cols].
    virtual void embed(const Weight& table, std::span<const int32_t> tokens, float* out) = 0;
    virtual void rms_norm(const float* x, int64_t rows, int64_t cols, const Weight& w, float eps,
                          float* out) = 0;
    virtual void linear(const float* x, int64_t rows, const Weight& w, const Weight* bias, float* out) = 0;
    virtual void rope(const float* x, int64_t rows, int64_t cols, std::span<const int32_t> positions,
                      const RopeParams& p, float* out) = 0;
    // Row r belongs to sequence seqs[r] of the cache (all to sequence 0 when seqs is empty): it
    // stores its key and value there and attends to that sequence's positions 0..positions[r].
    virtual void attention(const float* q, const float* k, const float* v, int64_t rows,
                           std::span<const int32_t> positions, std::span<const int32_t> seqs, KvCache& cache,
                           int layer, const AttentionParams& p, float* out) = 0;
    virtual void swiglu(const float* gate, const float* up, int64_t n, float* out) = 0;
    virtual void add(const float* a, const float* b, int64_t n, float* out) = 0;

    // Fused kernels for graph mode. Each output element is computed exactly as the unfused ops
    // compute it, so both modes give the same numbers.
    // `norm`, when set, normalizes x first (InputNorm).
    virtual void linear_fused(const float* x, int64_t rows, std::span<const LinearOutput> outputs,
                              std::span<const int32_t> positions, const InputNorm* norm) = 0;
    // out = silu(x gate^T + gate_bias) * (x up^T + up_bias), without materializing gate or up.
    virtual void linear_swiglu(const float* x, int64_t rows, const Weight& gate, const Weight* gate_bias,
                               const Weight& up, const Weight* up_bias, float* out, const InputNorm* norm) = 0;
    // The whole MLP: out = linear_swiglu(x) down^T + down_bias + residual (residual may be
    // nullptr). The SwiGLU activations go to the down product in whatever form its kernels read,
    // and need never exist as f32 rows.
    virtual void mlp(const float* x, int64_t rows, const MlpWeights& w, const float* residual, float* out,
                     const InputNorm* norm) = 0;
};

struct BackendOptions {
    std::string device = "cpu";
    int threads = 0;  // 0 = all cores
};

// "cpu" builds the CPU backend; any other device fails loudly (never a silent CPU fallback).
std::unique_ptr<Backend> create_backend(const BackendOptions& opt);

}  // namespace ascent
