#pragma once
// Matrix products for the `linear` op: y[r, o] = sum_i x[r, i] * W[o, i] (+ bias[o]), with x f32
// [rows, in] and W the [n_out, in] row-major weight exactly as the model file stores it (F32,
// BF16 or F16; read in place, never repacked).
//
// Implementations ("paths"): a plain scalar one, a portable Highway one (NEON, SVE, AVX2,
// AVX-512...), an x86 one written with AVX-512 intrinsics incl. vdpbf16ps, and the same x86 one
// with AMX tiles for BF16 prefill. The best one this CPU supports is chosen at run time;
// ASCENT_SIMD=scalar forces the scalar path, ASCENT_SIMD=hwy the Highway path and
// ASCENT_SIMD=avx512bf16 the x86 path without AMX.
//
// Numerics. The scalar path defines them and every other path computes the same products; only
// the order in which the f32 partial sums are added differs.
//  - F32 and F16 weights: weights widened exactly to f32, activations f32, sums in f32.
//  - BF16 weights: activations are rounded to BF16 (nearest even) once per matmul, decode and
//    prefill alike (as llama.cpp's BF16 dot products do), so every product bf16 x bf16 is exact
//    in f32; sums in f32. (vdpbf16ps and AMX treat BF16 denormals as zero; they are below
//    1e-38.) Decode reads each weight once per step: activations half the size keep a wide
//    row's x in L1 beside the weight stream.
// For a given path, results do not depend on the number of threads or on how [0, n_out) is
// split into blocks: each output is summed in the same order whichever block computes it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include "engine/dtype.h"

namespace ascent::cpu {

class ThreadPool;
struct MatmulPath;

// How a MatmulInput stores the activations; each path asks for the one its kernels read.
enum class MatmulLayout : uint8_t {
    F32,       // f32 rows
    BF16,      // rows rounded to BF16 (nearest even)
    BF16InF32, // rows rounded to BF16 (nearest even), stored as f32 (broadcast by packed prefill)
    BF16Tiles, // BF16 as AMX B tiles: per 16 tokens x 32 columns, 16 rows of (token, column pair)
};

// Activations prepared once per matmul for the kernels that read them (e.g. converted to BF16);
// reused across all threads and all weight matrices that share the same input (q/k/v). The
// prepared copy does not refer to `x` afterwards. Rows are zero-padded to `stride()` elements.
class MatmulInput {
public:
    MatmulInput();
    ~MatmulInput();
    MatmulInput(MatmulInput&&) noexcept;
    MatmulInput& operator=(MatmulInput&&) noexcept;

    // With the active path (see matmul_implementation()).
    void prepare(const float* x, int64_t rows, int64_t in, int64_t ldx, DType weight_type);
    // The same, converting row blocks on the pool (worth it for long prefills).
    void prepare(ThreadPool& pool, const float* x, int64_t rows, int64_t in, int64_t ldx, DType weight_type);
    // Produces x rows [r0, r1) just before they are converted, on the thread converting them, so a
    // row pass (a norm) runs while the rows are in that core's cache instead of as its own kernel.
    struct RowPrepass {
        void (*fill)(void* ctx, int64_t r0, int64_t r1);
        void* ctx;
    };
    void prepare(ThreadPool& pool, const float* x, int64_t rows, int64_t in, int64_t ldx, DType weight_type,
                 const RowPrepass& prepass);
    // With a given path (tests and benchmarks compare paths).
    void prepare(const MatmulPath& path, const float* x, int64_t rows, int64_t in, int64_t ldx,
                 DType weight_type, ThreadPool* pool = nullptr, const RowPrepass* prepass = nullptr);

    // Shapes the input for the path without converting anything; a producer of x then writes it
    // a block of columns at a time with convert_columns(), where the path has such a conversion
    // for this layout (MatmulPath::convert_columns).
    void shape(const MatmulPath& path, int64_t rows, int64_t in, DType weight_type);
    // Columns [c0, c1) of every row from x (column c0 + j of row r at x[r * ldx + j]), rounded
    // exactly as prepare() rounds them; c0 and c1 multiples of 16, or c1 == in().
    void convert_columns(const float* x, int64_t ldx, int64_t c0, int64_t c1);

