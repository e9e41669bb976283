#pragma once
// config.json and generation_config.json of a Hugging Face model folder, validated.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

namespace ascent {

struct ModelConfig {
    std::filesystem::path file;          // for error messages
    std::string architecture;            // architectures[0], e.g. "Qwen2ForCausalLM"
    std::string model_type;
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;
    int num_hidden_layers = 0;
    int num_attention_heads = 0;
    int num_key_value_heads = 0;
    int head_dim = 0;
    int64_t vocab_size = 0;
    int64_t max_position_embeddings = 0;
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    bool tie_word_embeddings = false;
    std::string torch_dtype;
    std::vector<int32_t> eos_token_ids;  // from config.json; generation_config.json may override
    std::optional<int32_t> bos_token_id;
    nlohmann::json raw;                  // architecture-specific fields are read by the model

    // Reads and validates <folder>/config.json; every problem names the file and the field.
    static ModelConfig load(const std::filesystem::path& folder);
    static ModelConfig parse(const nlohmann::json& j, const std::filesystem::path& file);

    // Typed access to raw fields, with errors that name the file and field.
    int64_t require_int(const char* key) const;
    double number_or(const char* key, double fallback) const;
    bool bool_or(const char* key, bool fallback) const;
};

struct GenerationConfig {
    std::vector<int32_t> eos_token_ids;
    std::optional<int32_t> bos_token_id;
    bool do_sample = false;
    std::optional<double> temperature, top_p, min_p, repetition_penalty;
    std::optional<int> top_k;
    std::optional<int> max_new_tokens;

    // Absent file → defaults; a file that exists but is malformed is an input error.
    static GenerationConfig load(const std::filesystem::path& folder);
};

// Reads a JSON file, naming it in the error when it is missing or malformed.
nlohmann::json read_json_file(const std::filesystem::path& file);

}  // namespace ascent
