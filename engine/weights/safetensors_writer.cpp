#include "engine/weights/safetensors_writer.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/error.h"

namespace ascent {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kIndexFile = "model.safetensors.index.json";

size_t expected_nbytes(const fs::path& file, const TensorToWrite& t) {
    size_t n = dtype_size(t.dtype);
    for (int64_t d : t.shape) {
        if (d < 0) input_error("{}: tensor '{}' has a negative dimension ({})", file.string(), t.name, d);
        if (__builtin_mul_overflow(n, static_cast<size_t>(d), &n))
            input_error("{}: tensor '{}' has a shape too large to count in bytes", file.string(), t.name);
    }
    return n;
}

void check_names_unique(const fs::path& where, const std::vector<const TensorToWrite*>& tensors) {
    std::set<std::string_view> names;
    for (const TensorToWrite* t : tensors) {
        if (t->name == "__metadata__")
            input_error("{}: '__metadata__' is reserved and cannot name a tensor", where.string());
        if (!names.insert(t->name).second) input_error("{}: tensor '{}' is given twice", where.string(), t->name);
    }
}

void write_file(const fs::path& file, const std::vector<const TensorToWrite*>& tensors,
                const std::map<std::string, std::string>& metadata) {
    check_names_unique(file, tensors);
    json header = json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const TensorToWrite* t : tensors) {
        size_t nbytes = expected_nbytes(file, *t);
        if (t->bytes.size() != nbytes)
            input_error("{}: tensor '{}' has {} bytes but its shape and dtype need {}", file.string(), t->name,
                        t->bytes.size(), nbytes);
        header[t->name] = {{"dtype", dtype_name(t->dtype)}, {"shape", t->shape}, {"data_offsets", {offset, offset + nbytes}}};
        offset += nbytes;
    }
    std::string text = header.dump();
    // Padding with spaces is allowed by the format; it puts the data area on an
    // 8-byte boundary so that readers can use F32 data in place.
    text.append((8 - text.size() % 8) % 8, ' ');

    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) runtime_error("cannot create {}: {}", file.string(), std::strerror(errno));
    uint64_t len = text.size();
    unsigned char prefix[8];
    for (int i = 0; i < 8; ++i) prefix[i] = static_cast<unsigned char>(len >> (8 * i));
    out.write(reinterpret_cast<const char*>(prefix), sizeof prefix);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const TensorToWrite* t : tensors)
        out.write(reinterpret_cast<const char*>(t->bytes.data()), static_cast<std::streamsize>(t->bytes.size()));
    out.close();
    if (!out) runtime_error("cannot write {}: {}", file.string(), std::strerror(errno));
}

}  // namespace

TensorToWrite tensor_from_f32(std::string name, DType dtype, std::vector<int64_t> shape,
                              std::span<const float> values) {
    TensorToWrite t{std::move(name), dtype, std::move(shape), {}};
    size_t nbytes = expected_nbytes("<memory>", t);
    if (values.size() * dtype_size(dtype) != nbytes)
        input_error("tensor '{}': {} values do not fill its shape ({} elements)", t.name, values.size(),
                    nbytes / dtype_size(dtype));
    t.bytes.resize(nbytes);
    for (size_t i = 0; i < values.size(); ++i) {
        std::byte* p = t.bytes.data() + i * dtype_size(dtype);
        switch (dtype) {
            case DType::F32: std::memcpy(p, &values[i], 4); break;
            case DType::BF16: {
                uint16_t h = f32_to_bf16(values[i]);
                std::memcpy(p, &h, 2);
                break;
            }
            case DType::F16: {
                uint16_t h = f32_to_f16(values[i]);
                std::memcpy(p, &h, 2);
                break;
            }
        }
    }
    return t;
}

void write_safetensors(const fs::path& file, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    std::vector<const TensorToWrite*> all;
    for (const auto& t : tensors) all.push_back(&t);
    write_file(file, all, metadata);
}

void write_safetensors_sharded(const fs::path& folder, const std::vector<TensorToWrite>& tensors,
                               size_t max_shard_bytes) {
    if (tensors.empty()) input_error("{}: no tensors to write", folder.string());
    std::vector<const TensorToWrite*> all;
    for (const auto& t : tensors) all.push_back(&t);
    check_names_unique(folder, all);

    std::vector<std::vector<const TensorToWrite*>> shards(1);
    size_t shard_bytes = 0;
    uint64_t total = 0;
    for (const TensorToWrite* t : all) {
        if (!shards.back().empty() && shard_bytes + t->bytes.size() > max_shard_bytes) {
            shards.emplace_back();
            shard_bytes = 0;
        }
        shards.back().push_back(t);
        shard_bytes += t->bytes.size();
        total += t->bytes.size();
    }

    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) runtime_error("cannot create {}: {}", folder.string(), ec.message());

    json weight_map = json::object();
    for (size_t i = 0; i < shards.size(); ++i) {
        std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
        // transformers refuses safetensors checkpoints whose metadata lacks a known "format".
        write_file(folder / name, shards[i], {{"format", "pt"}});
        for (const TensorToWrite* t : shards[i]) weight_map[t->name] = name;
    }
    json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    const fs::path index_file = folder / kIndexFile;
    std::ofstream out(index_file, std::ios::binary | std::ios::trunc);
    out << index.dump(2) << '\n';
    out.close();
    if (!out) runtime_error("cannot write {}: {}", index_file.string(), std::strerror(errno));
}

}  // namespace ascent
