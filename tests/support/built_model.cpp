#include "tests/support/built_model.h"

#include "engine/weight_binder.h"
#include "models/registry.h"

namespace ascent::test {

BuiltModel build_model_folder(const std::filesystem::path& folder, int threads) {
    BuiltModel b;
    b.config = ModelConfig::load(folder);
    b.weights = std::make_unique<WeightStore>(WeightStore::open_folder(folder));
    b.backend = create_backend(BackendOptions{"cpu", threads});
    WeightBinder binder(*b.weights, *b.backend);
    b.model = models::build_model(b.config, binder);
    return b;
}

}  // namespace ascent::test
