#include "models/loader.h"

#include <chrono>
#include <set>

#include "engine/weight_binder.h"
#include "models/registry.h"

namespace ascent::models {

std::unique_ptr<LoadedModel> load_model(const std::filesystem::path& folder, const BackendOptions& backend) {
    const auto t0 = std::chrono::steady_clock::now();
    auto m = std::make_unique<LoadedModel>();
    m->folder = folder;
    m->config = ModelConfig::load(folder);
    m->generation = GenerationConfig::load(folder);
    m->tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_folder(folder));
    m->weights = std::make_unique<WeightStore>(WeightStore::open_folder(folder));
    m->backend = create_backend(backend);
    WeightBinder binder(*m->weights, *m->backend);
    m->model = build_model(m->config, binder);
    m->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return m;
}

std::string LoadedModel::weight_dtypes() const {
    std::set<std::string> kinds;
    for (const auto& name : weights->names()) kinds.insert(std::string(dtype_name(weights->find(name)->dtype)));
    std::string s;
    for (const auto& k : kinds) s += (s.empty() ? "" : "+") + k;
    return s;
}

std::vector<int32_t> LoadedModel::eos_ids() const {
    if (!generation.eos_token_ids.empty()) return generation.eos_token_ids;
    if (!config.eos_token_ids.empty()) return config.eos_token_ids;
    if (auto e = tokenizer->eos_id()) return {*e};
    return {};
}

}  // namespace ascent::models
