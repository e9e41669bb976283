#pragma once
// The two kinds of data a model's forward pass touches: activations (always f32, 2-D
// [tokens, features], named by a handle that the executor interprets) and weights (stored dtype,
// owned by the backend, used in place).
#include <cstdint>
#include <memory>
#include <string>
#include "engine/dtype.h"

namespace ascent {

// What an executor attaches to a tensor handle (eager: the buffer, freed with its last handle).
struct TensorStorage {
    virtual ~TensorStorage() = default;
};

// A value inside one forward pass. In eager mode it owns a buffer that exists now and is released
// when the model drops its last handle, as PyTorch frees a tensor; in graph mode it names a node
// of the recorded graph. Models only pass handles around.
struct Tensor {
    int32_t id = -1;
    int64_t rows = 0;
    int64_t cols = 0;
    std::shared_ptr<TensorStorage> storage;
    int64_t numel() const { return rows * cols; }
};

// A weight matrix [rows, cols] (or a vector with rows == 1) as the backend holds it.
struct Weight {
    std::string name;
    DType dtype = DType::F32;
    int64_t rows = 0;
    int64_t cols = 0;
    const void* data = nullptr;  // backend memory; on the CPU the mmapped file itself
    bool present() const { return data != nullptr; }
    size_t bytes() const { return static_cast<size_t>(rows * cols) * dtype_size(dtype); }
};

}  // namespace ascent
