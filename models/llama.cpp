#include "models/llama.h"

#include <cmath>
#include <optional>
#include <vector>

#include "engine/error.h"

namespace ascent::models {

namespace {

struct Layer {
    Weight attn_norm, q, k, v, o;
    std::optional<Weight> q_bias, k_bias, v_bias, o_bias;
    Weight mlp_norm, gate, up, down;
    std::optional<Weight> gate_bias, up_bias, down_bias;
};

const Weight* ptr(const std::optional<Weight>& w) { return w ? &*w : nullptr; }

class Llama final : public Model {
public:
    Llama(const ModelConfig& c, WeightBinder& wb) : c_(c) {
        const bool is_qwen2 = c.architecture == "Qwen2ForCausalLM";
        const bool attn_bias = is_qwen2 || c.bool_or("attention_bias", false);
        const bool o_bias = !is_qwen2 && c.bool_or("attention_bias", false);
        const bool mlp_bias = c.bool_or("mlp_bias", false);
        check_supported(c);

        const int64_t d = c.hidden_size, ff = c.intermediate_size, hd = c.head_dim;
        const int64_t q_dim = c.num_attention_heads * hd, kv_dim = c.num_key_value_heads * hd;
        if (ff <= 0) input_error("{}: \"intermediate_size\" must be positive", c.file.string());
        embed_ = wb.matrix("model.embed_tokens.weight", c.vocab_size, d);
        for (int i = 0; i < c.num_hidden_layers; ++i) {
            const std::string p = "model.layers." + std::to_string(i) + ".";
            Layer L;
            L.attn_norm = wb.vector(p + "input_layernorm.weight", d);
            L.q = wb.matrix(p + "self_attn.q_proj.weight", q_dim, d);
            L.k = wb.matrix(p + "self_attn.k_proj.weight", kv_dim, d);
            L.v = wb.matrix(p + "self_attn.v_proj.weight", kv_dim, d);
            L.o = wb.matrix(p + "self_attn.o_proj.weight", d, q_dim);
            if (attn_bias) {
                L.q_bias = wb.vector(p + "self_attn.q_proj.bias", q_dim);
                L.k_bias = wb.vector(p + "self_attn.k_proj.bias", kv_dim);
                L.v_bias = wb.vector(p + "self_attn.v_proj.bias", kv_dim);
            }
            if (o_bias) L.o_bias = wb.vector(p + "self_attn.o_proj.bias", d);
            L.mlp_norm = wb.vector(p + "post_attention_layernorm.weight", d);
            L.gate = wb.matrix(p + "mlp.gate_proj.weight", ff, d);
            L.up = wb.matrix(p + "mlp.up_proj.weight", ff, d);
            L.down = wb.matrix(p + "mlp.down_proj.weight", d, ff);
            if (mlp_bias) {
                L.gate_bias = wb.vector(p + "mlp.gate_proj.bias", ff);
                L.up_bias = wb.vector(p + "mlp.up_proj.bias", ff);
                L.down_bias = wb.vector(p + "mlp.down_proj.bias", d);
            }
            // Old checkpoints carry a precomputed rotary table; the engine computes its own.
            wb.ignore(p + "self_attn.rotary_emb.inv_freq");
            layers_.push_back(std::move(L));
        }
        norm_ = wb.vector("model.norm.weight", d);
        if (c.tie_word_embeddings) {
            lm_head_ = embed_;
            // Some tied checkpoints store the copy anyway; it is the same matrix.
            if (wb.has("lm_head.weight")) wb.ignore("lm_head.weight");
        } else {
            lm_head_ = wb.matrix("lm_head.weight", c.vocab_size, d);
        }
        parameters_ = wb.parameters();
        rope_ = RopeParams{c.num_attention_heads, c.head_dim, c.head_dim, static_cast<float>(c.rope_theta)};
        rope_k_ = rope_;
        rope_k_.n_heads = c.num_key_value_heads;
        attn_ = AttentionParams{c.num_attention_heads, c.num_key_value_heads, c.head_dim,
                                1.f / std::sqrt(static_cast<float>(c.head_dim))};
        eps_ = static_cast<float>(c.rms_norm_eps);
    }

    void forward(Ops& ops) const override {
        Tensor x = ops.embed(embed_);
        for (size_t i = 0; i < layers_.size(); ++i) {
            const Layer& L = layers_[i];
            Tensor h = ops.rms_norm(x, L.attn_norm, eps_);
            Tensor q = ops.rope(ops.linear(h, L.q, ptr(L.q_bias)), rope_);
            Tensor k = ops.rope(ops.linear(h, L.k, ptr(L.k_bias)), rope_k_);
            Tensor v = ops.linear(h, L.v, ptr(L.v_bias));
            Tensor a = ops.attention(q, k, v, static_cast<int>(i), attn_);
            x = ops.add(x, ops.linear(a, L.o, ptr(L.o_bias)));
            h = ops.rms_norm(x, L.mlp_norm, eps_);
            Tensor m = ops.swiglu(ops.linear(h, L.gate, ptr(L.gate_bias)), ops.linear(h, L.up, ptr(L.up_bias)));
            x = ops.add(x, ops.linear(m, L.down, ptr(L.down_bias)));
        }
        x = ops.rms_norm(ops.logit_rows(x), norm_, eps_);
        ops.set_logits(ops.linear(x, lm_head_));
    }

    int n_layers() const override { return c_.num_hidden_layers; }
    int64_t kv_dim() const override { return static_cast<int64_t>(c_.num_key_value_heads) * c_.head_dim; }
    int64_t vocab_size() const override { return c_.vocab_size; }
    int64_t parameter_count() const override { return parameters_; }

private:
    static void check_supported(const ModelConfig& c) {
        auto act = c.raw.find("hidden_act");
        if (act != c.raw.end() && act->is_string() && *act != "silu")
            input_error("{}: hidden_act \"{}\" is not supported for {} (only silu)", c.file.string(),
                        act->get<std::string>(), c.architecture);
        auto scaling = c.raw.find("rope_scaling");
        if (scaling != c.raw.end() && !scaling->is_null())
            input_error("{}: rope_scaling {} is not supported yet for {}", c.file.string(), scaling->dump(),
                        c.architecture);
        if (c.bool_or("use_sliding_window", false))
            input_error("{}: use_sliding_window is not supported yet", c.file.string());
    }

    ModelConfig c_;
    Weight embed_, norm_, lm_head_;
    std::vector<Layer> layers_;
    RopeParams rope_, rope_k_;
    AttentionParams attn_;
    float eps_ = 1e-6f;
    int64_t parameters_ = 0;
};

}  // namespace

std::unique_ptr<Model> build_llama(const ModelConfig& config, WeightBinder& weights) {
    return std::make_unique<Llama>(config, weights);
}

}  // namespace ascent::models
