// Parsing and validating one safetensors file. The checks follow the format's
// rules (header starts with '{', may be padded with spaces, no duplicate names,
// tensors tile the data area with no holes or overlaps) and add the ones a C++
// reader needs that a Rust one gets for free (checked arithmetic everywhere).
#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/weights/json_error_text.h"
#include "engine/weights/safetensors.h"

namespace ascent {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and is used in place");

namespace {

using nlohmann::json;

constexpr size_t kLengthPrefixBytes = 8;

struct Entry {
    StoredTensor tensor;
    uint64_t begin = 0;
    uint64_t end = 0;
};

[[noreturn]] void tensor_error(const std::filesystem::path& file, const std::string& name,
                               const std::string& problem) {
    input_error("{}: tensor '{}': {}", file.string(), name, problem);
}

uint64_t read_u64_le(const std::byte* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

json parse_header_json(const std::filesystem::path& file, std::string_view text) {
    if (text.empty() || text.front() != '{') input_error("{}: header does not start with '{{'", file.string());

    // nlohmann keeps the last of two equal keys silently; the format forbids them,
    // and a silent pick would hide which of two tensors the file meant.
    std::set<std::string> seen;
    std::string duplicate;
    auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
        if (depth == 1 && event == json::parse_event_t::key && duplicate.empty()) {
            const auto& key = parsed.get_ref<const std::string&>();
            if (!seen.insert(key).second) duplicate = key;
        }
        return true;
    };
    json header;
    try {
        header = json::parse(text, on_event);
    } catch (const json::exception& e) {
        input_error("{}: header is not valid JSON: {}", file.string(), json_error_text(e));
    }
    if (!header.is_object()) input_error("{}: header is not a JSON object", file.string());
    if (!duplicate.empty()) input_error("{}: header lists '{}' twice", file.string(), duplicate);
    return header;
}

std::map<std::string, std::string> parse_metadata(const std::filesystem::path& file, const json& value) {
    if (!value.is_object()) input_error("{}: __metadata__ is not a JSON object", file.string());
    std::map<std::string, std::string> metadata;
    for (const auto& [key, v] : value.items()) {
        if (!v.is_string())
            input_error("{}: __metadata__ value of '{}' is not a string (it is {})", file.string(), key,
                        v.type_name());
        metadata.emplace(key, v.get<std::string>());
    }
    return metadata;
}

DType parse_dtype(const std::filesystem::path& file, const std::string& name, const json& entry) {
    auto it = entry.find("dtype");
    if (it == entry.end()) tensor_error(file, name, "\"dtype\" is missing");
    if (!it->is_string()) tensor_error(file, name, fmt::format("\"dtype\" is not a string (it is {})", it->type_name()));
    const auto& text = it->get_ref<const std::string&>();
    auto dtype = dtype_from_name(text);
    if (!dtype) tensor_error(file, name, fmt::format("dtype {} is not supported (F32, BF16, F16 are)", text));
    return *dtype;
}

std::vector<int64_t> parse_shape(const std::filesystem::path& file, const std::string& name, const json& entry) {
    auto it = entry.find("shape");
    if (it == entry.end()) tensor_error(file, name, "\"shape\" is missing");
    if (!it->is_array()) tensor_error(file, name, fmt::format("\"shape\" is not an array (it is {})", it->type_name()));
    std::vector<int64_t> shape;
    for (size_t d = 0; d < it->size(); ++d) {
        const json& dim = (*it)[d];
        if (dim.is_number_integer() && !dim.is_number_unsigned())
            tensor_error(file, name, fmt::format("dimension {} is negative ({})", d, dim.get<int64_t>()));
        if (!dim.is_number_unsigned())
            tensor_error(file, name, fmt::format("dimension {} is not a non-negative integer ({})", d, dim.dump()));
        uint64_t v = dim.get<uint64_t>();
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            tensor_error(file, name, fmt::format("dimension {} ({}) does not fit in 64 bits", d, v));
        shape.push_back(static_cast<int64_t>(v));
    }
    return shape;
}

// Byte size of shape x dtype, or an error when the product overflows.
size_t checked_nbytes(const std::filesystem::path& file, const std::string& name, const std::vector<int64_t>& shape,
                      DType dtype) {
    int64_t numel = 1;
    for (int64_t d : shape) {
        if (__builtin_mul_overflow(numel, d, &numel))
            tensor_error(file, name, fmt::format("shape {} has too many elements to count in 64 bits", shape_text(shape)));
    }
    size_t nbytes = 0;
    if (__builtin_mul_overflow(static_cast<size_t>(numel), dtype_size(dtype), &nbytes))
        tensor_error(file, name,
                     fmt::format("shape {} of {} is too many bytes to count", shape_text(shape), dtype_name(dtype)));
    return nbytes;
}

std::pair<uint64_t, uint64_t> parse_offsets(const std::filesystem::path& file, const std::string& name,
                                            const json& entry) {
    auto it = entry.find("data_offsets");
    if (it == entry.end()) tensor_error(file, name, "\"data_offsets\" is missing");
    if (!it->is_array() || it->size() != 2 || !(*it)[0].is_number_unsigned() || !(*it)[1].is_number_unsigned())
        tensor_error(file, name,
                     fmt::format("\"data_offsets\" must be [begin, end] with non-negative integers, not {}", it->dump()));
    return {(*it)[0].get<uint64_t>(), (*it)[1].get<uint64_t>()};
}

Entry parse_entry(const std::filesystem::path& file, const std::string& name, const json& value,
                  const std::byte* data_area, uint64_t data_size) {
    if (!value.is_object()) tensor_error(file, name, fmt::format("entry is not a JSON object (it is {})", value.type_name()));
    Entry e;
    e.tensor.name = name;
    e.tensor.file = file;
    e.tensor.dtype = parse_dtype(file, name, value);
    e.tensor.shape = parse_shape(file, name, value);
    std::tie(e.begin, e.end) = parse_offsets(file, name, value);
    size_t nbytes = checked_nbytes(file, name, e.tensor.shape, e.tensor.dtype);

    if (e.begin > e.end)
        tensor_error(file, name, fmt::format("data_offsets [{}, {}] begin after they end", e.begin, e.end));
    if (e.end > data_size)
        tensor_error(file, name,
                     fmt::format("data_offsets [{}, {}] lie outside the data area ({} bytes)", e.begin, e.end, data_size));
    if (e.end - e.begin != nbytes)
        tensor_error(file, name,
                     fmt::format("shape {} of {} needs {} bytes but data_offsets [{}, {}] hold {}",
                                 shape_text(e.tensor.shape), dtype_name(e.tensor.dtype), nbytes, e.begin, e.end,
                                 e.end - e.begin));
    e.tensor.nbytes = nbytes;
    e.tensor.data = data_area + e.begin;
    return e;
}

// The format requires the tensors to cover the data area exactly, so that a file
// has one byte layout per header and cannot smuggle unreferenced bytes.
void check_tiling(const std::filesystem::path& file, std::vector<Entry>& entries, uint64_t data_size) {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return std::tie(a.begin, a.end, a.tensor.name) < std::tie(b.begin, b.end, b.tensor.name);
    });
    uint64_t covered = 0;
    const Entry* previous = nullptr;
    for (const Entry& e : entries) {
        if (e.begin < covered)
            input_error("{}: tensor '{}' (data_offsets [{}, {}]) overlaps tensor '{}' ([{}, {}])", file.string(),
                        e.tensor.name, e.begin, e.end, previous->tensor.name, previous->begin, previous->end);
        if (e.begin > covered)
            input_error("{}: bytes [{}, {}) of the data area belong to no tensor (before tensor '{}'); "
                        "the format does not allow holes",
                        file.string(), covered, e.begin, e.tensor.name);
        covered = e.end;
        previous = &e;
    }
    if (covered != data_size)
        input_error("{}: the last {} bytes of the data area belong to no tensor; the format does not allow holes",
                    file.string(), data_size - covered);
}

}  // namespace

