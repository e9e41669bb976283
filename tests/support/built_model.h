#pragma once
// A model folder built into a runnable model without a tokenizer: what engine-level tests need.
#include <filesystem>
#include <memory>
#include "engine/backend.h"
#include "engine/model.h"
#include "engine/model_config.h"
#include "engine/weights/safetensors.h"

namespace ascent::test {

struct BuiltModel {
    ModelConfig config;
    std::unique_ptr<WeightStore> weights;
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Model> model;
};

BuiltModel build_model_folder(const std::filesystem::path& folder, int threads = 2);

}  // namespace ascent::test
