#pragma once
// The op interface that model code is written against. A model's forward function calls these
// in order; it never sees a backend, a buffer or an execution mode. The eager executor runs each
// call at once; the graph executor records it (DESIGN.md "Execution modes").
//
// The step's inputs (token ids, positions) and which rows need logits belong to the executor, not
// the model, so a recorded graph can be replayed with new inputs.
#include "engine/tensor.h"

namespace ascent {

struct RopeParams {
    int n_heads = 0;
    int head_dim = 0;
    int rotary_dim = 0;    // leading dims of each head that rotate (== head_dim for Llama/Qwen2)
    float theta = 10000.f;
};

struct AttentionParams {
    int n_heads = 0;
    int n_kv_heads = 0;
    int head_dim = 0;
    float scale = 0.f;     // usually 1/sqrt(head_dim)
};

class Ops {
public:
    virtual ~Ops() = default;
    // Rows of `table` for the step's tokens: [n_tokens, table.cols].
    virtual Tensor embed(const Weight& table) = 0;
    virtual Tensor rms_norm(Tensor x, const Weight& weight, float eps) = 0;
    // x [n, in] times w^T (w is [out, in], as nn.Linear stores it), plus bias [out] if given.
    virtual Tensor linear(Tensor x, const Weight& w, const Weight* bias = nullptr) = 0;
    // Rotary embedding of each head at the step's positions ("rotate half" pairing i, i + d/2).
    virtual Tensor rope(Tensor x, const RopeParams& p) = 0;
    // Stores k and v at the step's positions in layer's KV cache, then causal grouped-query
    // attention of q over everything cached so far.
    virtual Tensor attention(Tensor q, Tensor k, Tensor v, int layer, const AttentionParams& p) = 0;
    virtual Tensor swiglu(Tensor gate, Tensor up) = 0;  // silu(gate) * up
    virtual Tensor add(Tensor a, Tensor b) = 0;
    // Only the rows the caller wants logits for (the last one, or all for --echo/--logprobs).
    virtual Tensor logit_rows(Tensor x) = 0;
    virtual void set_logits(Tensor logits) = 0;
};

}  // namespace ascent
