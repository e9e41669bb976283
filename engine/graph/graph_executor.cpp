// Graph mode: the model is recorded once per shape bucket, fused and planned, then each step
// replays the node list with the step's inputs on the backend's persistent threads, writing into
// one preallocated arena. Like CUDA Graphs / ACL Graph in vLLM, with fixed prefill buckets.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <tuple>

#include "engine/error.h"
#include "engine/executor.h"
#include "engine/graph/graph.h"

namespace ascent {

namespace {

constexpr int64_t kBuckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

struct Captured {
    graph::Graph g;
    GraphInfo info;
};

class GraphExecutor final : public Executor {
public:
    explicit GraphExecutor(Backend& b) : b_(b) {}
    ~GraphExecutor() override { free_arena(); }

    ExecMode mode() const override { return ExecMode::Graph; }

    std::vector<GraphInfo> graphs() const override {
        std::vector<GraphInfo> out;
        for (const auto& [key, c] : captured_) out.push_back(c.info);
        return out;
    }
    size_t arena_bytes() const override { return arena_floats_ * sizeof(float); }
    void release_memory() override {
        free_arena();
        b_.release_free_activations();
    }

    void run(const Model& model, const StepInput& in, KvCache& cache, std::vector<float>& logits) override {
        const auto n = static_cast<int64_t>(in.tokens.size());
        logits.clear();
        int64_t done = 0;
        while (done < n) {
            const int64_t real = std::min(n - done, kBuckets[std::size(kBuckets) - 1]);
            const bool last_piece = done + real == n;
            // Every piece gives the logits of the sequences whose runs end in it: a run that goes
            // on in the next piece ends there.
            LogitRows rows = in.logits == LogitRows::All || in.logits == LogitRows::LastOfEach ? in.logits
                             : (last_piece && in.logits == LogitRows::Last)                  ? LogitRows::Last
                                                                                             : LogitRows::None;
            // Every row of one row is its last: one graph serves both (a lone sequence's decode
            // step asks for all rows, a chat's for the last).
            if (rows == LogitRows::All && real == 1) rows = LogitRows::Last;
            const auto end = static_cast<size_t>(done + real);
            const bool run_goes_on = !last_piece && (in.seqs.empty() || in.seqs[end - 1] == in.seqs[end]);
            run_piece(model, in, done, real, rows, run_goes_on, cache, logits);
            done += real;
        }
    }

private:
    // The smallest bucket that holds n tokens. A graph captured for a bucket replays any token
    // count up to it: its arena is planned for the bucket, and every kernel runs on the real rows
    // only, so nothing is padded and each token's arithmetic is what eager mode does.
    static int64_t bucket_for(int64_t n) {
        for (int64_t b : kBuckets)
            if (b >= n) return b;
        return kBuckets[std::size(kBuckets) - 1];
    }

    Captured& capture(const Model& model, int64_t bucket, LogitRows rows, int64_t picks) {
        auto key = std::make_tuple(bucket, static_cast<int>(rows), picks);
        auto it = captured_.find(key);
        if (it != captured_.end()) return it->second;
        const auto t0 = std::chrono::steady_clock::now();
        Captured c;
        c.g = graph::record(model, bucket, rows, picks);
        graph::fuse(c.g);
        graph::plan_memory(c.g);
        c.info.tokens = bucket;
        c.info.logits = rows;
        c.info.nodes_recorded = c.g.recorded_nodes;
        c.info.nodes_fused = static_cast<int>(c.g.nodes.size());
        c.info.arena_bytes = c.g.arena_bytes;
        const size_t floats = c.g.arena_bytes / sizeof(float);
        if (floats > arena_floats_) {  // one arena serves every bucket: only one replays at a time
            free_arena();
            arena_floats_ = floats;
        }
        c.info.capture_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return captured_.emplace(key, std::move(c)).first->second;
    }

    void run_piece(const Model& model, const StepInput& in, int64_t first, int64_t real, LogitRows rows,
                   bool run_goes_on, KvCache& cache, std::vector<float>& logits) {
        const int64_t bucket = bucket_for(real);
        // A prefill of several sequences picks one row per sequence: at most the cache's count.
        const int64_t picks = rows == LogitRows::LastOfEach ? std::min<int64_t>(bucket, cache.n_seqs) : 0;
        Captured& c = capture(model, bucket, rows, picks);
        if (!arena_) arena_ = b_.alloc_activation(arena_floats_);
        const std::span<const int32_t> tokens = in.tokens.subspan(static_cast<size_t>(first), static_cast<size_t>(real));
        const std::span<const int32_t> positions = in.positions.subspan(static_cast<size_t>(first), static_cast<size_t>(real));
        const std::span<const int32_t> seqs =
            in.seqs.empty() ? in.seqs : in.seqs.subspan(static_cast<size_t>(first), static_cast<size_t>(real));
        if (rows == LogitRows::LastOfEach) {
            sequence_ends(seqs, real, ends_);
            if (run_goes_on) ends_.pop_back();
            if (static_cast<int64_t>(ends_.size()) > picks)
                runtime_error("graph: a step picks the logits of {} runs of tokens, but a sequence's tokens must be "
                              "one run and the cache holds {} sequences", ends_.size(), cache.n_seqs);
        }
        replay(c.g, cache, tokens, positions, seqs);
        ++c.info.replays;
        const graph::Value& out = c.g.values[static_cast<size_t>(c.g.logits)];
        const float* data = at(out);
        logits.insert(logits.end(), data, data + rows_of(c.g, out, real) * out.cols);
    }

