#pragma once
#include <memory>
#include "engine/model.h"
#include "engine/model_config.h"
#include "engine/weight_binder.h"

namespace ascent::models {

// LlamaForCausalLM and Qwen2ForCausalLM: pre-norm decoder blocks with RMSNorm, rotary
// embeddings, grouped-query attention and a SwiGLU MLP. Qwen2 always has q/k/v biases; Llama
// has them (and an o_proj bias) when config.json sets attention_bias.
std::unique_ptr<Model> build_llama(const ModelConfig& config, WeightBinder& weights);

}  // namespace ascent::models
