#pragma once
// A backend that forwards every call to another one and, while recording, times each kernel and
// each activation allocation by kind. `ascent bench latency --profile` runs a request through it
// in each mode to show where a step's time goes: which kernels, how many of them (dispatches),
// how much allocation, how many activation bytes written (unfused memory passes), what is left
// outside the kernels (the executor's own bookkeeping), and how much of the time each backend
// thread worked rather than waited.
#include <chrono>
#include <map>
#include <string>
#include <vector>
#include "engine/backend.h"

namespace ascent {

struct OpProfile {
    int64_t calls = 0;
    double seconds = 0;
    double bytes_written = 0;  // activation bytes the kernels of this kind produced
};

// One kernel call as the caller saw it, on steady_clock in nanoseconds since its epoch.
struct KernelSpan {
    int kind = 0;  // index into StepProfile::span_kinds
    int64_t begin_ns = 0, end_ns = 0;
};

struct StepProfile {
    std::map<std::string, OpProfile> ops;  // by kernel kind; "alloc/free" for activation memory
    int64_t steps = 0;                     // forward calls recorded
    double wall_seconds = 0;               // of those calls, as the caller timed them
    std::vector<double> thread_busy_seconds;  // of those calls, each backend thread's time in kernel work
    double kernel_seconds() const;         // every kind but allocation
    double alloc_seconds() const;
    // The timeline of the calls recorded with tracing on: each kernel call, and each task the
    // backend's threads ran (where the backend records them).
    std::vector<std::string> span_kinds;
    std::vector<KernelSpan> kernel_spans;
    std::vector<ThreadSpan> thread_spans;
};

class ProfilingBackend final : public Backend {
public:
    explicit ProfilingBackend(Backend& inner) : b_(inner) {}

    // Records into `into` until stop(); `into` must outlive the recording. With `trace`, the
    // timeline too.
    void start(StepProfile* into, bool trace = false);
    void stop();

    std::string name() const override { return b_.name(); }
    std::string memory_label() const override { return b_.memory_label(); }
    int threads() const override { return b_.threads(); }
    std::string describe() const override { return b_.describe(); }
    Weight adopt_weight(const StoredTensor& t, int64_t rows, int64_t cols) override { return b_.adopt_weight(t, rows, cols); }
    std::unique_ptr<KvCache> create_kv_cache(int n_layers, int64_t capacity, int64_t kv_dim, DType dtype,
                                             int n_seqs = 1) override {
        return b_.create_kv_cache(n_layers, capacity, kv_dim, dtype, n_seqs);
    }
    float* alloc_activation(size_t floats) override;
    void free_activation(float* p, size_t floats) override;
    void release_free_activations() override { b_.release_free_activations(); }
    BackendMemory memory() const override { return b_.memory(); }
    RooflineProbe probe_roofline() override { return b_.probe_roofline(); }
    double probe_weight_read_bandwidth() override { return b_.probe_weight_read_bandwidth(); }
    double probe_peak_flops(bool matrix_unit) override { return b_.probe_peak_flops(matrix_unit); }
    void set_thread_accounting(bool on) override { b_.set_thread_accounting(on); }
    std::vector<double> thread_busy_seconds() const override { return b_.thread_busy_seconds(); }
    void set_thread_tracing(bool on) override { b_.set_thread_tracing(on); }
    std::vector<ThreadSpan> take_thread_trace() override { return b_.take_thread_trace(); }

    void embed(const Weight& table, std::span<const int32_t> tokens, float* out) override;
    void rms_norm(const float* x, int64_t rows, int64_t cols, const Weight& w, float eps, float* out) override;
    void linear(const float* x, int64_t rows, const Weight& w, const Weight* bias, float* out) override;
    void rope(const float* x, int64_t rows, int64_t cols, std::span<const int32_t> positions, const RopeParams& p,
              float* out) override;
    void attention(const float* q, const float* k, const float* v, int64_t rows, std::span<const int32_t> positions,
                   std::span<const int32_t> seqs, KvCache& cache, int layer, const AttentionParams& p,
                   float* out) override;
    void swiglu(const float* gate, const float* up, int64_t n, float* out) override;
    void add(const float* a, const float* b, int64_t n, float* out) override;
    void linear_fused(const float* x, int64_t rows, std::span<const LinearOutput> outputs,
                      std::span<const int32_t> positions, const InputNorm* norm) override;
    void linear_swiglu(const float* x, int64_t rows, const Weight& gate, const Weight* gate_bias, const Weight& up,
                       const Weight* up_bias, float* out, const InputNorm* norm) override;
    void mlp(const float* x, int64_t rows, const MlpWeights& w, const float* residual, float* out,
             const InputNorm* norm) override;

private:
    using Clock = std::chrono::steady_clock;
    // Times fn() under `kind` when recording; just runs it otherwise.
    template <typename F>
    void timed(const char* kind, double bytes_written, F&& fn);

    Backend& b_;
    StepProfile* rec_ = nullptr;
    bool trace_ = false;
    std::vector<double> busy_at_start_;
};

}  // namespace ascent
