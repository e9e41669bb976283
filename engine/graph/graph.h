#pragma once
// Graph mode's data: the ops a model's forward pass called for one shape bucket, rewritten by
// fusion passes and laid out in one arena by tensor lifetimes, then replayed step after step.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include "engine/backend.h"
#include "engine/executor.h"
#include "engine/model.h"
#include "engine/ops.h"

namespace ascent::graph {

enum class Op { Embed, RmsNorm, Linear, Rope, Attention, Swiglu, Add, LogitRows, LinearSwiglu, Mlp };

const char* op_name(Op op);

// One tensor of the graph: an f32 [rows, cols] region of the arena.
struct Value {
    int64_t rows = 0;
    int64_t cols = 0;
    int producer = -1;  // node index
    int last_use = -1;  // last node index that reads it
    size_t offset = 0;  // in the arena, after planning
    // Rows picked per sequence (LogitRows::LastOfEach) and what is computed from them: `rows` is
    // the `picks` given to record(), and a replay has one row per sequence whose run of tokens
    // ends in the step.
    bool picked = false;
    size_t bytes() const { return static_cast<size_t>(rows * cols) * sizeof(float); }
};

// One output of a (possibly fused) matrix product.
struct LinearPart {
    const Weight* weight = nullptr;
    const Weight* bias = nullptr;
    int out = -1;
    int residual = -1;                 // value added to the product (fused residual add)
    std::optional<RopeParams> rope;    // rotation applied to the product (fused RoPE)
};

struct Node {
    Op op = Op::Embed;
    std::vector<int> in;               // values read (residuals of parts included)
    std::vector<int> out;              // values written
    const Weight* weight = nullptr;    // Embed table, RmsNorm weight, LinearSwiglu/Mlp gate
    const Weight* bias = nullptr;      // LinearSwiglu/Mlp gate bias
    const Weight* weight2 = nullptr;   // LinearSwiglu/Mlp up
    const Weight* bias2 = nullptr;
    float eps = 0;
    RopeParams rope{};
    AttentionParams attn{};
    int layer = 0;
    std::vector<LinearPart> parts;     // Linear; Mlp: its down product
    // Linear, LinearSwiglu, Mlp: in[0] is RMS-normalized first when norm.weight is set (a fused
    // RmsNorm).
    InputNorm norm;
    bool dead = false;
};

struct Graph {
    std::vector<Value> values;
    std::vector<Node> nodes;
    int logits = -1;
    int64_t tokens = 0;
    LogitRows logit_rows = LogitRows::Last;
    int recorded_nodes = 0;
    size_t arena_bytes = 0;
};

// Runs the model's forward function against a recording Ops for `tokens` tokens. With
// LogitRows::LastOfEach, a replay picks at most `picks` rows (one per sequence the step feeds),
// and the picked values are planned at that size, not the bucket's.
Graph record(const Model& model, int64_t tokens, LogitRows rows, int64_t picks = 0);
// Fusions: RoPE into the q/k product, residual adds into the product before them, gate+up+SwiGLU
// into one kernel and the down product that alone reads it into the same (Mlp), products sharing
// an input (q, k, v) into one pass, and an RMSNorm into the one product that reads it. Drops dead
// nodes.
void fuse(Graph& g);
// Lifetimes from the node order, then offsets in one arena (largest first, first fit).
void plan_memory(Graph& g);
// "" when no two values that are alive at the same time share a byte; otherwise what collides.
std::string check_plan(const Graph& g);

}  // namespace ascent::graph
