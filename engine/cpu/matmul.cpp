#include "engine/cpu/matmul.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>
#include "engine/cpu/matmul_path.h"
#include "engine/cpu/thread_pool.h"
#include "engine/error.h"

namespace ascent::cpu {
namespace {

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Below this many elements the conversion is cheaper than waking the pool.
constexpr int64_t kParallelConvertElements = int64_t{1} << 16;

}  // namespace

MatmulInput::MatmulInput() = default;

MatmulInput::~MatmulInput() { std::free(data_); }

MatmulInput::MatmulInput(MatmulInput&& o) noexcept { *this = std::move(o); }

MatmulInput& MatmulInput::operator=(MatmulInput&& o) noexcept {
    if (this != &o) {
        std::free(data_);
        path_ = o.path_;
        rows_ = o.rows_;
        in_ = o.in_;
        stride_ = o.stride_;
        row_align_ = o.row_align_;
        weight_type_ = o.weight_type_;
        layout_ = o.layout_;
        version_ = std::exchange(o.version_, 0);
        data_ = std::exchange(o.data_, nullptr);
        capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
}

void MatmulInput::reserve(size_t bytes) {
    if (bytes <= capacity_) return;
    std::free(data_);
    data_ = nullptr;
    capacity_ = 0;
    const size_t size = (bytes + 63) / 64 * 64;
    data_ = std::aligned_alloc(64, size);
    if (!data_) throw std::bad_alloc();
    capacity_ = size;
}

void MatmulInput::prepare(const float* x, int64_t rows, int64_t in, int64_t ldx, DType weight_type) {
    prepare(active_matmul_path(), x, rows, in, ldx, weight_type, nullptr);
}

void MatmulInput::prepare(ThreadPool& pool, const float* x, int64_t rows, int64_t in, int64_t ldx,
                          DType weight_type) {
    prepare(active_matmul_path(), x, rows, in, ldx, weight_type, &pool);
}

void MatmulInput::prepare(ThreadPool& pool, const float* x, int64_t rows, int64_t in, int64_t ldx,
                          DType weight_type, const RowPrepass& prepass) {
    prepare(active_matmul_path(), x, rows, in, ldx, weight_type, &pool, &prepass);
}

void MatmulInput::shape(const MatmulPath& path, int64_t rows, int64_t in, DType weight_type) {
    if (rows < 0 || in < 1) runtime_error("matmul: bad input shape (rows {}, in {})", rows, in);
    const MatmulShape shape = path.shape(weight_type, rows, in);
    path_ = &path;
    rows_ = rows;
    in_ = in;
    stride_ = round_up(in, shape.pad);
    row_align_ = shape.row_align;
    weight_type_ = weight_type;
    layout_ = shape.layout;
    static std::atomic<uint64_t> versions{0};
    version_ = versions.fetch_add(1, std::memory_order_relaxed) + 1;
    const bool bf16 = layout_ == MatmulLayout::BF16 || layout_ == MatmulLayout::BF16Tiles;
    const int64_t padded_rows = round_up(std::max<int64_t>(rows, 1), shape.row_align);
    reserve(static_cast<size_t>(padded_rows * stride_) * (bf16 ? 2 : 4));
}

void MatmulInput::convert_columns(const float* x, int64_t ldx, int64_t c0, int64_t c1) {
    if (!path_ || !path_->convert_columns || (layout_ != MatmulLayout::BF16Tiles && layout_ != MatmulLayout::BF16))
        runtime_error("matmul: this input's layout cannot be converted by columns");
    if (c0 < 0 || c1 > in_ || c0 > c1 || c0 % 16 != 0 || (c1 % 16 != 0 && c1 != in_) || ldx < c1 - c0)
        runtime_error("matmul: bad column block [{}, {}) of {} columns (ldx {})", c0, c1, in_, ldx);
    if (c0 < c1 && rows_ > 0) path_->convert_columns(*this, x, ldx, c0, c1);
}

void MatmulInput::prepare(const MatmulPath& path, const float* x, int64_t rows, int64_t in, int64_t ldx,
                          DType weight_type, ThreadPool* pool, const RowPrepass* prepass) {
    if (ldx < in) runtime_error("matmul: bad input shape (rows {}, in {}, ldx {})", rows, in, ldx);
    shape(path, rows, in, weight_type);
    if (rows == 0) return;
    const int64_t units = (rows + row_align_ - 1) / row_align_;
    if (pool && pool->size() > 1 && units > 1 && rows * in >= kParallelConvertElements) {
        const int64_t n_tasks = std::min<int64_t>(units, 4 * pool->size());
        pool->run(n_tasks, [&](int64_t task, int) {
            const int64_t r0 = units * task / n_tasks * row_align_;
            const int64_t r1 = std::min(rows, units * (task + 1) / n_tasks * row_align_);
            if (prepass) prepass->fill(prepass->ctx, r0, r1);
            path.convert(*this, x, ldx, r0, r1);
        });
    } else {
        if (prepass) prepass->fill(prepass->ctx, 0, rows);
        path.convert(*this, x, ldx, 0, rows);
    }
}

void convert_rows_reference(MatmulInput& dst, const float* x, int64_t ldx, int64_t r0, int64_t r1) {
    const int64_t in = dst.in(), stride = dst.stride();
    for (int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * ldx;
        switch (dst.layout()) {
            case MatmulLayout::F32: {
                float* d = dst.mutable_f32_row(r);
                std::memcpy(d, xr, static_cast<size_t>(in) * sizeof(float));
                std::fill(d + in, d + stride, 0.f);
                break;
            }
            case MatmulLayout::BF16: {
                uint16_t* d = dst.mutable_bf16_row(r);
                for (int64_t i = 0; i < in; ++i) d[i] = f32_to_bf16(xr[i]);
                std::fill(d + in, d + stride, uint16_t{0});
                break;
            }
            case MatmulLayout::BF16InF32: {
                float* d = dst.mutable_f32_row(r);
                for (int64_t i = 0; i < in; ++i) d[i] = bf16_to_f32(f32_to_bf16(xr[i]));
                std::fill(d + in, d + stride, 0.f);
                break;
            }
            case MatmulLayout::BF16Tiles:
                runtime_error("matmul: the reference conversion has no AMX tile layout");
        }
    }
}

void matmul_rows(const MatmulInput& x, const void* w, DType wt, int64_t o0, int64_t o1,
                 const float* bias, float* y, int64_t ldy) {
    if (wt != x.weight_type())
        runtime_error("matmul: input prepared for {} weights used with {} weights", dtype_name(x.weight_type()),
                      dtype_name(wt));
    if (o1 <= o0 || x.rows() == 0) return;
    x.path().rows(x, w, wt, o0, o1, bias, y, ldy);
}

int64_t matmul_block_rows(DType wt, int64_t rows, int64_t n_out, int64_t in, int threads) {
    // Several tasks per thread, so that a thread slowed down by another process does not hold the
    // others back; not so many that small matrices pay for the task hand-out. Every path's row
    // tile divides 16. Decode takes finer tasks: both threads stream until a product's last few
    // hundred KB, where with 4 tasks each the thread done first waited up to a task's 35 us (a
    // gate or up block); on Zen 4 in its fast state, 16 tasks per thread read at 90.5% of the
    // roof against 89.4% with 4 (32: 91.1%), in alternating ascent bench runs, and the same in
    // its slow state (about 98%). A decode task also reads at most about 2 MiB of weights (70 us
    // at 30 GB/s): Qwen2-0.5B's LM head in 16 tasks per thread of 8.5 MiB had one thread done
    // 60-180 us before the other on average (--trace), 24-56 us with 2 MiB tasks, and gpt-oss's
    // 1.1 GiB head would leave it waiting for a 36 MiB task. Much smaller tasks cost more than
    // they save: 64 KiB ones made Zen 4's fast-state steps 2-4% slower.
    constexpr int64_t kAlign = 16;
    constexpr int64_t kMaxDecodeTaskBytes = int64_t{2} << 20;
    const int64_t tasks_per_thread = rows == 1 ? 16 : 4;
    const int64_t min_block = rows == 1 ? 64 : 32;
    if (threads <= 1) return std::max<int64_t>(round_up(n_out, kAlign), kAlign);
    const int64_t target_tasks = int64_t{threads} * tasks_per_thread;
    int64_t block = std::max(round_up((n_out + target_tasks - 1) / target_tasks, kAlign), min_block);
    if (rows == 1) {
        const int64_t row_bytes = std::max<int64_t>(1, in * static_cast<int64_t>(dtype_size(wt)));
        block = std::min(block, std::max(min_block, kMaxDecodeTaskBytes / row_bytes / kAlign * kAlign));
    }
    return block;
}

int64_t matmul_chunk_rows(DType wt, int64_t rows, int64_t n_out, int64_t in, int threads) {
    // Fixed decode blocks are small so that the thread done first does not wait long for the
    // other's last block; chunks that halve towards the end need not be: on Zen 4, decode steps
    // were 0.0-0.6% faster (6 of 6 runs of alternating steps) with chunks of four blocks.
    const int64_t block = matmul_block_rows(wt, rows, n_out, in, threads);
    return rows == 1 ? 4 * block : block;
}

void matmul(ThreadPool& pool, const MatmulInput& x, const void* w, DType wt, int64_t n_out,
            const float* bias, float* y, int64_t ldy) {
    const int64_t block = matmul_chunk_rows(wt, x.rows(), n_out, x.in(), pool.size());
    pool.run_chunks(matmul_units(n_out), block / kMatmulUnitRows, [&](int64_t u0, int64_t u1, int) {
        const int64_t o0 = u0 * kMatmulUnitRows, o1 = std::min(n_out, u1 * kMatmulUnitRows);
        matmul_rows(x, w, wt, o0, o1, bias, y + o0, ldy);
    });
}

void matmul(ThreadPool& pool, const MatmulInput& x, DType wt, std::span<const MatmulOutput> outputs) {
    // Units run through the outputs in order, so one job shares the work of all of them; a chunk
    // may end in one output and go on in the next.
    int64_t n_units = 0, total_out = 0;
    for (const MatmulOutput& out : outputs) {
        n_units += matmul_units(out.n_out);
        total_out += out.n_out;
    }
    const int64_t block = matmul_chunk_rows(wt, x.rows(), total_out, x.in(), pool.size());
    pool.run_chunks(n_units, block / kMatmulUnitRows, [&](int64_t u0, int64_t u1, int) {
        int64_t first = 0;  // the current output's first unit
        for (const MatmulOutput& out : outputs) {
            const int64_t n = matmul_units(out.n_out);
            const int64_t b = std::max(u0, first), e = std::min(u1, first + n);
            if (b < e) {
                const int64_t o0 = (b - first) * kMatmulUnitRows, o1 = std::min(out.n_out, (e - first) * kMatmulUnitRows);
                matmul_rows(x, out.w, wt, o0, o1, out.bias, out.y + o0, out.ldy);
            }
            first += n;
        }
    });
}

void matmul(ThreadPool& pool, const float* x, int64_t rows, int64_t ldx, const void* w, DType wt,
            int64_t n_out, int64_t in, const float* bias, float* y, int64_t ldy) {
    // One prepared buffer per calling thread, reused across calls so that decode does not
    // allocate.
    thread_local MatmulInput input;
    input.prepare(pool, x, rows, in, ldx, wt);
    matmul(pool, input, w, wt, n_out, bias, y, ldy);
}

const MatmulPath& matmul_path_for(const char* simd_env) {
    const MatmulPath* x86 = x86_matmul_path();
    if (simd_env && std::strcmp(simd_env, "scalar") == 0) return scalar_matmul_path();
    if (simd_env && std::strcmp(simd_env, "hwy") == 0) return hwy_matmul_path();
    if (simd_env && std::strcmp(simd_env, "avx512bf16") == 0 && x86) return *x86;
    if (const MatmulPath* amx = amx_matmul_path()) return *amx;
    if (x86) return *x86;
    return hwy_matmul_path();
}

const MatmulPath& active_matmul_path() { return matmul_path_for(std::getenv("ASCENT_SIMD")); }

std::vector<const MatmulPath*> matmul_paths() {
    std::vector<const MatmulPath*> paths{&scalar_matmul_path(), &hwy_matmul_path()};
    if (const MatmulPath* x86 = x86_matmul_path()) paths.push_back(x86);
    if (const MatmulPath* amx = amx_matmul_path()) paths.push_back(amx);
    return paths;
}

std::string matmul_implementation() { return active_matmul_path().name; }

}  // namespace ascent::cpu
