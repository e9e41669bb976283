#pragma once
// Scratch on whole cache lines, so that a kernel's vector rows (and AMX tile rows) in them are
// aligned.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ascent::cpu {

// At least `n` elements of `buf` starting on a cache line; grows `buf` when needed (and only
// then allocates), so a kernel's scratch is allocated once at its largest size.
template <typename T>
T* aligned_elements(std::vector<T>& buf, size_t n) {
    static_assert(64 % sizeof(T) == 0);
    constexpr size_t kLine = 64 / sizeof(T);
    if (buf.size() < n + kLine) buf.resize(n + kLine);
    const auto misalign = reinterpret_cast<uintptr_t>(buf.data()) % 64 / sizeof(T);
    return buf.data() + (kLine - misalign) % kLine;
}
inline float* aligned_floats(std::vector<float>& buf, size_t floats) { return aligned_elements(buf, floats); }

}  // namespace ascent::cpu
