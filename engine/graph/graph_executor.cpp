// Graph mode: the model is recorded once per shape bucket, fused and planned, then each step
// replays the node list with the step's inputs on the backend's persistent threads, writing into
// one preallocated arena. Like CUDA Graphs / ACL Graph in vLLM, with fixed prefill buckets.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

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
    ~GraphExecutor() override {
        if (arena_) b_.free_activation(arena_, arena_floats_);
    }

    ExecMode mode() const override { return ExecMode::Graph; }

    std::vector<GraphInfo> graphs() const override {
        std::vector<GraphInfo> out;
        for (const auto& [key, c] : captured_) out.push_back(c.info);
        return out;
    }
    size_t arena_bytes() const override { return arena_floats_ * sizeof(float); }

    void run(const Model& model, const StepInput& in, KvCache& cache, std::vector<float>& logits) override {
        const auto n = static_cast<int64_t>(in.tokens.size());
        logits.clear();
        int64_t done = 0;
        while (done < n) {
            const int64_t remaining = n - done;
            const int64_t room = cache.capacity - in.positions[static_cast<size_t>(done)];
            auto [real, bucket] = choose_piece(remaining, n, room);
            const bool last_piece = done + real == n;
            LogitRows rows = in.logits == LogitRows::All ? LogitRows::All
                             : (last_piece && in.logits == LogitRows::Last) ? LogitRows::Last
                                                                              : LogitRows::None;
            run_piece(model, in, done, real, bucket, rows, cache, logits);
            done += real;
        }
    }

private:
    // How many of the remaining tokens the next replay takes, and the bucket it runs in. A piece
    // is padded up to a bucket when that wastes at most a quarter of it; otherwise the largest
    // bucket that fits is split off. Prefill pieces never run as a single token (padded to 2),
    // so each prompt token goes through the same batched kernels as in eager mode.
    static std::pair<int64_t, int64_t> choose_piece(int64_t remaining, int64_t total, int64_t room) {
        int64_t up = 0, down = 1;
        for (int64_t b : kBuckets) {
            if (b >= remaining && up == 0) up = b;
            if (b <= remaining) down = b;
        }
        if (total > 1 && up == 1) up = 2;
        if (up != 0 && up <= room && ((up - remaining) * 4 <= up || remaining < 4 || (total > 1 && remaining == 1)))
            return {remaining, up};
        return {std::min(remaining, down), std::min(remaining, down)};
    }

    Captured& capture(const Model& model, int64_t bucket, LogitRows rows) {
        auto key = std::make_pair(bucket, static_cast<int>(rows));
        auto it = captured_.find(key);
        if (it != captured_.end()) return it->second;
        const auto t0 = std::chrono::steady_clock::now();
        Captured c;
        c.g = graph::record(model, bucket, rows);
        graph::fuse(c.g);
        graph::plan_memory(c.g);
        c.info.tokens = bucket;
        c.info.logits = rows;
        c.info.nodes_recorded = c.g.recorded_nodes;
        c.info.nodes_fused = static_cast<int>(c.g.nodes.size());
        c.info.arena_bytes = c.g.arena_bytes;
        const size_t floats = c.g.arena_bytes / sizeof(float);
        if (floats > arena_floats_) {  // one arena serves every bucket: only one replays at a time
            if (arena_) b_.free_activation(arena_, arena_floats_);
            arena_ = b_.alloc_activation(floats);
            arena_floats_ = floats;
        }
        c.info.capture_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return captured_.emplace(key, std::move(c)).first->second;
    }

    void run_piece(const Model& model, const StepInput& in, int64_t first, int64_t real, int64_t bucket,
                   LogitRows rows, KvCache& cache, std::vector<float>& logits) {
        Captured& c = capture(model, bucket, rows);
        // Inputs of this replay: the real tokens, then padding that continues the positions.
        tokens_.assign(in.tokens.begin() + first, in.tokens.begin() + first + real);
        positions_.assign(in.positions.begin() + first, in.positions.begin() + first + real);
        for (int64_t i = real; i < bucket; ++i) {
            tokens_.push_back(tokens_.back());
            positions_.push_back(positions_.back() + 1);
        }
        replay(c.g, cache, real);
        ++c.info.replays;
        const graph::Value& out = c.g.values[static_cast<size_t>(c.g.logits)];
        const float* data = at(out);
        const int64_t keep = rows == LogitRows::All ? real : out.rows;
        logits.insert(logits.end(), data, data + keep * out.cols);
    }

    float* at(const graph::Value& v) { return arena_ + v.offset / sizeof(float); }
    float* at(int id, const graph::Graph& g) { return id < 0 ? nullptr : at(g.values[static_cast<size_t>(id)]); }

    void replay(const graph::Graph& g, KvCache& cache, int64_t real) {
        using graph::Op;
        const std::span<const int32_t> tokens(tokens_), positions(positions_);
        for (const graph::Node& n : g.nodes) {
            const graph::Value& o = g.values[static_cast<size_t>(n.out[0])];
            float* y = at(o);
            switch (n.op) {
                case Op::Embed:
                    b_.embed(*n.weight, tokens, y);
                    break;
                case Op::RmsNorm:
                    b_.rms_norm(at(n.in[0], g), o.rows, o.cols, *n.weight, n.eps, y);
                    break;
                case Op::Linear: {
                    LinearOutput outs[8];
                    if (n.parts.size() > 8) runtime_error("graph: more than 8 fused products");
                    for (size_t i = 0; i < n.parts.size(); ++i) {
                        const auto& p = n.parts[i];
                        outs[i] = LinearOutput{p.weight, p.bias, at(p.out, g), at(p.residual, g),
                                               p.rope ? &*p.rope : nullptr};
                    }
                    b_.linear_fused(at(n.in[0], g), o.rows, std::span<const LinearOutput>(outs, n.parts.size()), positions);
                    break;
                }
                case Op::Rope:
                    b_.rope(at(n.in[0], g), o.rows, o.cols, positions, n.rope, y);
                    break;
                case Op::Attention:
                    b_.attention(at(n.in[0], g), at(n.in[1], g), at(n.in[2], g), o.rows, positions, cache, n.layer,
                                 n.attn, y);
                    break;
                case Op::Swiglu:
                    b_.swiglu(at(n.in[0], g), at(n.in[1], g), o.rows * o.cols, y);
                    break;
                case Op::Add:
                    b_.add(at(n.in[0], g), at(n.in[1], g), o.rows * o.cols, y);
                    break;
                case Op::LogitRows:
                    if (o.rows == 1) {  // the last real token, not the padding after it
                        const graph::Value& x = g.values[static_cast<size_t>(n.in[0])];
                        std::memcpy(y, at(x) + (real - 1) * x.cols, static_cast<size_t>(x.cols) * sizeof(float));
                    }
                    break;
                case Op::LinearSwiglu:
                    b_.linear_swiglu(at(n.in[0], g), o.rows, *n.weight, n.bias, *n.weight2, n.bias2, y);
                    break;
            }
        }
    }

    Backend& b_;
    std::map<std::pair<int64_t, int>, Captured> captured_;
    float* arena_ = nullptr;
    size_t arena_floats_ = 0;
    std::vector<int32_t> tokens_, positions_;
};

}  // namespace

std::unique_ptr<Executor> make_graph_executor(Backend& backend) { return std::make_unique<GraphExecutor>(backend); }

}  // namespace ascent
