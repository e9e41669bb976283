// Fusion passes over a recorded graph. Each rewrite keeps every output element's arithmetic
// exactly as the unfused ops do it (same kernels, same order), so graph mode matches eager.
#include <algorithm>

#include "engine/graph/graph.h"

namespace ascent::graph {

namespace {

std::vector<int> use_counts(const Graph& g) {
    std::vector<int> uses(g.values.size(), 0);
    for (const Node& n : g.nodes)
        if (!n.dead)
            for (int v : n.in) ++uses[static_cast<size_t>(v)];
    if (g.logits >= 0) ++uses[static_cast<size_t>(g.logits)];
    return uses;
}

// A plain product (one output, nothing fused into it yet) whose output only `reader` uses.
Node* plain_linear_feeding(Graph& g, int value, const std::vector<int>& uses) {
    const int p = g.values[static_cast<size_t>(value)].producer;
    if (p < 0 || uses[static_cast<size_t>(value)] != 1) return nullptr;
    Node& n = g.nodes[static_cast<size_t>(p)];
    if (n.dead || n.op != Op::Linear || n.parts.size() != 1) return nullptr;
    const LinearPart& part = n.parts[0];
    if (part.residual >= 0 || part.rope) return nullptr;
    return &n;
}

// Whether `value` exists before node `node` runs (a fused residual must, where the product runs).
bool produced_before(const Graph& g, int value, int node) {
    return g.values[static_cast<size_t>(value)].producer < node;
}

// The producer of `from` takes over `node`'s output value.
void redirect_output(Graph& g, Node& producer, Node& node) {
    const int out = node.out[0];
    producer.out = {out};
    producer.parts[0].out = out;
    g.values[static_cast<size_t>(out)].producer = static_cast<int>(&producer - g.nodes.data());
    node.dead = true;
}

void fuse_rope(Graph& g) {
    auto uses = use_counts(g);
    for (Node& n : g.nodes) {
        if (n.dead || n.op != Op::Rope) continue;
        Node* lin = plain_linear_feeding(g, n.in[0], uses);
        if (!lin) continue;
        lin->parts[0].rope = n.rope;
        redirect_output(g, *lin, n);
    }
}

void fuse_residual(Graph& g) {
    auto uses = use_counts(g);
    for (Node& n : g.nodes) {
        if (n.dead || n.op != Op::Add) continue;
        for (int side = 1; side >= 0; --side) {
            const int product = n.in[static_cast<size_t>(side)];
            const int other = n.in[static_cast<size_t>(1 - side)];
            Node* lin = plain_linear_feeding(g, product, uses);
            // The residual must exist before the product runs.
            if (!lin || !produced_before(g, other, static_cast<int>(lin - g.nodes.data()))) continue;
            lin->parts[0].residual = other;
            lin->in.push_back(other);
            redirect_output(g, *lin, n);
            break;
        }
    }
}

void fuse_swiglu(Graph& g) {
    auto uses = use_counts(g);
    for (Node& n : g.nodes) {
        if (n.dead || n.op != Op::Swiglu) continue;
        Node* gate = plain_linear_feeding(g, n.in[0], uses);
        Node* up = plain_linear_feeding(g, n.in[1], uses);
        if (!gate || !up || gate == up || gate->in[0] != up->in[0]) continue;
        n.op = Op::LinearSwiglu;
        n.in = {gate->in[0]};
        n.weight = gate->parts[0].weight;
        n.bias = gate->parts[0].bias;
        n.weight2 = up->parts[0].weight;
        n.bias2 = up->parts[0].bias;
        gate->dead = up->dead = true;
    }
}

// A plain product (its residual fused or not) whose input only comes from a gate/up/SwiGLU node
// joins that node: the activations between them need never be stored.
void fuse_mlp(Graph& g) {
    auto uses = use_counts(g);
    for (Node& n : g.nodes) {
        if (n.dead || n.op != Op::Linear || n.parts.size() != 1 || n.parts[0].rope || n.norm.weight) continue;
        const int act = n.in[0];
        const int p = g.values[static_cast<size_t>(act)].producer;
        if (p < 0 || uses[static_cast<size_t>(act)] != 1) continue;
        Node& s = g.nodes[static_cast<size_t>(p)];
        const int residual = n.parts[0].residual;
        if (s.dead || s.op != Op::LinearSwiglu || (residual >= 0 && !produced_before(g, residual, p))) continue;
        s.op = Op::Mlp;
        s.parts = n.parts;
        s.out = n.out;
        if (residual >= 0) s.in.push_back(residual);
        g.values[static_cast<size_t>(n.out[0])].producer = p;
        n.dead = true;
    }
}

// Consecutive products that read the same input become one pass (q, k and v).
void fuse_shared_input(Graph& g) {
    Node* group = nullptr;
    for (Node& n : g.nodes) {
        if (n.dead) continue;
        const bool joinable = n.op == Op::Linear && n.parts.size() == 1 && n.parts[0].residual < 0;
        if (joinable && group && group->in[0] == n.in[0]) {
            group->parts.push_back(n.parts[0]);
            group->out.push_back(n.out[0]);
            g.values[static_cast<size_t>(n.out[0])].producer = static_cast<int>(group - g.nodes.data());
            n.dead = true;
            continue;
        }
        group = joinable ? &n : nullptr;
    }
}

// An RMSNorm whose output only one product (possibly fused) reads as its input: the product
// normalizes the rows itself while preparing them, and the normalized rows are never stored.
void fuse_norm(Graph& g) {
    auto uses = use_counts(g);
    for (Node& n : g.nodes) {
        if (n.dead || (n.op != Op::Linear && n.op != Op::LinearSwiglu && n.op != Op::Mlp) || n.norm.weight) continue;
        const int input = n.in[0];
        const int p = g.values[static_cast<size_t>(input)].producer;
        if (p < 0 || uses[static_cast<size_t>(input)] != 1) continue;
        Node& norm = g.nodes[static_cast<size_t>(p)];
        if (norm.dead || norm.op != Op::RmsNorm) continue;
        n.norm = InputNorm{norm.weight, norm.eps};
        n.in[0] = norm.in[0];
        ++uses[static_cast<size_t>(norm.in[0])];
        norm.dead = true;
    }
}

}  // namespace

void fuse(Graph& g) {
    fuse_rope(g);
    fuse_residual(g);
    fuse_swiglu(g);
    fuse_mlp(g);
    fuse_shared_input(g);
    fuse_norm(g);
    // Compact: renumber producers to the surviving nodes' positions.
    std::vector<Node> live;
    for (Node& n : g.nodes)
        if (!n.dead) live.push_back(std::move(n));
    g.nodes = std::move(live);
    for (auto& v : g.values) v.producer = -1;  // values of removed nodes are never materialized
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (int v : g.nodes[i].out) g.values[static_cast<size_t>(v)].producer = static_cast<int>(i);
}

}  // namespace ascent::graph