int64_t StoredTensor::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;  // cannot overflow: checked when the header was read
    return n;
}

float stored_value_f32(const StoredTensor& t, size_t i) {
    if (i >= static_cast<size_t>(t.numel()))
        runtime_error("element {} of tensor '{}' is out of range ({} elements)", i, t.name, t.numel());
    const std::byte* p = t.data + i * dtype_size(t.dtype);
    switch (t.dtype) {
        case DType::F32: {
            float f;
            std::memcpy(&f, p, 4);
            return f;
        }
        case DType::BF16:
        case DType::F16: {
            uint16_t h;
            std::memcpy(&h, p, 2);
            return t.dtype == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
        }
    }
    runtime_error("tensor '{}' has an unknown dtype", t.name);
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& file) {
    SafetensorsFile st;
    st.map_ = MappedFile::open(file);
    const std::byte* base = st.map_.data();
    const uint64_t size = st.map_.size();

    if (size < kLengthPrefixBytes)
        input_error("{}: file is {} bytes, too short to hold the 8-byte header length", file.string(), size);
    const uint64_t header_len = read_u64_le(base);
    if (header_len > kMaxSafetensorsHeaderBytes)
        input_error("{}: header length {} is over the {}-byte limit (damaged file, or not safetensors)", file.string(),
                    header_len, kMaxSafetensorsHeaderBytes);
    if (header_len > size - kLengthPrefixBytes)
        input_error("{}: header length {} runs past the end of the file ({} bytes; truncated?)", file.string(),
                    header_len, size);

    std::string_view text(reinterpret_cast<const char*>(base + kLengthPrefixBytes), header_len);
    json header = parse_header_json(file, text);

    st.data_offset_ = kLengthPrefixBytes + header_len;
    const std::byte* data_area = base + st.data_offset_;
    const uint64_t data_size = size - st.data_offset_;

    std::vector<Entry> entries;
    for (const auto& [key, value] : header.items()) {
        if (key == "__metadata__")
            st.metadata_ = parse_metadata(file, value);
        else
            entries.push_back(parse_entry(file, key, value, data_area, data_size));
    }
    check_tiling(file, entries, data_size);

    st.tensors_.reserve(entries.size());
    for (Entry& e : entries) st.tensors_.push_back(std::move(e.tensor));
    std::sort(st.tensors_.begin(), st.tensors_.end(),
              [](const StoredTensor& a, const StoredTensor& b) { return a.name < b.name; });
    return st;
}

const StoredTensor* SafetensorsFile::find(std::string_view name) const {
    auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                               [](const StoredTensor& t, std::string_view n) { return t.name < n; });
    return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

}  // namespace ascent
