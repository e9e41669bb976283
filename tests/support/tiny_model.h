#pragma once
// Builds real model folders for tests: config.json, generation_config.json, safetensors weights
// with seeded random values, and a tokenizer copied from an existing folder.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>
#include "engine/dtype.h"

namespace ascent::test {

struct TinyModelSpec {
    std::string architecture = "Qwen2ForCausalLM";
    int hidden = 64;
    int intermediate = 96;
    int layers = 2;
    int heads = 4;
    int kv_heads = 2;
    int vocab = 512;
    int max_positions = 512;
    bool tie_embeddings = true;
    bool attention_bias = false;  // Llama only; Qwen2 always has q/k/v biases
    DType dtype = DType::F32;
    uint64_t seed = 1;
    double rope_theta = 10000.0;
    size_t shard_bytes = 0;       // > 0: write shards of at most this size plus an index
    std::filesystem::path tokenizer_from;  // folder whose tokenizer*.json files are copied
    std::string generation_config = R"({"bos_token_id": 1, "eos_token_id": 2})";
};

// n token ids in 3..502 (inside every test model's vocabulary) from a small LCG: the same ids for
// the same seed on every machine.
std::vector<int32_t> seeded_tokens(int n, uint32_t seed);

// Writes the folder (replacing it) and returns its path.
std::filesystem::path make_tiny_model(const std::filesystem::path& dir, const TinyModelSpec& spec);

// A tiny chat model (seeded BF16 weights) whose folder carries the real Qwen3 tokenizer and chat
// template; built once per process in the scratch folder `name`.
std::filesystem::path qwen3_tiny_chat_model(const std::string& name);

// Paths the tests share.
std::filesystem::path demo_model();              // models/demo/stories260K in the source tree
std::filesystem::path test_tmp(const std::string& name);  // fresh empty scratch folder
const std::filesystem::path& scratch_root();              // this process's scratch area

}  // namespace ascent::test
