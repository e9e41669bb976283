#include "engine/profiling_backend.h"

#include <algorithm>

#include "engine/steady_ns.h"

namespace ascent {

namespace {

constexpr const char* kAlloc = "alloc/free";

double f32_bytes(int64_t n) { return static_cast<double>(n) * sizeof(float); }

// Fused products are named by what they fuse, so graph mode's kernels read as what they replace.
std::string fused_kind(std::span<const LinearOutput> outs, bool norm) {
    std::string kind = outs.size() > 1 ? "linear x" + std::to_string(outs.size()) : "linear";
    if (norm) kind += " +norm";
    bool rope = false, residual = false, bias = false;
    for (const auto& o : outs) {
        rope |= o.rope != nullptr;
        residual |= o.residual != nullptr;
        bias |= o.bias != nullptr;
    }
    if (bias) kind += " +bias";
    if (rope) kind += " +rope";
    if (residual) kind += " +residual";
    return kind;
}

}  // namespace

double StepProfile::kernel_seconds() const {
    double s = 0;
    for (const auto& [kind, p] : ops)
        if (kind != kAlloc) s += p.seconds;
    return s;
}

double StepProfile::alloc_seconds() const {
    auto it = ops.find(kAlloc);
    return it == ops.end() ? 0 : it->second.seconds;
}

void ProfilingBackend::start(StepProfile* into, bool trace) {
    rec_ = into;
    trace_ = trace;
    b_.set_thread_accounting(true);
    if (trace) {
        b_.take_thread_trace();  // nothing from before this recording
        b_.set_thread_tracing(true);
        into->kernel_spans.reserve(into->kernel_spans.size() + 4096);
    }
    busy_at_start_ = b_.thread_busy_seconds();
}

void ProfilingBackend::stop() {
    if (rec_) {
        const std::vector<double> now = b_.thread_busy_seconds();
        if (rec_->thread_busy_seconds.size() < now.size()) rec_->thread_busy_seconds.resize(now.size());
        for (size_t t = 0; t < now.size() && t < busy_at_start_.size(); ++t)
            rec_->thread_busy_seconds[t] += now[t] - busy_at_start_[t];
    }
    if (trace_) {
        b_.set_thread_tracing(false);
        if (rec_) {
            const std::vector<ThreadSpan> spans = b_.take_thread_trace();
            rec_->thread_spans.insert(rec_->thread_spans.end(), spans.begin(), spans.end());
        }
    }
    b_.set_thread_accounting(false);
    rec_ = nullptr;
    trace_ = false;
}

template <typename F>
void ProfilingBackend::timed(const char* kind, double bytes_written, F&& fn) {
    if (!rec_) {
        fn();
        return;
    }
    const auto t0 = Clock::now();
    fn();
    const auto t1 = Clock::now();
    OpProfile& p = rec_->ops[kind];
    p.seconds += std::chrono::duration<double>(t1 - t0).count();
    ++p.calls;
    p.bytes_written += bytes_written;
    if (trace_) {
        auto& kinds = rec_->span_kinds;
        const auto at = std::find(kinds.begin(), kinds.end(), kind);
        const auto index = static_cast<int>(at - kinds.begin());
        if (at == kinds.end()) kinds.emplace_back(kind);
        rec_->kernel_spans.push_back({index, steady_ns(t0), steady_ns(t1)});
    }
}

float* ProfilingBackend::alloc_activation(size_t floats) {
    float* p = nullptr;
    timed(kAlloc, 0, [&] { p = b_.alloc_activation(floats); });
    return p;
}

void ProfilingBackend::free_activation(float* p, size_t floats) {
    // One count per allocation: the free is part of the same cost.
    if (!rec_) return b_.free_activation(p, floats);
    const auto t0 = Clock::now();
    b_.free_activation(p, floats);
    rec_->ops[kAlloc].seconds += std::chrono::duration<double>(Clock::now() - t0).count();
}

void ProfilingBackend::embed(const Weight& table, std::span<const int32_t> tokens, float* out) {
    timed("embed", f32_bytes(static_cast<int64_t>(tokens.size()) * table.cols), [&] { b_.embed(table, tokens, out); });
}

void ProfilingBackend::rms_norm(const float* x, int64_t rows, int64_t cols, const Weight& w, float eps, float* out) {
    timed("rms_norm", f32_bytes(rows * cols), [&] { b_.rms_norm(x, rows, cols, w, eps, out); });
}

void ProfilingBackend::linear(const float* x, int64_t rows, const Weight& w, const Weight* bias, float* out) {
    timed(bias ? "linear +bias" : "linear", f32_bytes(rows * w.rows), [&] { b_.linear(x, rows, w, bias, out); });
}

void ProfilingBackend::rope(const float* x, int64_t rows, int64_t cols, std::span<const int32_t> positions,
                            const RopeParams& p, float* out) {
    timed("rope", f32_bytes(rows * cols), [&] { b_.rope(x, rows, cols, positions, p, out); });
}

void ProfilingBackend::attention(const float* q, const float* k, const float* v, int64_t rows,
                                 std::span<const int32_t> positions, std::span<const int32_t> seqs, KvCache& cache,
                                 int layer, const AttentionParams& p, float* out) {
    timed("attention", f32_bytes(rows * p.n_heads * p.head_dim),
          [&] { b_.attention(q, k, v, rows, positions, seqs, cache, layer, p, out); });
}

void ProfilingBackend::swiglu(const float* gate, const float* up, int64_t n, float* out) {
    timed("swiglu", f32_bytes(n), [&] { b_.swiglu(gate, up, n, out); });
}

void ProfilingBackend::add(const float* a, const float* b, int64_t n, float* out) {
    timed("add", f32_bytes(n), [&] { b_.add(a, b, n, out); });
}

void ProfilingBackend::linear_fused(const float* x, int64_t rows, std::span<const LinearOutput> outputs,
                                    std::span<const int32_t> positions, const InputNorm* norm) {
    if (!rec_) return b_.linear_fused(x, rows, outputs, positions, norm);
    int64_t cols = 0;
    for (const auto& o : outputs) cols += o.weight->rows;
    const std::string kind = fused_kind(outputs, norm != nullptr);
    timed(kind.c_str(), f32_bytes(rows * cols), [&] { b_.linear_fused(x, rows, outputs, positions, norm); });
}

void ProfilingBackend::linear_swiglu(const float* x, int64_t rows, const Weight& gate, const Weight* gate_bias,
                                     const Weight& up, const Weight* up_bias, float* out, const InputNorm* norm) {
    timed(norm ? "linear x2 +norm +swiglu" : "linear x2 +swiglu", f32_bytes(rows * gate.rows),
          [&] { b_.linear_swiglu(x, rows, gate, gate_bias, up, up_bias, out, norm); });
}

void ProfilingBackend::mlp(const float* x, int64_t rows, const MlpWeights& w, const float* residual, float* out,
                           const InputNorm* norm) {
    if (!rec_) return b_.mlp(x, rows, w, residual, out, norm);  // no name built on unprofiled steps
    std::string kind = norm ? "linear x3 +norm +swiglu" : "linear x3 +swiglu";
    if (w.gate_bias || w.up_bias || w.down_bias) kind += " +bias";
    if (residual) kind += " +residual";
    timed(kind.c_str(), f32_bytes(rows * w.down->rows), [&] { b_.mlp(x, rows, w, residual, out, norm); });
}

}  // namespace ascent
