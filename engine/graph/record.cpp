// Recording: the model's forward function runs once against this Ops, which builds nodes
// instead of computing. Shapes are known from the bucket, so no data is touched.
#include "engine/error.h"
#include "engine/graph/graph.h"

namespace ascent::graph {

const char* op_name(Op op) {
    switch (op) {
        case Op::Embed: return "embed";
        case Op::RmsNorm: return "rms_norm";
        case Op::Linear: return "linear";
        case Op::Rope: return "rope";
        case Op::Attention: return "attention";
        case Op::Swiglu: return "swiglu";
        case Op::Add: return "add";
        case Op::LogitRows: return "logit_rows";
        case Op::LinearSwiglu: return "linear_swiglu";
        case Op::Mlp: return "mlp";
    }
    return "?";
}

namespace {

class Recorder final : public Ops {
public:
    Recorder(Graph& g, int64_t tokens, LogitRows rows, int64_t picks)
        : g_(g), tokens_(tokens), rows_(rows), picks_(picks) {}

    Tensor embed(const Weight& table) override {
        Node n{.op = Op::Embed, .weight = &table};
        return emit(std::move(n), {}, tokens_, table.cols);
    }
    Tensor rms_norm(Tensor x, const Weight& w, float eps) override {
        Node n{.op = Op::RmsNorm, .weight = &w, .eps = eps};
        return emit(std::move(n), {x}, x.rows, x.cols);
    }
    Tensor linear(Tensor x, const Weight& w, const Weight* bias) override {
        Node n{.op = Op::Linear};
        n.parts.push_back(LinearPart{&w, bias, -1, -1, std::nullopt});
        return emit(std::move(n), {x}, x.rows, w.rows);
    }
    Tensor rope(Tensor x, const RopeParams& p) override {
        Node n{.op = Op::Rope, .rope = p};
        return emit(std::move(n), {x}, x.rows, x.cols);
    }
    Tensor attention(Tensor q, Tensor k, Tensor v, int layer, const AttentionParams& p) override {
        Node n{.op = Op::Attention, .attn = p, .layer = layer};
        return emit(std::move(n), {q, k, v}, q.rows, static_cast<int64_t>(p.n_heads) * p.head_dim);
    }
    Tensor swiglu(Tensor gate, Tensor up) override {
        return emit(Node{.op = Op::Swiglu}, {gate, up}, gate.rows, gate.cols);
    }
    Tensor add(Tensor a, Tensor b) override { return emit(Node{.op = Op::Add}, {a, b}, a.rows, a.cols); }
    Tensor logit_rows(Tensor x) override {
        if (rows_ == LogitRows::All) return x;
        const int64_t rows = rows_ == LogitRows::Last ? 1 : rows_ == LogitRows::None ? 0 : picks_;
        Tensor t = emit(Node{.op = Op::LogitRows}, {x}, rows, x.cols);
        g_.values[static_cast<size_t>(t.id)].picked = rows_ == LogitRows::LastOfEach;
        return t;
    }
    void set_logits(Tensor t) override { g_.logits = t.id; }

private:
    Tensor emit(Node n, std::initializer_list<Tensor> inputs, int64_t rows, int64_t cols) {
        for (const Tensor& t : inputs) {
            if (t.id < 0 || static_cast<size_t>(t.id) >= g_.values.size())
                runtime_error("graph capture: an op received a tensor that was not recorded");
            n.in.push_back(t.id);
        }
        const int id = static_cast<int>(g_.values.size());
        bool picked = false;
        for (const Tensor& t : inputs) picked |= g_.values[static_cast<size_t>(t.id)].picked;
        g_.values.push_back(Value{rows, cols, static_cast<int>(g_.nodes.size()), -1, 0, picked});
        n.out = {id};
        if (n.op == Op::Linear) n.parts[0].out = id;
        g_.nodes.push_back(std::move(n));
        Tensor t;
        t.id = id;
        t.rows = rows;
        t.cols = cols;
        return t;
    }

    Graph& g_;
    int64_t tokens_;
    LogitRows rows_;
    int64_t picks_;
};

}  // namespace

Graph record(const Model& model, int64_t tokens, LogitRows rows, int64_t picks) {
    if (rows == LogitRows::LastOfEach && (picks < 1 || picks > tokens))
        runtime_error("graph capture: {} picked rows for a bucket of {} tokens", picks, tokens);
    Graph g;
    g.tokens = tokens;
    g.logit_rows = rows;
    Recorder rec(g, tokens, rows, rows == LogitRows::LastOfEach ? picks : 0);
    model.forward(rec);
    if (g.logits < 0) runtime_error("graph capture: the model's forward pass produced no logits");
    g.recorded_nodes = static_cast<int>(g.nodes.size());
    return g;
}

}  // namespace ascent::graph
