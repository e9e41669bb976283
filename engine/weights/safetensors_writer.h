#pragma once
// Writing safetensors files and sharded model folders the way Hugging Face tools
// lay them out. Tests use it to build real model folders (and damaged ones, by
// editing the bytes afterwards); tools use it to save weights.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "engine/dtype.h"

namespace ascent {

struct TensorToWrite {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<std::byte> bytes;  // little-endian, numel * dtype_size(dtype) of them
};

// Converts f32 values to dtype (round to nearest even) and packs them.
// input_error when values.size() does not match the shape.
TensorToWrite tensor_from_f32(std::string name, DType dtype, std::vector<int64_t> shape,
                              std::span<const float> values);

// Tensors are stored back to back in the given order (the format forbids gaps);
// the header is padded with spaces so that the data area starts 8-byte aligned.
// input_error for a duplicate or reserved name or a byte count that does not
// match the shape; runtime_error when the file cannot be written.
void write_safetensors(const std::filesystem::path& file, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes model-0000k-of-0000n.safetensors + model.safetensors.index.json into
// folder (created if needed). Tensors keep their order; a shard is closed when the
// next tensor would take it past max_shard_bytes, and holds at least one tensor.
void write_safetensors_sharded(const std::filesystem::path& folder, const std::vector<TensorToWrite>& tensors,
                               size_t max_shard_bytes);

}  // namespace ascent
