#include "models/loader.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "engine/error.h"
#include "engine/weight_binder.h"
#include "models/registry.h"

namespace ascent::models {

LoadFormat parse_load_format(const std::string& s) {
    if (s == "auto" || s == "safetensors") return LoadFormat::Safetensors;
    if (s == "dummy") return LoadFormat::Dummy;
    input_error("unknown --load-format '{}' (expected auto, safetensors or dummy)", s);
}

std::unique_ptr<LoadedModel> load_model(const std::filesystem::path& folder, const BackendOptions& backend,
                                        LoadFormat format, uint64_t dummy_seed) {
    const auto t0 = std::chrono::steady_clock::now();
    auto m = std::make_unique<LoadedModel>();
    m->folder = folder;
    m->config = ModelConfig::load(folder);
    m->generation = GenerationConfig::load(folder);
    m->tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_folder(folder));
    m->backend = create_backend(backend);
    if (format == LoadFormat::Dummy) {
        m->dummy = std::make_unique<DummyWeights>(dtype_from_torch_name(m->config.torch_dtype), dummy_seed);
        WeightBinder binder(*m->dummy, *m->backend);
        m->model = build_model(m->config, binder);
    } else {
        m->weights = std::make_unique<WeightStore>(WeightStore::open_folder(folder));
        WeightBinder binder(*m->weights, *m->backend);
        m->model = build_model(m->config, binder);
    }
    m->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return m;
}

size_t LoadedModel::weight_bytes() const { return weights ? weights->total_bytes() : dummy->total_bytes(); }

DType LoadedModel::main_dtype() const {
    if (dummy) return dummy->dtype();
    size_t by_type[3] = {0, 0, 0};
    for (const auto& name : weights->names()) {
        const StoredTensor* t = weights->find(name);
        by_type[static_cast<int>(t->dtype)] += t->nbytes;
    }
    return static_cast<DType>(std::max_element(by_type, by_type + 3) - by_type);
}

std::string LoadedModel::weight_dtypes() const {
    if (dummy) return std::string(dtype_name(dummy->dtype())) + " (dummy)";
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
