#pragma once
// Scratch floats on whole cache lines, so that a kernel's vector rows (and AMX tile rows) in them
// are aligned.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ascent::cpu {

// At least `floats` floats of `buf` starting on a cache line; grows `buf` when needed (and only
// then allocates), so a kernel's scratch is allocated once at its largest size.
inline float* aligned_floats(std::vector<float>& buf, size_t floats) {
    constexpr size_t kLine = 64 / sizeof(float);
    if (buf.size() < floats + kLine) buf.resize(floats + kLine);
    const auto misalign = reinterpret_cast<uintptr_t>(buf.data()) % 64 / sizeof(float);
    return buf.data() + (kLine - misalign) % kLine;
}

}  // namespace ascent::cpu
