#pragma once
// What every AMX kernel of the CPU backend shares: the permission Linux asks for, the tile
// configuration, and loading it only when a thread's tiles hold another one (LDTILECFG costs
// about 60 ns here, and attention configures tiles for every tile of positions it runs).
#if defined(__x86_64__) && defined(__linux__)

#include <sys/syscall.h>
#include <unistd.h>
#include <cstdint>
#include <cstring>
#include "engine/cpu/matmul_avx512.h"  // <immintrin.h>, with GCC 12's warnings about it silenced

#define ASCENT_AMX                                                                                   \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,f16c,fma,amx-tile,amx-bf16")))

namespace ascent::cpu::amx {

// The 64-byte operand of LDTILECFG (palette 1).
struct alignas(64) TileConfig {
    uint8_t palette = 1;
    uint8_t start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};

    void set(int tile, int tile_rows, int bytes_per_row) {
        rows[tile] = static_cast<uint8_t>(tile_rows);
        colsb[tile] = static_cast<uint16_t>(bytes_per_row);
    }
};
static_assert(sizeof(TileConfig) == 64);

// All eight tiles whole: 16 rows of 64 bytes. The matrix products and attention's 32-row products
// both use it, so that going from one to the other reloads nothing.
inline TileConfig whole_tiles() {
    TileConfig c;
    for (int t = 0; t < 8; ++t) c.set(t, 16, 64);
    return c;
}

// Whether this CPU has AMX BF16 tiles and Linux lets the process use them: it hands out the 8 KiB
// tile state only on request (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA), and
// without it the first tile instruction kills the process.
inline bool permitted() {
    static const bool ok = [] {
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-bf16")) return false;
        constexpr int kArchReqXcompPerm = 0x1023;
        constexpr int kXfeatureXtiledata = 18;
        return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
    }();
    return ok;
}

// This thread's loaded configuration, or none after a release.
struct LoadedTiles {
    TileConfig config;
    bool valid = false;
};
inline LoadedTiles& loaded_tiles() {
    thread_local LoadedTiles loaded;
    return loaded;
}

ASCENT_AMX inline void configure(const TileConfig& c) {
    LoadedTiles& l = loaded_tiles();
    if (l.valid && std::memcmp(&l.config, &c, sizeof c) == 0) return;
    _tile_loadconfig(&c);
    l.config = c;
    l.valid = true;
}

// Back to the init state, so that context switches of this thread stop saving 8 KiB of tiles.
ASCENT_AMX inline void release() {
    _tile_release();
    loaded_tiles().valid = false;
}

}  // namespace ascent::cpu::amx

#endif
