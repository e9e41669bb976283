#include "models/registry.h"

#include "engine/error.h"
#include "models/llama.h"

namespace ascent::models {

namespace {

struct Entry {
    const char* architecture;
    std::unique_ptr<Model> (*build)(const ModelConfig&, WeightBinder&);
};

const Entry kEntries[] = {
    {"LlamaForCausalLM", build_llama},
    {"Qwen2ForCausalLM", build_llama},
};

}  // namespace

std::vector<std::string> supported_architectures() {
    std::vector<std::string> names;
    for (const auto& e : kEntries) names.emplace_back(e.architecture);
    return names;
}

std::unique_ptr<Model> build_model(const ModelConfig& config, WeightBinder& weights) {
    for (const auto& e : kEntries)
        if (config.architecture == e.architecture) {
            auto model = e.build(config, weights);
            weights.check_all_used();
            return model;
        }
    std::string list;
    for (const auto& name : supported_architectures()) list += (list.empty() ? "" : ", ") + name;
    input_error("{}: architecture {} is not supported (supported: {})", config.file.string(),
                config.architecture, list);
}

}  // namespace ascent::models
