#pragma once
// What one step of a model costs in bytes and FLOPs, read off the model's own recorded graph, so
// `ascent bench` can set every figure beside the machine's roof.
#include <cstdint>
#include "engine/model.h"

namespace ascent::bench {

struct StepCost {
    double weight_bytes = 0;   // weights a decode step reads (each matrix once, one embedding row)
    double flops_per_token = 0;  // 2 x multiply-adds of the matrix products, per token
    double flops_per_logit_row = 0;  // the same for the products after logit-row selection (LM head)
    double attention_width = 0;  // sum over layers of heads x head_dim (attention FLOPs scale by it)
};

StepCost step_cost(const Model& model);

// Bytes of KV cache a decode step reads at `context` cached positions.
double kv_bytes_read(const Model& model, int64_t context, size_t kv_elem_bytes);

// FLOPs of a whole prompt of n tokens fed from position 0 that wants the last row's logits:
// products plus attention (scores and the weighted sum over the causal context).
double prefill_flops(const StepCost& c, int64_t n);

}  // namespace ascent::bench
