#pragma once
// Everything needed to run a model folder: its configs, tokenizer, mapped weights, the backend
// holding them and the model built on top. Members are declared in dependency order so they are
// destroyed in reverse (the model before the backend before the mapping).
#include <filesystem>
#include <memory>
#include "engine/backend.h"
#include "engine/dummy_weights.h"
#include "engine/model.h"
#include "engine/model_config.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/weights/safetensors.h"

namespace ascent::models {

struct LoadedModel {
    std::filesystem::path folder;
    ModelConfig config;
    GenerationConfig generation;
    std::unique_ptr<Tokenizer> tokenizer;
    std::unique_ptr<WeightStore> weights;   // null with dummy weights
    std::unique_ptr<DummyWeights> dummy;    // null with real weights
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Model> model;
    double load_seconds = 0;

    // The weights' storage type(s), e.g. "BF16" or "F32+BF16".
    std::string weight_dtypes() const;
    size_t weight_bytes() const;
    DType main_dtype() const;  // the storage type holding most weight bytes
    // Stop ids: generation_config.json's eos ids, else config.json's, else the tokenizer's.
    std::vector<int32_t> eos_ids() const;
};

enum class LoadFormat { Safetensors, Dummy };
LoadFormat parse_load_format(const std::string& s);  // "auto"/"safetensors" or "dummy"

std::unique_ptr<LoadedModel> load_model(const std::filesystem::path& folder, const BackendOptions& backend,
                                        LoadFormat format = LoadFormat::Safetensors, uint64_t dummy_seed = 0);

}  // namespace ascent::models
