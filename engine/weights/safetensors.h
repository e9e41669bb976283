#pragma once
// Reading safetensors weights (https://github.com/huggingface/safetensors, format
// section): an 8-byte little-endian header length, a JSON header, then one data
// area that the tensors tile exactly. Files are memory-mapped and every value taken
// from a header is validated before a pointer into the mapping is formed, so a
// damaged or hostile file is an input_error naming the file and tensor, never a
// read out of bounds.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dtype.h"
#include "engine/weights/mapped_file.h"

namespace ascent {

// Headers larger than this are rejected before parsing, as the reference Rust
// crate does: no real model needs one, and it bounds the memory a bad file costs.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct StoredTensor {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    // Points into the read-only mapping, little-endian. Only as aligned as the file
    // makes it: safetensors forbids padding between tensors, so read through memcpy
    // or unaligned loads unless you checked.
    const std::byte* data = nullptr;
    size_t nbytes = 0;
    std::filesystem::path file;  // for error messages
    int64_t numel() const;
};

// Element i of t converted to f32. For tests, tools and spot checks; bulk
// conversion belongs to a backend.
float stored_value_f32(const StoredTensor& t, size_t i);

// One memory-mapped .safetensors file.
class SafetensorsFile {
public:
    static SafetensorsFile open(const std::filesystem::path& file);

    const std::filesystem::path& path() const { return map_.path(); }
    const std::vector<StoredTensor>& tensors() const { return tensors_; }  // sorted by name
    const StoredTensor* find(std::string_view name) const;
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    size_t file_size() const { return map_.size(); }
    size_t data_offset() const { return data_offset_; }  // where the data area starts
    void prefetch() const { map_.prefetch(); }

private:
    SafetensorsFile() = default;

    MappedFile map_;
    size_t data_offset_ = 0;
    std::vector<StoredTensor> tensors_;
    std::map<std::string, std::string> metadata_;
};

// A model folder's weights: model.safetensors, or the shards listed in
// model.safetensors.index.json, or, lacking both, every *.safetensors in the folder.
class WeightStore {
public:
    static WeightStore open_folder(const std::filesystem::path& folder);

    WeightStore(WeightStore&&) noexcept = default;
    WeightStore& operator=(WeightStore&&) noexcept = default;
    WeightStore(const WeightStore&) = delete;
    WeightStore& operator=(const WeightStore&) = delete;
    ~WeightStore() = default;

    const StoredTensor* find(std::string_view name) const;
    // input_error naming the folder and the tensor when it is absent.
    const StoredTensor& require(std::string_view name) const;
    std::vector<std::string> names() const;  // sorted
    size_t size() const { return tensors_.size(); }
    size_t total_bytes() const;   // bytes of tensor data
    size_t mapped_bytes() const;  // bytes of the files mapped
    const std::filesystem::path& folder() const { return folder_; }
    std::vector<std::filesystem::path> files() const;
    // Starts reading every file into the page cache in the background.
    void prefetch() const;

private:
    WeightStore() = default;
    void add_file(SafetensorsFile file);

    std::filesystem::path folder_;
    std::vector<SafetensorsFile> files_;
    std::map<std::string, StoredTensor, std::less<>> tensors_;
};

}  // namespace ascent
