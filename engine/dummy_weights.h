#pragma once
// Seeded random weights made from config.json alone (`--load-format dummy`, as vLLM's), so any
// architecture runs and benchmarks at its true size without downloading a checkpoint.
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>
#include "engine/huge_pages.h"
#include "engine/weights/safetensors.h"

namespace ascent {

class DummyWeights {
public:
    DummyWeights(DType dtype, uint64_t seed) : dtype_(dtype), seed_(seed) {}
    DType dtype() const { return dtype_; }
    // A tensor of the given shape, filled deterministically from the seed and the name: norm
    // weights are 1, biases small, matrices uniform in +-1/sqrt(fan_in) so activations stay sane.
    const StoredTensor& make(const std::string& name, std::vector<int64_t> shape);
    size_t total_bytes() const { return bytes_; }

private:
    DType dtype_;
    uint64_t seed_;
    size_t bytes_ = 0;
    std::deque<StoredTensor> tensors_;  // deque: references stay valid as tensors are added
    HugePageArena memory_;  // on large pages, as a mapped model file's page cache is
};

// DType named by config.json's torch_dtype ("bfloat16", "float16", "float32").
DType dtype_from_torch_name(const std::string& torch_dtype);

}  // namespace ascent
