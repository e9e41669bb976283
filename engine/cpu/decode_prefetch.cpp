#include "engine/cpu/decode_prefetch.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include "engine/error.h"

namespace ascent::cpu {
namespace {

constexpr size_t kUnset = ~size_t{0};
std::atomic<size_t> distance{kUnset}, tile_distance{kUnset};

// This CPU's distances (decode_prefetch.h), from one look at the CPU.
struct Distances {
    size_t decode, tiles;
};
Distances cpu_defaults() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_is("amd")) return __builtin_cpu_supports("avx512f") ? Distances{4096, 8192} : Distances{1536, 4096};
#endif
    return {3072, 6144};
}

}  // namespace

size_t default_decode_prefetch_bytes() { return cpu_defaults().decode; }

size_t default_tile_prefetch_bytes() { return cpu_defaults().tiles; }

size_t parse_decode_prefetch_bytes(const char* value) {
    if (value == nullptr || *value == '\0') return default_decode_prefetch_bytes();
    char* end = nullptr;
    errno = 0;
    const unsigned long long bytes = std::strtoull(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || errno != 0 || *end != '\0' || bytes % 64 != 0 ||
        bytes > kMaxDecodePrefetchBytes)
        input_error("ASCENT_DECODE_PREFETCH={}: expected bytes, a multiple of 64 from 0 (no prefetch) to {}", value,
                    kMaxDecodePrefetchBytes);
    return static_cast<size_t>(bytes);
}

size_t decode_prefetch_bytes() {
    size_t d = distance.load(std::memory_order_relaxed);
    if (d == kUnset) {
        const char* env = std::getenv("ASCENT_DECODE_PREFETCH");
        d = parse_decode_prefetch_bytes(env);
        tile_distance.store(env != nullptr && *env != '\0' ? 2 * d : default_tile_prefetch_bytes(),
                            std::memory_order_relaxed);
        distance.store(d, std::memory_order_relaxed);
    }
    return d;
}

size_t tile_prefetch_bytes() {
    decode_prefetch_bytes();
    return tile_distance.load(std::memory_order_relaxed);
}

void set_decode_prefetch_bytes(size_t bytes) { set_decode_prefetch_bytes(bytes, 2 * bytes); }

void set_decode_prefetch_bytes(size_t decode_bytes, size_t tile_bytes) {
    tile_distance.store(tile_bytes, std::memory_order_relaxed);
    distance.store(decode_bytes, std::memory_order_relaxed);
}

}  // namespace ascent::cpu
