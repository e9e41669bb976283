#pragma once
// An independent, deliberately naive forward pass of LlamaForCausalLM / Qwen2ForCausalLM in
// double precision, written straight from the Hugging Face modeling code's math (RMSNorm,
// rotate-half RoPE, grouped-query causal attention, SwiGLU). It reads the safetensors folder
// itself and shares no code with the engine's kernels, so agreement means the engine's math is
// right, not merely self-consistent.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace ascent::test {

// Logits [tokens.size()][vocab] for a sequence fed from position 0.
std::vector<std::vector<double>> reference_llama_logits(const std::filesystem::path& folder,
                                                        const std::vector<int32_t>& tokens);

}  // namespace ascent::test
