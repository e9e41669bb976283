// Eager mode: every op runs the moment the model calls it and allocates its own output, which is
// freed when the model drops the last handle to it (PyTorch's eager semantics). No fusion, no
// planning: this is the honest op-by-op reference that graph mode is compared against.
#include <cstring>

#include "engine/error.h"
#include "engine/executor.h"

namespace ascent {

std::string mode_name(ExecMode m) { return m == ExecMode::Eager ? "eager" : "graph"; }

const char* logit_rows_name(LogitRows r) {
    switch (r) {
        case LogitRows::None: return "none";
        case LogitRows::Last: return "last";
        case LogitRows::All: return "all";
        case LogitRows::LastOfEach: return "each";
    }
    return "?";
}

void sequence_ends(std::span<const int32_t> seqs, int64_t rows, std::vector<int64_t>& out) {
    out.clear();
    for (int64_t r = 0; r < rows; ++r)
        if (r + 1 == rows || (!seqs.empty() && seqs[static_cast<size_t>(r)] != seqs[static_cast<size_t>(r + 1)]))
            out.push_back(r);
}

ExecMode parse_mode(const std::string& s) {
    if (s == "eager") return ExecMode::Eager;
    if (s == "graph") return ExecMode::Graph;
    input_error("unknown mode '{}' (expected eager or graph)", s);
}

namespace {

struct EagerBuffer final : TensorStorage {
    EagerBuffer(Backend& b, size_t n) : backend(b), floats(n), data(b.alloc_activation(n)) {}
    ~EagerBuffer() override { backend.free_activation(data, floats); }
    Backend& backend;
    size_t floats;
    float* data;
};

class EagerExecutor final : public Executor, private Ops {
public:
    explicit EagerExecutor(Backend& b) : b_(b) {}

    ExecMode mode() const override { return ExecMode::Eager; }
    // Each op's output is freed when the last tensor using it goes; what the allocator kept of
    // them goes back now.
    void release_memory() override { b_.release_free_activations(); }

    void run(const Model& model, const StepInput& in, KvCache& cache, std::vector<float>& logits) override {
        in_ = &in;
        cache_ = &cache;
        logits_ = &logits;
        got_logits_ = false;
        model.forward(*this);
        if (!got_logits_) runtime_error("the model's forward pass produced no logits");
    }

private:
    Tensor make(int64_t rows, int64_t cols) {
        Tensor t;
        t.rows = rows;
        t.cols = cols;
        t.storage = std::make_shared<EagerBuffer>(b_, static_cast<size_t>(rows * cols));
        t.id = next_id_++;
        return t;
    }
    static float* data(const Tensor& t) { return static_cast<EagerBuffer*>(t.storage.get())->data; }
    int64_t n_tokens() const { return static_cast<int64_t>(in_->tokens.size()); }

    Tensor embed(const Weight& table) override {
        Tensor out = make(n_tokens(), table.cols);
        b_.embed(table, in_->tokens, data(out));
        return out;
    }
    Tensor rms_norm(Tensor x, const Weight& w, float eps) override {
        Tensor out = make(x.rows, x.cols);
        b_.rms_norm(data(x), x.rows, x.cols, w, eps, data(out));
        return out;
    }
    Tensor linear(Tensor x, const Weight& w, const Weight* bias) override {
        if (x.cols != w.cols)
            runtime_error("linear {}: input has {} features, weight expects {}", w.name, x.cols, w.cols);
        Tensor out = make(x.rows, w.rows);
        b_.linear(data(x), x.rows, w, bias, data(out));
        return out;
    }
    Tensor rope(Tensor x, const RopeParams& p) override {
        Tensor out = make(x.rows, x.cols);
        b_.rope(data(x), x.rows, x.cols, in_->positions, p, data(out));
        return out;
    }
    Tensor attention(Tensor q, Tensor k, Tensor v, int layer, const AttentionParams& p) override {
        Tensor out = make(q.rows, static_cast<int64_t>(p.n_heads) * p.head_dim);
        b_.attention(data(q), data(k), data(v), q.rows, in_->positions, in_->seqs, *cache_, layer, p, data(out));
        return out;
    }
    Tensor swiglu(Tensor gate, Tensor up) override {
        Tensor out = make(gate.rows, gate.cols);
        b_.swiglu(data(gate), data(up), gate.numel(), data(out));
        return out;
    }
    Tensor add(Tensor a, Tensor b) override {
        Tensor out = make(a.rows, a.cols);
        b_.add(data(a), data(b), a.numel(), data(out));
        return out;
    }
    Tensor logit_rows(Tensor x) override {
        if (in_->logits == LogitRows::All) return x;
        if (in_->logits == LogitRows::None) return make(0, x.cols);
        if (in_->logits == LogitRows::Last) {
            ends_.assign(1, x.rows - 1);
        } else {
            sequence_ends(in_->seqs, x.rows, ends_);
        }
        Tensor out = make(static_cast<int64_t>(ends_.size()), x.cols);
        for (size_t i = 0; i < ends_.size(); ++i)
            std::memcpy(data(out) + static_cast<int64_t>(i) * x.cols, data(x) + ends_[i] * x.cols,
                        static_cast<size_t>(x.cols) * sizeof(float));
        return out;
    }
    void set_logits(Tensor t) override {
        logits_->assign(data(t), data(t) + t.numel());
        got_logits_ = true;
    }

    Backend& b_;
    const StepInput* in_ = nullptr;
    KvCache* cache_ = nullptr;
    std::vector<float>* logits_ = nullptr;
    bool got_logits_ = false;
    int32_t next_id_ = 0;
    std::vector<int64_t> ends_;
};

}  // namespace

std::unique_ptr<Executor> make_graph_executor(Backend& backend);

std::unique_ptr<Executor> make_executor(ExecMode mode, Backend& backend) {
    if (mode == ExecMode::Graph) return make_graph_executor(backend);
    return std::make_unique<EagerExecutor>(backend);
}

}  // namespace ascent