    // Rows a value has in this replay: the token dimension shrinks to the real count, and rows
    // picked per sequence to the sequences that end a run in this step.
    int64_t rows_of(const graph::Graph& g, const graph::Value& v, int64_t real) const {
        if (v.picked) return static_cast<int64_t>(ends_.size());
        return v.rows == g.tokens ? real : v.rows;
    }

    // The next run_piece() allocates it again, at the size of the largest bucket captured.
    void free_arena() {
        if (arena_) b_.free_activation(arena_, arena_floats_);
        arena_ = nullptr;
    }

    float* at(const graph::Value& v) { return arena_ + v.offset / sizeof(float); }
    float* at(int id, const graph::Graph& g) { return id < 0 ? nullptr : at(g.values[static_cast<size_t>(id)]); }

    void replay(const graph::Graph& g, KvCache& cache, std::span<const int32_t> tokens,
                std::span<const int32_t> positions, std::span<const int32_t> seqs) {
        using graph::Op;
        const auto real = static_cast<int64_t>(tokens.size());
        for (const graph::Node& n : g.nodes) {
            const graph::Value& o = g.values[static_cast<size_t>(n.out[0])];
            const int64_t rows = rows_of(g, o, real);
            float* y = at(o);
            switch (n.op) {
                case Op::Embed:
                    b_.embed(*n.weight, tokens, y);
                    break;
                case Op::RmsNorm:
                    b_.rms_norm(at(n.in[0], g), rows, o.cols, *n.weight, n.eps, y);
                    break;
                case Op::Linear: {
                    LinearOutput outs[8];
                    if (n.parts.size() > 8) runtime_error("graph: more than 8 fused products");
                    for (size_t i = 0; i < n.parts.size(); ++i) {
                        const auto& p = n.parts[i];
                        outs[i] = LinearOutput{p.weight, p.bias, at(p.out, g), at(p.residual, g),
                                               p.rope ? &*p.rope : nullptr};
                    }
                    b_.linear_fused(at(n.in[0], g), rows, std::span<const LinearOutput>(outs, n.parts.size()), positions,
                                    n.norm.weight ? &n.norm : nullptr);
                    break;
                }
                case Op::Rope:
                    b_.rope(at(n.in[0], g), rows, o.cols, positions, n.rope, y);
                    break;
                case Op::Attention:
                    b_.attention(at(n.in[0], g), at(n.in[1], g), at(n.in[2], g), rows, positions, seqs, cache, n.layer,
                                 n.attn, y);
                    break;
                case Op::Swiglu:
                    b_.swiglu(at(n.in[0], g), at(n.in[1], g), rows * o.cols, y);
                    break;
                case Op::Add:
                    b_.add(at(n.in[0], g), at(n.in[1], g), rows * o.cols, y);
                    break;
                case Op::LogitRows: {
                    const graph::Value& x = g.values[static_cast<size_t>(n.in[0])];
                    const auto copy_row = [&](int64_t from, int64_t to) {
                        std::memcpy(y + to * x.cols, at(x) + from * x.cols, static_cast<size_t>(x.cols) * sizeof(float));
                    };
                    if (o.picked) {
                        for (size_t i = 0; i < ends_.size(); ++i) copy_row(ends_[i], static_cast<int64_t>(i));
                    } else if (o.rows == 1) {  // the last real token
                        copy_row(real - 1, 0);
                    }
                    break;
                }
                case Op::LinearSwiglu:
                    b_.linear_swiglu(at(n.in[0], g), rows, *n.weight, n.bias, *n.weight2, n.bias2, y,
                                     n.norm.weight ? &n.norm : nullptr);
                    break;
                case Op::Mlp: {
                    const graph::LinearPart& down = n.parts[0];
                    const MlpWeights w{n.weight, n.bias, n.weight2, n.bias2, down.weight, down.bias};
                    b_.mlp(at(n.in[0], g), rows, w, at(down.residual, g), y, n.norm.weight ? &n.norm : nullptr);
                    break;
                }
            }
        }
    }

    Backend& b_;
    std::map<std::tuple<int64_t, int, int64_t>, Captured> captured_;  // (bucket, logit rows, picks)
    float* arena_ = nullptr;    // nullptr while released; sized for the largest bucket captured
    size_t arena_floats_ = 0;
    std::vector<int64_t> ends_;  // LogitRows::LastOfEach: the rows this replay picks
};

}  // namespace

std::unique_ptr<Executor> make_graph_executor(Backend& backend) { return std::make_unique<GraphExecutor>(backend); }

}  // namespace ascent
