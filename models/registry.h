#pragma once
#include <memory>
#include <string>
#include <vector>
#include "engine/model.h"
#include "engine/model_config.h"
#include "engine/weight_binder.h"

namespace ascent::models {

// Builds the model that config.json's `architectures` names; input_error for unknown ones.
std::unique_ptr<Model> build_model(const ModelConfig& config, WeightBinder& weights);
std::vector<std::string> supported_architectures();

}  // namespace ascent::models