    int64_t rows() const { return rows_; }
    int64_t in() const { return in_; }
    DType weight_type() const { return weight_type_; }
    const MatmulPath& path() const { return *path_; }
    MatmulLayout layout() const { return layout_; }
    int64_t stride() const { return stride_; }  // elements from one row to the next
    // A number no other input, nor this one's earlier contents, had in this process: shape() (so
    // prepare()) gives a new one. The rows are written only after shape() and before a kernel
    // reads them, so a kernel may keep what it derives from them (per thread) under it.
    uint64_t version() const { return version_; }

    const void* data() const { return data_; }
    const float* f32_row(int64_t r) const { return static_cast<const float*>(data_) + r * stride_; }
    const uint16_t* bf16_row(int64_t r) const { return static_cast<const uint16_t*>(data_) + r * stride_; }
    float* mutable_f32_row(int64_t r) { return static_cast<float*>(data_) + r * stride_; }
    uint16_t* mutable_bf16_row(int64_t r) { return static_cast<uint16_t*>(data_) + r * stride_; }

private:
    void reserve(size_t bytes);

    const MatmulPath* path_ = nullptr;
    int64_t rows_ = 0;
    int64_t in_ = 0;
    int64_t stride_ = 0;
    int64_t row_align_ = 1;
    DType weight_type_ = DType::F32;
    MatmulLayout layout_ = MatmulLayout::F32;
    uint64_t version_ = 0;
    void* data_ = nullptr;  // 64-byte aligned, grows only
    size_t capacity_ = 0;
};

// Single-threaded building block: for every row r of the input and every output o in
// [o0, o1): y[r * ldy + (o - o0)] = dot(x[r], w[o]) (+ bias[o] when bias != nullptr).
// w points at row 0 of the [n_out, in] weight (row-major, `in` elements per row, dtype wt);
// wt must be the type x was prepared for.
void matmul_rows(const MatmulInput& x, const void* w, DType wt, int64_t o0, int64_t o1,
                 const float* bias, float* y, int64_t ldy);

// Output rows per task that suits this shape (`in` elements per weight row): a multiple of 16 (one
// cache line of f32 outputs, so threads never share a line of y when ldy is a multiple of 16) and
// of every path's row tile.
int64_t matmul_block_rows(DType wt, int64_t rows, int64_t n_out, int64_t in, int threads);
// The most rows a product hands out at once (ThreadPool::run_chunks), whose chunks shrink towards
// a job's end by themselves: for decode, four matmul_block_rows() blocks.
int64_t matmul_chunk_rows(DType wt, int64_t rows, int64_t n_out, int64_t in, int threads);
// The products hand their rows out in units of this many, down to one unit as a job's end nears.
inline constexpr int64_t kMatmulUnitRows = 16;
inline int64_t matmul_units(int64_t n_out) { return (n_out + kMatmulUnitRows - 1) / kMatmulUnitRows; }

// Whole product on the pool: splits [0, n_out) into blocks and calls matmul_rows. The prepared
// input is a buffer per calling thread, kept (and grown to the largest input seen) for reuse.
void matmul(ThreadPool& pool, const float* x, int64_t rows, int64_t ldx, const void* w, DType wt,
            int64_t n_out, int64_t in, const float* bias, float* y, int64_t ldy);
// The same with an input prepared by the caller (one preparation shared by q, k and v).
void matmul(ThreadPool& pool, const MatmulInput& x, const void* w, DType wt, int64_t n_out,
            const float* bias, float* y, int64_t ldy);

// Several weight matrices that read the same input (q/k/v, gate/up) in one hand-out of work on
// the pool instead of one per matrix. Every weight must have the type x was prepared for.
struct MatmulOutput {
    const void* w;       // [n_out, x.in()] row-major
    int64_t n_out;
    const float* bias;   // or nullptr
    float* y;            // y[r * ldy + o]
    int64_t ldy;
};
void matmul(ThreadPool& pool, const MatmulInput& x, DType wt, std::span<const MatmulOutput> outputs);

// Which implementation runs ("avx512bf16+amx", "avx512bf16", "hwy:AVX3", "scalar", ...), for
// stats and tests.
std::string matmul_implementation();

}  // namespace ascent::cpu
