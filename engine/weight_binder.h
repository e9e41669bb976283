#pragma once
// Hands a model its weights by name, checking each against the shape the architecture expects,
// and afterwards reports tensors in the folder that no part of the model used.
#include <set>
#include <string>
#include "engine/backend.h"
#include "engine/dummy_weights.h"
#include "engine/tensor.h"
#include "engine/weights/safetensors.h"

namespace ascent {

class WeightBinder {
public:
    WeightBinder(const WeightStore& store, Backend& backend) : store_(&store), backend_(backend) {}
    // Every weight asked for is made up on the spot (`--load-format dummy`).
    WeightBinder(DummyWeights& dummy, Backend& backend) : dummy_(&dummy), backend_(backend) {}

    bool has(const std::string& name) const { return store_ && store_->find(name) != nullptr; }
    // A [rows, cols] matrix; input_error naming the tensor when missing or shaped otherwise.
    Weight matrix(const std::string& name, int64_t rows, int64_t cols);
    Weight vector(const std::string& name, int64_t n);
    // Tensors that a checkpoint may carry without the model needing them (e.g. rotary caches).
    void ignore(const std::string& name) { used_.insert(name); }
    // input_error listing tensors the architecture does not know.
    void check_all_used() const;
    int64_t parameters() const { return parameters_; }

private:
    const StoredTensor& fetch(const std::string& name, std::vector<int64_t> shape);

    const WeightStore* store_ = nullptr;
    DummyWeights* dummy_ = nullptr;
    Backend& backend_;
    std::set<std::string> used_;
    int64_t parameters_ = 0;
};

}  // namespace ascent
