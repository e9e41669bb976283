#include "engine/dummy_weights.h"

#include <cmath>
#include <cstring>
#include <functional>

#include "engine/error.h"

namespace ascent {

namespace {

uint64_t splitmix64(uint64_t& s) {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

bool ends_with(const std::string& s, const char* suffix) {
    const size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

DType dtype_from_torch_name(const std::string& torch_dtype) {
    if (torch_dtype == "bfloat16") return DType::BF16;
    if (torch_dtype == "float16") return DType::F16;
    return DType::F32;
}

const StoredTensor& DummyWeights::make(const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) {
        if (d <= 0 || __builtin_mul_overflow(n, d, &n)) input_error("dummy weight {}: invalid shape", name);
    }
    const size_t bytes = static_cast<size_t>(n) * dtype_size(dtype_);
    std::byte* data = memory_.allocate(bytes);
    float scale;
    float offset = 0.f;
    if (ends_with(name, "norm.weight")) {
        scale = 0.f;
        offset = 1.f;
    } else if (ends_with(name, ".bias")) {
        scale = 0.02f;
    } else {
        scale = 1.f / std::sqrt(static_cast<float>(shape.back()));
    }
    uint64_t state = seed_ ^ std::hash<std::string>{}(name);
    for (int64_t i = 0; i < n; i += 4) {
        uint64_t r = splitmix64(state);
        for (int64_t j = i; j < std::min(n, i + 4); ++j, r >>= 16) {
            const float u = static_cast<float>(r & 0xffff) / 32768.f - 1.f;  // [-1, 1)
            const float v = offset + scale * u;
            if (dtype_ == DType::F32) {
                std::memcpy(data + j * 4, &v, 4);
            } else {
                const uint16_t h = dtype_ == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
                std::memcpy(data + j * 2, &h, 2);
            }
        }
    }
    bytes_ += bytes;
    tensors_.push_back(StoredTensor{name, dtype_, std::move(shape), data, bytes, "(dummy weights)"});
    return tensors_.back();
}

}  // namespace ascent
