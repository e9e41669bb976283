#include "bench/roofline.h"

#include "engine/graph/graph.h"

namespace ascent::bench {

StepCost step_cost(const Model& model) {
    // The unfused decode graph names every weight the forward pass touches.
    const graph::Graph g = graph::record(model, 1, LogitRows::Last);
    StepCost c;
    // Products after the logit-row selection run only for the rows that want logits (the LM head
    // runs once per prompt, not once per prompt token).
    bool per_logit_row = false;
    for (const auto& n : g.nodes) {
        switch (n.op) {
            case graph::Op::LogitRows:
                per_logit_row = true;
                break;
            case graph::Op::Linear:
                for (const auto& p : n.parts) {
                    c.weight_bytes += static_cast<double>(p.weight->bytes());
                    if (p.bias) c.weight_bytes += static_cast<double>(p.bias->bytes());
                    const double flops = 2.0 * static_cast<double>(p.weight->rows) * static_cast<double>(p.weight->cols);
                    (per_logit_row ? c.flops_per_logit_row : c.flops_per_token) += flops;
                }
                break;
            case graph::Op::Embed:
                c.weight_bytes += static_cast<double>(n.weight->cols * static_cast<int64_t>(dtype_size(n.weight->dtype)));
                break;
            case graph::Op::Attention:
                c.attention_width += static_cast<double>(n.attn.n_heads) * n.attn.head_dim;
                break;
            case graph::Op::RmsNorm:
                c.weight_bytes += static_cast<double>(n.weight->bytes());
                break;
            default:
                break;
        }
    }
    return c;
}

double kv_bytes_read(const Model& model, int64_t context, size_t kv_elem_bytes) {
    return 2.0 * model.n_layers() * static_cast<double>(context) * static_cast<double>(model.kv_dim()) *
           static_cast<double>(kv_elem_bytes);
}

double prefill_flops(const StepCost& c, int64_t n) {
    // Token i attends to i + 1 positions: q.k and p.v are each 2 x head_dim FLOPs per position.
    const double positions = static_cast<double>(n) * static_cast<double>(n + 1) / 2.0;
    return c.flops_per_token * static_cast<double>(n) + c.flops_per_logit_row + positions * 4.0 * c.attention_width;
}

}  // namespace ascent::bench
