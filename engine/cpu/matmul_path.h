#pragma once
// The implementations behind matmul.h. Each path is a table of functions compiled for one
// instruction set; MatmulInput remembers the path it was prepared for, so the layout of the
// activations and the kernels that read them always agree.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include "engine/cpu/matmul.h"

namespace ascent::cpu {

struct MatmulShape {
    MatmulLayout layout;
    int64_t pad;        // rows are zero-padded to a multiple of this many elements
    int64_t row_align;  // convert() is called on row ranges starting at multiples of this
};

struct MatmulPath {
    std::string name;
    // Output rows the kernels handle together; blocks are multiples of it.
    int64_t row_tile;
    // The activation layout this path's kernels read for a [rows, in] input against weights of
    // type wt.
    MatmulShape (*shape)(DType wt, int64_t rows, int64_t in);
    // Converts x rows [r0, r1) into dst (already shaped): zero padding included.
    void (*convert)(MatmulInput& dst, const float* x, int64_t ldx, int64_t r0, int64_t r1);
    // Converts columns [c0, c1) of every row into dst (already shaped), zero rows of padding
    // included: column c0 + j of row r is x[r * ldx + j]. c0 and c1 are multiples of 16 (or c1 is
    // dst.in()). For MatmulLayout::BF16Tiles and BF16 inputs only; nullptr on the paths without it.
    void (*convert_columns)(MatmulInput& dst, const float* x, int64_t ldx, int64_t c0, int64_t c1);
    // See matmul_rows() in matmul.h.
    void (*rows)(const MatmulInput& x, const void* w, DType wt, int64_t o0, int64_t o1,
                 const float* bias, float* y, int64_t ldy);
    // Probes: a register-resident multiply-add loop of `iterations` steps; returns the FLOPs it did
    // (2 per multiply-add). nullptr when the path has no such loop.
    double (*peak_loop)(int64_t iterations);
    std::string peak_kernel;  // what peak_loop runs, e.g. "vdpbf16ps zmm"
    // Probes: reads `bytes` (a multiple of 256, 64-byte aligned) and returns a value depending on
    // all of them, so the reads cannot be skipped.
    float (*read_sum)(const void* p, size_t bytes);
};

const MatmulPath& scalar_matmul_path();
const MatmulPath& hwy_matmul_path();
// The Highway path once for every instruction set compiled in and supported by this CPU (SSE4,
// AVX2, AVX-512, the scalar emulation... on x86), so tests cover the targets other machines pick.
// Changes Highway's global target choice while it runs: tests only, no other thread active.
std::vector<MatmulPath> hwy_matmul_paths_for_each_target();
// nullptr when the CPU (or the build's architecture) lacks AVX-512 F/BW/VL + BF16.
const MatmulPath* x86_matmul_path();
// The x86 path with AMX tiles for BF16 prefill; nullptr without AMX-BF16 or without the
// kernel's permission to use the tile registers.
const MatmulPath* amx_matmul_path();
// Register-resident TDPBF16PS loop of `iterations` steps; returns its FLOPs (0 without AMX).
double amx_peak_loop(int64_t iterations);
// What the last peak loop on this thread summed its chains to. The chains start apart (equal
// ones are one value to the compiler, which then runs one chain and the loop measures its
// latency); tests recompute the sum to check that they do.
extern thread_local float peak_loop_sum;
// Every path this CPU can run, best last; the scalar one first.
std::vector<const MatmulPath*> matmul_paths();
// The path for an ASCENT_SIMD value: "scalar", "hwy", "avx512bf16" (x86 without AMX), anything
// else (or nullptr) = best.
const MatmulPath& matmul_path_for(const char* simd_env);
// The path ASCENT_SIMD in the environment asks for (read on every call, so tests can set it).
const MatmulPath& active_matmul_path();

// Reference conversion used by the scalar path and as a fallback by the others.
void convert_rows_reference(MatmulInput& dst, const float* x, int64_t ldx, int64_t r0, int64_t r1);

}  // namespace ascent::cpu
