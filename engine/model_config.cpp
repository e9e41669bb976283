#include "engine/model_config.h"

#include <fstream>
#include <sstream>

#include "engine/error.h"

namespace ascent {

using nlohmann::json;

json read_json_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) input_error("{}: cannot open file", file.string());
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return json::parse(ss.str());
    } catch (const json::parse_error& e) {
        input_error("{}: invalid JSON: {}", file.string(), e.what());
    }
}

namespace {

int64_t get_int(const json& j, const char* key, const std::filesystem::path& file, bool required,
                int64_t fallback) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        if (required) input_error("{}: required field \"{}\" is missing", file.string(), key);
        return fallback;
    }
    if (!it->is_number_integer())
        input_error("{}: field \"{}\" must be an integer, got {}", file.string(), key, it->dump());
    return it->get<int64_t>();
}

std::vector<int32_t> id_list(const json& v, const char* key, const std::filesystem::path& file) {
    std::vector<int32_t> ids;
    if (v.is_null()) return ids;
    if (v.is_number_integer()) {
        ids.push_back(v.get<int32_t>());
    } else if (v.is_array()) {
        for (const auto& e : v) {
            if (!e.is_number_integer())
                input_error("{}: \"{}\" must hold integers, got {}", file.string(), key, e.dump());
            ids.push_back(e.get<int32_t>());
        }
    } else {
        input_error("{}: \"{}\" must be an integer or a list of integers", file.string(), key);
    }
    return ids;
}

void require_positive(int64_t v, const char* key, const std::filesystem::path& file) {
    if (v <= 0) input_error("{}: \"{}\" must be positive, got {}", file.string(), key, v);
}

}  // namespace

ModelConfig ModelConfig::load(const std::filesystem::path& folder) {
    auto file = folder / "config.json";
    if (!std::filesystem::exists(file))
        input_error("{} is not a model folder: config.json is missing", folder.string());
    return parse(read_json_file(file), file);
}

ModelConfig ModelConfig::parse(const json& j, const std::filesystem::path& file) {
    if (!j.is_object()) input_error("{}: expected a JSON object", file.string());
    ModelConfig c;
    c.file = file;
    c.raw = j;
    auto arch = j.find("architectures");
    if (arch == j.end() || !arch->is_array() || arch->empty() || !(*arch)[0].is_string())
        input_error("{}: \"architectures\" must be a non-empty list of names", file.string());
    c.architecture = (*arch)[0].get<std::string>();
    if (auto mt = j.find("model_type"); mt != j.end() && mt->is_string()) c.model_type = mt->get<std::string>();

    c.hidden_size = get_int(j, "hidden_size", file, true, 0);
    c.intermediate_size = get_int(j, "intermediate_size", file, false, 0);
    c.num_hidden_layers = static_cast<int>(get_int(j, "num_hidden_layers", file, true, 0));
    c.num_attention_heads = static_cast<int>(get_int(j, "num_attention_heads", file, true, 0));
    c.num_key_value_heads =
        static_cast<int>(get_int(j, "num_key_value_heads", file, false, c.num_attention_heads));
    c.vocab_size = get_int(j, "vocab_size", file, true, 0);
    c.max_position_embeddings = get_int(j, "max_position_embeddings", file, false, 2048);
    require_positive(c.hidden_size, "hidden_size", file);
    require_positive(c.num_hidden_layers, "num_hidden_layers", file);
    require_positive(c.num_attention_heads, "num_attention_heads", file);
    require_positive(c.num_key_value_heads, "num_key_value_heads", file);
    require_positive(c.vocab_size, "vocab_size", file);
    require_positive(c.max_position_embeddings, "max_position_embeddings", file);
    if (c.num_attention_heads % c.num_key_value_heads != 0)
        input_error("{}: num_attention_heads ({}) is not a multiple of num_key_value_heads ({})",
                    file.string(), c.num_attention_heads, c.num_key_value_heads);
    int64_t hd = get_int(j, "head_dim", file, false, 0);
    if (hd == 0) {
        if (c.hidden_size % c.num_attention_heads != 0)
            input_error("{}: hidden_size ({}) is not a multiple of num_attention_heads ({}) and head_dim is not given",
                        file.string(), c.hidden_size, c.num_attention_heads);
        hd = c.hidden_size / c.num_attention_heads;
    }
    require_positive(hd, "head_dim", file);
    if (hd % 2 != 0) input_error("{}: head_dim ({}) must be even for rotary embeddings", file.string(), hd);
    c.head_dim = static_cast<int>(hd);
    c.rms_norm_eps = c.number_or("rms_norm_eps", 1e-6);
    c.rope_theta = c.number_or("rope_theta", 10000.0);
    if (!(c.rms_norm_eps > 0)) input_error("{}: \"rms_norm_eps\" must be positive", file.string());
    if (!(c.rope_theta > 0)) input_error("{}: \"rope_theta\" must be positive", file.string());
    c.tie_word_embeddings = c.bool_or("tie_word_embeddings", false);
    if (auto d = j.find("torch_dtype"); d != j.end() && d->is_string()) c.torch_dtype = d->get<std::string>();
    if (auto e = j.find("eos_token_id"); e != j.end()) c.eos_token_ids = id_list(*e, "eos_token_id", file);
    if (auto b = j.find("bos_token_id"); b != j.end() && b->is_number_integer()) c.bos_token_id = b->get<int32_t>();
    return c;
}

int64_t ModelConfig::require_int(const char* key) const { return get_int(raw, key, file, true, 0); }

double ModelConfig::number_or(const char* key, double fallback) const {
    auto it = raw.find(key);
    if (it == raw.end() || it->is_null()) return fallback;
    if (!it->is_number()) input_error("{}: field \"{}\" must be a number, got {}", file.string(), key, it->dump());
    return it->get<double>();
}

bool ModelConfig::bool_or(const char* key, bool fallback) const {
    auto it = raw.find(key);
    if (it == raw.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) input_error("{}: field \"{}\" must be true or false, got {}", file.string(), key, it->dump());
    return it->get<bool>();
}

GenerationConfig GenerationConfig::load(const std::filesystem::path& folder) {
    GenerationConfig g;
    auto file = folder / "generation_config.json";
    if (!std::filesystem::exists(file)) return g;
    json j = read_json_file(file);
    if (!j.is_object()) input_error("{}: expected a JSON object", file.string());
    if (auto e = j.find("eos_token_id"); e != j.end()) g.eos_token_ids = id_list(*e, "eos_token_id", file);
    if (auto b = j.find("bos_token_id"); b != j.end() && b->is_number_integer()) g.bos_token_id = b->get<int32_t>();
    auto num = [&](const char* key) -> std::optional<double> {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) return std::nullopt;
        if (!it->is_number()) input_error("{}: \"{}\" must be a number, got {}", file.string(), key, it->dump());
        return it->get<double>();
    };
    if (auto it = j.find("do_sample"); it != j.end() && it->is_boolean()) g.do_sample = it->get<bool>();
    g.temperature = num("temperature");
    g.top_p = num("top_p");
    g.min_p = num("min_p");
    g.repetition_penalty = num("repetition_penalty");
    if (auto k = num("top_k")) g.top_k = static_cast<int>(*k);
    if (auto m = num("max_new_tokens")) g.max_new_tokens = static_cast<int>(*m);
    return g;
}

}  // namespace ascent
