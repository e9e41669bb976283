#include "tests/support/tiny_model.h"

#include <unistd.h>

#include <fstream>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/weights/safetensors_writer.h"

namespace ascent::test {

namespace fs = std::filesystem;

std::filesystem::path demo_model() { return fs::path(ASCENT_SOURCE_DIR) / "models/demo/stories260K"; }

namespace {

// CTest runs test cases as parallel processes: each gets its own scratch folder, removed at exit.
struct ScratchRoot {
    fs::path path = fs::path(ASCENT_TEST_TMP) / std::to_string(getpid());
    ~ScratchRoot() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

const fs::path& scratch_root() {
    static ScratchRoot root;
    fs::create_directories(root.path);
    return root.path;
}

std::vector<int32_t> seeded_tokens(int n, uint32_t seed) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) {
        seed = seed * 1664525u + 1013904223u;
        t.push_back(static_cast<int32_t>(3 + seed % 500));
    }
    return t;
}

std::filesystem::path test_tmp(const std::string& name) {
    fs::path p = scratch_root() / name;
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

std::filesystem::path qwen3_tiny_chat_model(const std::string& name) {
    TinyModelSpec spec;
    spec.vocab = 151936;
    spec.hidden = 32;
    spec.intermediate = 64;
    spec.heads = 2;
    spec.kv_heads = 1;
    spec.layers = 1;
    spec.dtype = DType::BF16;
    spec.max_positions = 2048;
    spec.tokenizer_from = fs::path(ASCENT_TEST_UNPACKED) / "tokenizers/qwen3";
    spec.generation_config = R"({"bos_token_id": 151643, "eos_token_id": 151643, "do_sample": false})";
    return make_tiny_model(test_tmp(name), spec);
}

std::filesystem::path make_tiny_model(const std::filesystem::path& dir, const TinyModelSpec& s) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::mt19937_64 rng(s.seed);
    std::vector<TensorToWrite> tensors;
    auto add = [&](const std::string& name, std::vector<int64_t> shape, float mean, float stddev) {
        int64_t n = 1;
        for (auto d : shape) n *= d;
        std::normal_distribution<float> dist(mean, stddev);
        std::vector<float> v(static_cast<size_t>(n));
        for (auto& x : v) x = dist(rng);
        tensors.push_back(tensor_from_f32(name, s.dtype, std::move(shape), v));
    };
    const int hd = s.hidden / s.heads;
    const int q_dim = s.heads * hd, kv_dim = s.kv_heads * hd;
    const bool qwen2 = s.architecture == "Qwen2ForCausalLM";
    // Scales chosen so activations stay O(1) and the output distribution is far from uniform.
    const float w_in = 1.f / std::sqrt(static_cast<float>(s.hidden));
    add("model.embed_tokens.weight", {s.vocab, s.hidden}, 0.f, 1.f);
    for (int i = 0; i < s.layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        add(p + "input_layernorm.weight", {s.hidden}, 1.f, 0.1f);
        add(p + "self_attn.q_proj.weight", {q_dim, s.hidden}, 0.f, w_in);
        add(p + "self_attn.k_proj.weight", {kv_dim, s.hidden}, 0.f, w_in);
        add(p + "self_attn.v_proj.weight", {kv_dim, s.hidden}, 0.f, w_in);
        if (qwen2 || s.attention_bias) {
            add(p + "self_attn.q_proj.bias", {q_dim}, 0.f, 0.5f);
            add(p + "self_attn.k_proj.bias", {kv_dim}, 0.f, 0.5f);
            add(p + "self_attn.v_proj.bias", {kv_dim}, 0.f, 0.5f);
        }
        add(p + "self_attn.o_proj.weight", {s.hidden, q_dim}, 0.f, w_in);
        if (!qwen2 && s.attention_bias) add(p + "self_attn.o_proj.bias", {s.hidden}, 0.f, 0.1f);
        add(p + "post_attention_layernorm.weight", {s.hidden}, 1.f, 0.1f);
        add(p + "mlp.gate_proj.weight", {s.intermediate, s.hidden}, 0.f, w_in);
        add(p + "mlp.up_proj.weight", {s.intermediate, s.hidden}, 0.f, w_in);
        add(p + "mlp.down_proj.weight", {s.hidden, s.intermediate}, 0.f, 1.f / std::sqrt(static_cast<float>(s.intermediate)));
    }
    add("model.norm.weight", {s.hidden}, 1.f, 0.1f);
    if (!s.tie_embeddings) add("lm_head.weight", {s.vocab, s.hidden}, 0.f, w_in * 4);
    if (s.shard_bytes > 0)
        write_safetensors_sharded(dir, tensors, s.shard_bytes);
    else
        write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});

    nlohmann::ordered_json c;
    c["architectures"] = {s.architecture};
    c["model_type"] = qwen2 ? "qwen2" : "llama";
    c["hidden_size"] = s.hidden;
    c["intermediate_size"] = s.intermediate;
    c["num_hidden_layers"] = s.layers;
    c["num_attention_heads"] = s.heads;
    c["num_key_value_heads"] = s.kv_heads;
    c["vocab_size"] = s.vocab;
    c["max_position_embeddings"] = s.max_positions;
    c["rms_norm_eps"] = 1e-6;
    c["rope_theta"] = s.rope_theta;
    c["tie_word_embeddings"] = s.tie_embeddings;
    c["hidden_act"] = "silu";
    if (!qwen2) c["attention_bias"] = s.attention_bias;
    c["torch_dtype"] = s.dtype == DType::F32 ? "float32" : s.dtype == DType::BF16 ? "bfloat16" : "float16";
    std::ofstream(dir / "config.json") << c.dump(2);
    if (!s.generation_config.empty()) std::ofstream(dir / "generation_config.json") << s.generation_config;

    const fs::path from = s.tokenizer_from.empty() ? demo_model() : s.tokenizer_from;
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
        if (fs::exists(from / f)) fs::copy_file(from / f, dir / f, fs::copy_options::overwrite_existing);
    return dir;
}

}  // namespace ascent::test
