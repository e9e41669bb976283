// The matmul paths (scalar, Highway, x86 AVX-512) against each other and against a double
// precision dot product, on sizes that are not multiples of any tile or vector width.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu/matmul.h"
#include "engine/cpu/matmul_path.h"
#include "engine/cpu/probes.h"
#include "engine/cpu/thread_pool.h"
#include "engine/error.h"

using namespace ascent;
using namespace ascent::cpu;

namespace {

constexpr float kUntouched = 12345.f;

std::vector<float> randoms(size_t n, uint32_t seed, float scale = 1.f) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(g);
    return v;
}

// A weight matrix in its storage type, plus the exact f32 value of every element.
struct Weights {
    DType type;
    std::vector<float> f32;      // storage when type == F32
    std::vector<uint16_t> u16;   // storage when type is BF16 / F16
    std::vector<float> exact;    // the stored values, widened
    const void* data() const { return type == DType::F32 ? static_cast<const void*>(f32.data()) : u16.data(); }
};

Weights make_weights(DType type, int64_t n_out, int64_t in, uint32_t seed) {
    Weights w{type, {}, {}, randoms(static_cast<size_t>(n_out * in), seed, 0.5f)};
    if (type == DType::F32) {
        w.f32 = w.exact;
    } else {
        w.u16.resize(w.exact.size());
        for (size_t i = 0; i < w.exact.size(); ++i) {
            w.u16[i] = type == DType::BF16 ? f32_to_bf16(w.exact[i]) : f32_to_f16(w.exact[i]);
            w.exact[i] = type == DType::BF16 ? bf16_to_f32(w.u16[i]) : f16_to_f32(w.u16[i]);
        }
    }
    return w;
}

struct Problem {
    int64_t rows, in, n_out, ldx, ldy;
    std::vector<float> x;  // rows x ldx
    Weights w;
    std::vector<float> bias;
};

Problem make_problem(int64_t rows, int64_t in, int64_t n_out, DType type, uint32_t seed) {
    Problem p{rows, in, n_out, in + 3, n_out + 5, randoms(static_cast<size_t>(rows * (in + 3)), seed),
              make_weights(type, n_out, in, seed + 1), randoms(static_cast<size_t>(n_out), seed + 2)};
    return p;
}

// Runs one path on outputs [o0, o1); y has ldy columns and keeps kUntouched elsewhere.
std::vector<float> run(const MatmulPath& path, const Problem& p, int64_t o0, int64_t o1, bool with_bias) {
    MatmulInput input;
    input.prepare(path, p.x.data(), p.rows, p.in, p.ldx, p.w.type);
    std::vector<float> y(static_cast<size_t>(p.rows * p.ldy), kUntouched);
    matmul_rows(input, p.w.data(), p.w.type, o0, o1, with_bias ? p.bias.data() : nullptr, y.data(), p.ldy);
    return y;
}

// The activation as the numerics of matmul.h say the kernels see it.
float activation(const Problem& p, int64_t r, int64_t i) {
    const float v = p.x[static_cast<size_t>(r * p.ldx + i)];
    return p.w.type == DType::BF16 ? bf16_to_f32(f32_to_bf16(v)) : v;
}

// Sum of |terms| of one output: f32 rounding of a reordered sum stays well within 1e-5 of it
// for these lengths, while one missing or doubled term is far outside.
double magnitude(const Problem& p, int64_t r, int64_t o) {
    double m = 0;
    for (int64_t i = 0; i < p.in; ++i)
        m += std::fabs(static_cast<double>(activation(p, r, i)) * p.w.exact[static_cast<size_t>(o * p.in + i)]);
    return m;
}

double exact_dot(const Problem& p, int64_t r, int64_t o) {
    double s = 0;
    for (int64_t i = 0; i < p.in; ++i)
        s += static_cast<double>(activation(p, r, i)) * p.w.exact[static_cast<size_t>(o * p.in + i)];
    return s;
}

void expect_untouched_outside(const Problem& p, const std::vector<float>& y, int64_t width, const std::string& what) {
    for (int64_t r = 0; r < p.rows; ++r)
        for (int64_t c = width; c < p.ldy; ++c)
            ASSERT_EQ(y[static_cast<size_t>(r * p.ldy + c)], kUntouched) << what << " row " << r << " col " << c;
}

std::string describe(const MatmulPath& path, const Problem& p, int64_t o0, bool bias) {
    return path.name + " " + std::string(dtype_name(p.w.type)) + " rows=" + std::to_string(p.rows) +
           " in=" + std::to_string(p.in) + " n_out=" + std::to_string(p.n_out) + " o0=" + std::to_string(o0) +
           (bias ? " bias" : "");
}

const DType kTypes[] = {DType::F32, DType::BF16, DType::F16};

// Restores ASCENT_SIMD when a test that changes it ends.
class SimdEnv {
public:
    SimdEnv() {
        const char* v = std::getenv("ASCENT_SIMD");
        had_ = v != nullptr;
        if (had_) old_ = v;
    }
    ~SimdEnv() {
        if (had_)
            setenv("ASCENT_SIMD", old_.c_str(), 1);
        else
            unsetenv("ASCENT_SIMD");
    }
    void set(const char* v) { v ? setenv("ASCENT_SIMD", v, 1) : unsetenv("ASCENT_SIMD"); }

private:
    bool had_ = false;
    std::string old_;
};

}  // namespace

TEST(Matmul, PathsAreListed) {
    const auto paths = matmul_paths();
    ASSERT_GE(paths.size(), 2u);
    EXPECT_EQ(paths.front()->name, "scalar");
    EXPECT_EQ(paths[1]->name.rfind("hwy:", 0), 0u) << paths[1]->name;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512bf16")) {
        ASSERT_NE(x86_matmul_path(), nullptr);
        EXPECT_EQ(x86_matmul_path()->name, "avx512bf16");
        if (const MatmulPath* amx = amx_matmul_path()) {
            EXPECT_EQ(amx->name, "avx512bf16+amx");
            EXPECT_EQ(paths.back(), amx);
        } else {
            EXPECT_EQ(paths.back(), x86_matmul_path());
        }
    }
#endif
    for (const MatmulPath* p : paths) EXPECT_EQ(16 % p->row_tile, 0) << p->name;
}

TEST(Matmul, EverySimdPathMatchesScalarOnOddSizes) {
    const MatmulPath& scalar = scalar_matmul_path();
    const auto paths = matmul_paths();
    uint32_t seed = 1;
    for (DType type : kTypes)
        for (int64_t rows : {1, 2, 3, 4, 5, 6, 7, 8, 13, 17, 33})  // up to 16: one or two tiles (batch_tile_m)
            for (int64_t in : {1, 7, 31, 64, 65, 896 + 3})
                for (int64_t n_out : {1, 5, 17, 40, 129}) {
                    const Problem p = make_problem(rows, in, n_out, type, seed++);
                    for (bool bias : {false, true}) {
                        // Whole range, and a range that starts inside the matrix.
                        for (int64_t o0 : {int64_t{0}, n_out / 3}) {
                            const auto want = run(scalar, p, o0, n_out, bias);
                            for (size_t k = 1; k < paths.size(); ++k) {
                                const auto got = run(*paths[k], p, o0, n_out, bias);
                                const std::string what = describe(*paths[k], p, o0, bias);
                                expect_untouched_outside(p, got, n_out - o0, what);
                                for (int64_t r = 0; r < rows; ++r)
                                    for (int64_t o = o0; o < n_out; ++o) {
                                        const size_t at = static_cast<size_t>(r * p.ldy + (o - o0));
                                        ASSERT_NEAR(got[at], want[at], 1e-5 * magnitude(p, r, o) + 1e-30)
                                            << what << " r=" << r << " o=" << o;
                                    }
                            }
                        }
                    }
                }
}

TEST(Matmul, TileFriendlySizesMatchScalar) {
    // Shapes the AMX kernels take (at least 16 tokens, `in` a multiple of 32), with token and
    // weight row counts around the 16 x 16 tiles and the 32-row panels, and sizes across the
    // kernel's 128-row groups and, past 192 tokens (where it stops streaming whole rows), its
    // 256-column chunks (288 columns end in a chunk of one tile, 896 in one of four).
    const MatmulPath& scalar = scalar_matmul_path();
    uint32_t seed = 3000;
    for (const MatmulPath* path : matmul_paths()) {
        if (path == &scalar) continue;
        for (int64_t rows : {16, 31, 48, 100, 150, 200})
            for (int64_t in : {32, 96, 288, 896})
                for (int64_t n_out : {16, 17, 33, 48, 129, 300})
                    for (int64_t o0 : {int64_t{0}, int64_t{5}, int64_t{16}}) {
                        if (o0 >= n_out) continue;
                        const Problem p = make_problem(rows, in, n_out, DType::BF16, seed++);
                        const auto want = run(scalar, p, o0, n_out, true);
                        const auto got = run(*path, p, o0, n_out, true);
                        expect_untouched_outside(p, got, n_out - o0, describe(*path, p, o0, true));
                        for (int64_t r = 0; r < rows; ++r)
                            for (int64_t o = o0; o < n_out; ++o) {
                                const size_t at = static_cast<size_t>(r * p.ldy + (o - o0));
                                ASSERT_NEAR(got[at], want[at], 1e-5 * magnitude(p, r, o))
                                    << describe(*path, p, o0, true) << " r=" << r << " o=" << o;
                            }
                    }
    }
}

// Most safetensors files start their data a few bytes past a cache line, and the AMX kernel loads
// its weight tiles from where they lie: the same bits as from aligned weights, at every offset a
// file can give, on the streamed path (up to 192 tokens) and the chunked one.
TEST(Matmul, AmxGivesTheSameBitsForWeightsOffTheirCacheLines) {
    const MatmulPath* amx = amx_matmul_path();
    if (!amx) GTEST_SKIP() << "no AMX on this machine";
    uint32_t seed = 4000;
    for (int64_t rows : {16, 31, 48, 100, 150, 200})
        for (int64_t in : {320, 896})
            for (int64_t n_out : {33, 129}) {
                const Problem p = make_problem(rows, in, n_out, DType::BF16, seed++);
                MatmulInput input;
                input.prepare(*amx, p.x.data(), p.rows, p.in, p.ldx, p.w.type);
                const size_t bytes = p.w.u16.size() * sizeof(uint16_t);
                std::vector<std::byte> buffer(bytes + 128);
                std::byte* const line = buffer.data() + (64 - reinterpret_cast<uintptr_t>(buffer.data()) % 64) % 64;
                std::vector<std::vector<float>> ys;
                for (size_t offset = 0; offset < 64; offset += 8) {
                    std::memcpy(line + offset, p.w.u16.data(), bytes);
                    ys.emplace_back(static_cast<size_t>(p.rows * p.ldy), kUntouched);
                    for (const int64_t o0 : {int64_t{0}, int64_t{5}})
                        amx->rows(input, line + offset, DType::BF16, o0, n_out, p.bias.data(), ys.back().data() + o0,
                                  p.ldy);
                    ASSERT_EQ(std::memcmp(ys.back().data(), ys.front().data(), ys.front().size() * sizeof(float)), 0)
                        << "rows " << rows << " in " << in << " n_out " << n_out << " offset " << offset;
                }
            }
}

// Tile (token block tb, column block kb) at (tb * n_kb + kb) * 512 elements; its row p holds, for
// tokens t = 0..15, the BF16 pair of columns 32 kb + 2p and 32 kb + 2p + 1; tokens past `rows` 0.
void expect_tiles_hold(const MatmulInput& input, const std::vector<float>& x, int64_t rows, int64_t in, int64_t ldx,
                       const std::string& what) {
    ASSERT_EQ(input.layout(), MatmulLayout::BF16Tiles) << what;
    const uint16_t* tiles = input.bf16_row(0);
    const int64_t n_kb = in / 32;
    for (int64_t tb = 0; tb * 16 < rows; ++tb)
        for (int64_t kb = 0; kb < n_kb; ++kb)
            for (int64_t p = 0; p < 16; ++p)
                for (int64_t t = 0; t < 16; ++t)
                    for (int64_t j = 0; j < 2; ++j) {
                        const int64_t token = tb * 16 + t, col = kb * 32 + 2 * p + j;
                        const uint16_t want =
                            token < rows ? f32_to_bf16(x[static_cast<size_t>(token * ldx + col)]) : uint16_t{0};
                        ASSERT_EQ(tiles[(tb * n_kb + kb) * 512 + p * 32 + t * 2 + j], want)
                            << what << ": token " << token << " col " << col;
                    }
}

TEST(Matmul, AmxTilesHoldTokenColumnPairs) {
    const MatmulPath* amx = amx_matmul_path();
    if (!amx) GTEST_SKIP() << "no AMX on this machine";
    const int64_t rows = 20, in = 64, ldx = 70;
    const std::vector<float> x = randoms(static_cast<size_t>(rows * ldx), 8);
    MatmulInput input;
    input.prepare(*amx, x.data(), rows, in, ldx, DType::BF16);
    expect_tiles_hold(input, x, rows, in, ldx, "prepared by rows");
}

// A producer of the activations (the MLP's SwiGLU) writes them a block of columns at a time, each
// block from its own buffer: blocks that start or end halfway through a tile fill only their half
// of its pairs, and every block pads the tokens past the last with zeros.
TEST(Matmul, AmxTilesConvertedByColumnBlocks) {
    const MatmulPath* amx = amx_matmul_path();
    if (!amx) GTEST_SKIP() << "no AMX on this machine";
    const int64_t in = 160;
    for (const int64_t rows : {int64_t{5}, int64_t{16}, int64_t{37}})
        for (const std::vector<int64_t>& cuts :
             {std::vector<int64_t>{0, 160}, {0, 16, 48, 64, 112, 160}, {0, 32, 80, 96, 144, 160}}) {
            const std::vector<float> x = randoms(static_cast<size_t>(rows * in), static_cast<uint32_t>(rows));
            MatmulInput input;
            input.shape(*amx, rows, in, DType::BF16);
            std::vector<float> block;
            for (size_t i = cuts.size() - 1; i > 0; --i) {  // in reverse: no block relies on another's zeros
                const int64_t c0 = cuts[i - 1], w = cuts[i] - c0;
                block.assign(static_cast<size_t>(rows * w), 0.f);
                for (int64_t r = 0; r < rows; ++r)
                    std::copy_n(x.begin() + r * in + c0, w, block.begin() + r * w);
                input.convert_columns(block.data(), w, c0, c0 + w);
            }
            expect_tiles_hold(input, x, rows, in, in, std::to_string(rows) + " rows, " + std::to_string(cuts.size() - 1) + " blocks");
        }
    MatmulInput input;
    input.shape(*amx, 20, in, DType::BF16);
    std::vector<float> block(20 * 48);
    EXPECT_THROW(input.convert_columns(block.data(), 24, 8, 32), Error);    // not on a 16-column boundary
    EXPECT_THROW(input.convert_columns(block.data(), 16, 144, 176), Error);  // past the last column
}

// Without AMX, and on AMX where a product has too few rows for tiles, the activations are BF16 rows
// as the vector unit reads them; SwiGLU's blocks write those by columns too, each block its part
// of every row, the last one the rows' zero padding. The same bits as prepare().
TEST(Matmul, Bf16RowsConvertedByColumnBlocks) {
    std::vector<const MatmulPath*> paths;
    for (const MatmulPath* path : {x86_matmul_path(), amx_matmul_path()})
        if (path) paths.push_back(path);
    if (paths.empty()) GTEST_SKIP() << "no AVX-512 BF16 on this machine";
    const int64_t in = 200;  // rows padded to 224 elements
    for (const MatmulPath* path : paths)
        for (const int64_t rows : {int64_t{2}, int64_t{5}, int64_t{37}})
            for (const std::vector<int64_t>& cuts :
                 {std::vector<int64_t>{0, 200}, {0, 16, 48, 64, 112, 200}, {0, 32, 80, 96, 144, 192, 200}}) {
                const std::string what = path->name + ", " + std::to_string(rows) + " rows, " +
                                         std::to_string(cuts.size() - 1) + " blocks";
                const std::vector<float> x = randoms(static_cast<size_t>(rows * in), static_cast<uint32_t>(rows));
                MatmulInput want, got;
                want.prepare(*path, x.data(), rows, in, in, DType::BF16);
                got.shape(*path, rows, in, DType::BF16);
                if (got.layout() != MatmulLayout::BF16) continue;  // AMX tiles: the test above
                for (int64_t r = 0; r < rows; ++r)  // NaNs where a block writes nothing
                    std::fill_n(got.mutable_bf16_row(r), got.stride(), uint16_t{0xFFFF});
                std::vector<float> block;
                for (size_t i = cuts.size() - 1; i > 0; --i) {
                    const int64_t c0 = cuts[i - 1], w = cuts[i] - c0;
                    block.assign(static_cast<size_t>(rows * w), 0.f);
                    for (int64_t r = 0; r < rows; ++r)
                        std::copy_n(x.begin() + r * in + c0, w, block.begin() + r * w);
                    got.convert_columns(block.data(), w, c0, c0 + w);
                }
                ASSERT_EQ(got.stride(), want.stride()) << what;
                for (int64_t r = 0; r < rows; ++r)
                    EXPECT_TRUE(std::equal(got.bf16_row(r), got.bf16_row(r) + got.stride(), want.bf16_row(r)))
                        << what << ", row " << r;
            }
    MatmulInput input;  // the portable path's rows are not written by columns
    input.shape(hwy_matmul_path(), 20, in, DType::BF16);
    std::vector<float> block(20 * 16);
    EXPECT_THROW(input.convert_columns(block.data(), 16, 0, 16), Error);
}

namespace {

// Outputs [1, n_out) of the path against the scalar path's (with bias): a range that starts
// inside the matrix.
void expect_outputs_from_1_match_scalar(const MatmulPath& path, const Problem& p) {
    const auto want = run(scalar_matmul_path(), p, 1, p.n_out, true);
    const auto got = run(path, p, 1, p.n_out, true);
    expect_untouched_outside(p, got, p.n_out - 1, path.name);
    for (int64_t r = 0; r < p.rows; ++r)
        for (int64_t o = 1; o < p.n_out; ++o) {
            const size_t at = static_cast<size_t>(r * p.ldy + (o - 1));
            ASSERT_NEAR(got[at], want[at], 1e-5 * magnitude(p, r, o) + 1e-30)
                << describe(path, p, 1, true) << " r=" << r << " o=" << o;
        }
}

}  // namespace

TEST(Matmul, EveryHighwayTargetMatchesScalar) {
    // The Highway targets this machine does not pick (e.g. 128-bit vectors, as on NEON, and the
    // scalar emulation) on a smaller set of odd sizes.
    const std::vector<MatmulPath> targets = hwy_matmul_paths_for_each_target();
    ASSERT_FALSE(targets.empty());
    uint32_t seed = 500;
    for (const MatmulPath& path : targets)
        for (DType type : kTypes)
            for (int64_t rows : {1, 2, 4, 5})
                for (int64_t in : {1, 7, 31, 65, 899}) {
                    expect_outputs_from_1_match_scalar(path, make_problem(rows, in, 9, type, seed++));
                    if (HasFatalFailure()) return;
                }
}

TEST(Matmul, EveryPathMatchesDoublePrecision) {
    uint32_t seed = 1000;
    for (const MatmulPath* path : matmul_paths())
        for (DType type : kTypes)
            for (int64_t rows : {1, 4})
                for (int64_t in : {33, 896, 4864 + 3}) {  // 4867: several K blocks in the x86 kernels
                    const Problem p = make_problem(rows, in, 19, type, seed++);
                    const auto y = run(*path, p, 0, p.n_out, true);
                    for (int64_t r = 0; r < rows; ++r)
                        for (int64_t o = 0; o < p.n_out; ++o) {
                            const double want = exact_dot(p, r, o) + p.bias[static_cast<size_t>(o)];
                            ASSERT_NEAR(y[static_cast<size_t>(r * p.ldy + o)], want, 1e-5 * magnitude(p, r, o))
                                << describe(*path, p, 0, true) << " r=" << r << " o=" << o;
                        }
                }
}

// Token counts either side of where the x86 path (48) and the Highway path (20 with 16 vector
// registers, else 17) switch to packed panels, with every remainder of their token tiles, on
// output counts that leave panels of 1, 2 and 3 vectors and partial ones, and tiles of 3 and 4
// weight rows and partial ones. With 899 inputs all the tokens fit the Highway path's L2 budget
// (it packs panel by panel); with 4867 they do not (it packs a K block's panels at once).
TEST(Matmul, PackedPrefillCoversEveryTokenTile) {
    std::vector<MatmulPath> paths = hwy_matmul_paths_for_each_target();
    if (const MatmulPath* x86 = x86_matmul_path()) paths.push_back(*x86);
    uint32_t seed = 3000;
    for (const MatmulPath& path : paths) {
        for (int64_t rows : {2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 18, 19, 20, 23, 24, 25, 44, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 60})
            for (int64_t n_out : {7, 40, 42, 100}) {
                expect_outputs_from_1_match_scalar(path, make_problem(rows, 899, n_out, DType::BF16, seed++));
                if (HasFatalFailure()) return;
            }
        for (int64_t rows : {24, 31, 49})
            for (int64_t n_out : {7, 42}) {
                expect_outputs_from_1_match_scalar(path, make_problem(rows, 4867, n_out, DType::BF16, seed++));
                if (HasFatalFailure()) return;
            }
    }
}

TEST(Matmul, ManyTokensCrossTheBlockBoundaries) {
    // More tokens than one L2 block of the x86 prefill kernels, with several K blocks for F32.
    const MatmulPath& scalar = scalar_matmul_path();
    for (const MatmulPath* path : matmul_paths()) {
        if (path == &scalar) continue;
        for (DType type : kTypes) {
            const Problem p = make_problem(300, 899, 21, type, 77);
            const auto want = run(scalar, p, 0, p.n_out, true);
            const auto got = run(*path, p, 0, p.n_out, true);
            for (int64_t r = 0; r < p.rows; ++r)
                for (int64_t o = 0; o < p.n_out; ++o) {
                    const size_t at = static_cast<size_t>(r * p.ldy + o);
                    ASSERT_NEAR(got[at], want[at], 1e-5 * magnitude(p, r, o)) << describe(*path, p, 0, true);
                }
        }
    }
}

TEST(Matmul, Bf16RoundsActivationsInDecodeAndPrefill) {
    // 1 + 2^-10 is not a BF16 value: decode and prefill both round it to 1 against BF16 weights,
    // F32 weights keep it.
    const int64_t in = 64;
    std::vector<uint16_t> w(static_cast<size_t>(in), f32_to_bf16(1.f));
    const std::vector<float> w32(static_cast<size_t>(in), 1.f);
    std::vector<float> x(static_cast<size_t>(2 * in), 1.f + 1.f / 1024.f);
    for (const MatmulPath* path : matmul_paths()) {
        MatmulInput input;
        float y[2] = {0, 0};
        input.prepare(*path, x.data(), 1, in, in, DType::F32);
        matmul_rows(input, w32.data(), DType::F32, 0, 1, nullptr, y, 1);
        EXPECT_EQ(y[0], 64.f + 64.f / 1024.f) << path->name;
        input.prepare(*path, x.data(), 1, in, in, DType::BF16);
        matmul_rows(input, w.data(), DType::BF16, 0, 1, nullptr, y, 1);
        EXPECT_EQ(y[0], 64.f) << path->name;
        input.prepare(*path, x.data(), 2, in, in, DType::BF16);
        matmul_rows(input, w.data(), DType::BF16, 0, 1, nullptr, y, 1);
        EXPECT_EQ(y[0], 64.f) << path->name;
        EXPECT_EQ(y[1], 64.f) << path->name;
    }
}

TEST(Matmul, PreparedActivationsMatchTheReferenceConversion) {
    // Special values included: the BF16 rounding must be bit-identical to f32_to_bf16.
    std::vector<float> x = randoms(17 * 101, 5, 10.f);
    x[0] = std::numeric_limits<float>::quiet_NaN();
    x[1] = std::numeric_limits<float>::infinity();
    x[2] = -std::numeric_limits<float>::infinity();
    x[3] = 1e-40f;  // denormal
    x[4] = -0.f;
    x[5] = 3.0000002f;
    x[6] = 65504.f * 1e30f;
    std::vector<const MatmulPath*> paths = matmul_paths();
    const std::vector<MatmulPath> targets = hwy_matmul_paths_for_each_target();
    for (const MatmulPath& target : targets) paths.push_back(&target);
    for (const MatmulPath* path : paths)
        for (DType type : kTypes)
            for (int64_t rows : {1, 3, 17}) {  // 17: every Highway target's packed prefill layout
                MatmulInput fast, reference;
                fast.prepare(*path, x.data(), rows, 99, 101, type);
                reference.prepare(*path, x.data(), rows, 99, 101, type);
                convert_rows_reference(reference, x.data(), 101, 0, rows);
                ASSERT_EQ(fast.stride(), reference.stride());
                const size_t bytes = static_cast<size_t>(rows * fast.stride()) *
                                     (fast.layout() == MatmulLayout::BF16 ? 2 : 4);
                EXPECT_EQ(std::memcmp(fast.data(), reference.data(), bytes), 0)
                    << path->name << " " << dtype_name(type) << " rows " << rows;
            }
}

// Kernels may keep what they derive from an input's rows under its version (the Highway path's
// few-token tiles keep the tokens split into halves per thread), so every preparation must give
// a new version, also in place with the same shape, and a moved input keeps its own.
TEST(Matmul, EveryPreparationGivesTheInputANewVersion) {
    const Weights w = make_weights(DType::BF16, 45, 130, 3);
    std::vector<const MatmulPath*> paths = matmul_paths();
    const std::vector<MatmulPath> targets = hwy_matmul_paths_for_each_target();
    for (const MatmulPath& target : targets) paths.push_back(&target);
    for (const MatmulPath* path : paths)
        for (int64_t rows : {2, 4, 7}) {
            const std::vector<float> x1 = randoms(static_cast<size_t>(rows * 130), 11), x2 = randoms(x1.size(), 12);
            const auto product = [&](const MatmulInput& in) {
                std::vector<float> y(static_cast<size_t>(rows * 45));
                matmul_rows(in, w.data(), DType::BF16, 0, 45, nullptr, y.data(), 45);
                return y;
            };
            MatmulInput fresh1, fresh2, reused;
            fresh1.prepare(*path, x1.data(), rows, 130, 130, DType::BF16);
            fresh2.prepare(*path, x2.data(), rows, 130, 130, DType::BF16);
            reused.prepare(*path, x1.data(), rows, 130, 130, DType::BF16);
            const uint64_t first = reused.version();
            const std::vector<float> y1 = product(fresh1);
            EXPECT_EQ(product(reused), y1) << path->name << " rows " << rows;
            reused.prepare(*path, x2.data(), rows, 130, 130, DType::BF16);
            EXPECT_NE(reused.version(), first);
            EXPECT_EQ(product(reused), product(fresh2)) << path->name << " rows " << rows << ", prepared again";
            EXPECT_NE(y1, product(fresh2));
            const uint64_t before_move = fresh1.version();
            MatmulInput moved(std::move(fresh1));
            EXPECT_EQ(moved.version(), before_move);
            EXPECT_EQ(fresh1.version(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is reset
            EXPECT_EQ(product(moved), y1) << path->name << " rows " << rows << ", moved";
        }
}

TEST(Matmul, ResultsDoNotDependOnThreadsOrBlocks) {
    struct Case {
        int64_t rows, in;
    };
    for (DType type : kTypes)
        for (Case c : {Case{1, 200}, Case{7, 200}, Case{40, 224}}) {  // 40 x 224: AMX tiles where present
            const int64_t rows = c.rows;
            const Problem p = make_problem(rows, c.in, 333, type, 9);
            const auto whole = run(active_matmul_path(), p, 0, p.n_out, true);
            for (int threads : {1, 2, 3}) {
                ThreadPool pool(threads);
                std::vector<float> y(static_cast<size_t>(rows * p.ldy), kUntouched);
                matmul(pool, p.x.data(), rows, p.ldx, p.w.data(), type, p.n_out, p.in, p.bias.data(), y.data(), p.ldy);
                EXPECT_EQ(y, whole) << dtype_name(type) << " rows " << rows << " threads " << threads;
            }
        }
}

TEST(Matmul, SeveralOutputsInOnePass) {
    // q/k/v-like: three matrices of different heights over one prepared input.
    for (DType type : kTypes)
        for (int64_t rows : {1, 5}) {
            const Problem q = make_problem(rows, 96, 131, type, 20);
            Problem k = make_problem(rows, 96, 17, type, 21), v = make_problem(rows, 96, 40, type, 22);
            k.x = v.x = q.x;
            MatmulInput input;
            input.prepare(q.x.data(), rows, q.in, q.ldx, type);
            std::vector<float> yq(static_cast<size_t>(rows * q.ldy), kUntouched), yk(static_cast<size_t>(rows * k.ldy), kUntouched),
                yv(static_cast<size_t>(rows * v.ldy), kUntouched);
            const MatmulOutput outs[] = {{q.w.data(), q.n_out, q.bias.data(), yq.data(), q.ldy},
                                         {k.w.data(), k.n_out, nullptr, yk.data(), k.ldy},
                                         {v.w.data(), v.n_out, v.bias.data(), yv.data(), v.ldy}};
            ThreadPool pool(2);
            matmul(pool, input, type, outs);
            EXPECT_EQ(yq, run(active_matmul_path(), q, 0, q.n_out, true)) << dtype_name(type);
            EXPECT_EQ(yk, run(active_matmul_path(), k, 0, k.n_out, false)) << dtype_name(type);
            EXPECT_EQ(yv, run(active_matmul_path(), v, 0, v.n_out, true)) << dtype_name(type);
        }
}

TEST(Matmul, BlockRowsAreAlignedAndSplitTheWork) {
    for (DType type : kTypes)
        for (int64_t rows : {1, 64})
            for (int64_t n_out : {1, 128, 896, 4864, 151936, 201088})
                for (int64_t in : {64, 896, 2880})
                    for (int threads : {1, 2, 8}) {
                        const int64_t b = matmul_block_rows(type, rows, n_out, in, threads);
                        EXPECT_GT(b, 0);
                        EXPECT_EQ(b % 16, 0) << b;
                        if (threads > 1 && n_out >= 896) {
                            EXPECT_GE((n_out + b - 1) / b, threads) << n_out;
                        }
                        // A decode task of a large product reads at most about 2 MiB of weights
                        // (gpt-oss's 201088 x 2880 LM head: 1.1 GiB in tasks of 2 MiB, not 36 MiB).
                        if (threads > 1 && rows == 1 && b > 64) {
                            EXPECT_LE(b * in * static_cast<int64_t>(dtype_size(type)), int64_t{2} << 20)
                                << n_out << " x " << in;
                        }
                        // Chunks (which shrink by themselves near a job's end) take four decode
                        // blocks at most, one prefill block.
                        EXPECT_EQ(matmul_chunk_rows(type, rows, n_out, in, threads), rows == 1 ? 4 * b : b);
                    }
}

TEST(Matmul, AscentSimdSelectsThePath) {
    SimdEnv env;
    const Problem p = make_problem(3, 70, 20, DType::BF16, 4);
    ThreadPool pool(2);
    std::vector<float> y(static_cast<size_t>(p.rows * p.ldy), kUntouched);

    env.set("scalar");
    EXPECT_EQ(matmul_implementation(), "scalar");
    matmul(pool, p.x.data(), p.rows, p.ldx, p.w.data(), p.w.type, p.n_out, p.in, p.bias.data(), y.data(), p.ldy);
    EXPECT_EQ(y, run(scalar_matmul_path(), p, 0, p.n_out, true));

    env.set("hwy");
    EXPECT_EQ(matmul_implementation(), hwy_matmul_path().name);

    env.set(nullptr);
    const std::string best = matmul_paths().back()->name;
    EXPECT_EQ(matmul_implementation(), best);
    matmul(pool, p.x.data(), p.rows, p.ldx, p.w.data(), p.w.type, p.n_out, p.in, p.bias.data(), y.data(), p.ldy);
    EXPECT_EQ(y, run(*matmul_paths().back(), p, 0, p.n_out, true));
}

TEST(Matmul, InputPreparedForAnotherTypeIsRejected) {
    const Problem p = make_problem(2, 8, 4, DType::BF16, 3);
    MatmulInput input;
    input.prepare(p.x.data(), p.rows, p.in, p.ldx, DType::F16);
    std::vector<float> y(static_cast<size_t>(p.rows * p.ldy));
    EXPECT_THROW(matmul_rows(input, p.w.data(), DType::BF16, 0, 4, nullptr, y.data(), p.ldy), Error);
}

// Bytes per second no real read falls below. qemu-aarch64 emulating SVE2, sharing a core with
// another emulated test, read 0.16 GB/s in CI; a unit slip (GB/s or MB/s reported as bytes/s) still
// falls far below it.
constexpr double kSlowestPlausibleRead = 1e7;

TEST(Probes, ReadBandwidthIsPlausible) {
    ThreadPool pool(2);
    const double bw = measure_read_bandwidth(pool, 0.05, size_t{64} << 20);
    EXPECT_GT(bw, kSlowestPlausibleRead);
    EXPECT_LT(bw, 1e13);  // 10 TB/s: no CPU reads faster
    EXPECT_GE(default_bandwidth_buffer_bytes(), size_t{16} << 20);
}

// The same buffer read by all threads, then by the caller alone.
TEST(Probes, ReadScalingMeasuresAllThreadsAndOne) {
    ThreadPool pool(2);
    pool.set_accounting(true);
    const ReadBandwidth r = measure_read_scaling(pool, 0.05);
    for (const double bw : {r.all_threads, r.one_thread}) {
        EXPECT_GT(bw, kSlowestPlausibleRead);
        EXPECT_LT(bw, 1e13);
    }
    EXPECT_GT(pool.busy_seconds()[1], 0.0);  // the all-threads passes did use the worker
}

// The peak is what the vector unit does at best, so the path's own prefill kernel (which also
// loads operands and reduces sums) cannot beat it. A loop the compiler leaves rolled keeps its
// accumulators in memory and measures store forwarding: on Zen 4 half the real peak, below what
// this product reaches.
TEST(Probes, Bf16PeakIsAtLeastWhatAPrefillProductReaches) {
    const MatmulPath* x86 = x86_matmul_path();
    if (!x86) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
    // Operands stay in L2; 16 tokens run the in-place kernel (~75% of the peak on Zen 4), so noise
    // between the two measurements leaves a margin, while a rolled loop (~50%) still fails.
    constexpr int64_t rows = 16, in = 1024, n_out = 256;
    const auto x = randoms(static_cast<size_t>(rows * in), 3);
    const Weights w = make_weights(DType::BF16, n_out, in, 4);
    MatmulInput input;
    input.prepare(*x86, x.data(), rows, in, in, DType::BF16);
    std::vector<float> y(static_cast<size_t>(rows * n_out));
    // Both sides keep their best of many short runs, taken in turns, so that another process
    // taking a core for a while (ctest -j runs tests side by side) slows neither into a false
    // failure: a product pass takes about a millisecond and a peak run a few. With the peak run
    // over 20 ms windows, a neighbour that left the short product passes alone brought the peak
    // under them (62.6 against 70.1 GFLOP/s).
    ThreadPool pool(1);
    double product = 0;
    PeakFlops peak{0.0, ""};
    for (int round = 0; round < 60 && (round < 10 || peak.flops_per_second < product); ++round) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int rep = 0; rep < 10; ++rep) x86->rows(input, w.data(), DType::BF16, 0, n_out, nullptr, y.data(), n_out);
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        product = std::max(product, 10 * 2.0 * rows * in * n_out / t);
        const PeakFlops p = measure_bf16_peak(pool, 0.01);
        if (p.flops_per_second > peak.flops_per_second) peak = p;
    }
    EXPECT_GE(peak.flops_per_second, product) << peak.kernel;
}

// The side probe reads memory that exists already (the weights), from any alignment and size.
TEST(Probes, ReadBandwidthOfExistingRegions) {
    ThreadPool pool(2);
    std::vector<unsigned char> a((size_t{9} << 20) + 77, 1), b(300, 2), tiny(200, 3);
    const MemoryRegion regions[] = {{a.data() + 3, a.size() - 3}, {b.data() + 1, b.size() - 1}};
    const double bw = measure_read_bandwidth_of(pool, regions, 3);
    EXPECT_GT(bw, kSlowestPlausibleRead);
    EXPECT_LT(bw, 1e13);
    const MemoryRegion too_small[] = {{tiny.data(), tiny.size()}};  // not one 256-byte block past alignment
    EXPECT_EQ(measure_read_bandwidth_of(pool, too_small, 1), 0.0);
    EXPECT_EQ(measure_read_bandwidth_of(pool, {}, 1), 0.0);
}

// The peak loops' chains must start apart, or the compiler merges them into one and the probe
// reports one chain's latency-bound rate times the chain count (it did on AVX2).
TEST(Probes, PeakLoopsRunChainsThatStartApart) {
    constexpr int64_t iterations = 3;
    std::vector<MatmulPath> paths = hwy_matmul_paths_for_each_target();
    ASSERT_FALSE(paths.empty());
    for (const MatmulPath& path : paths) {
        // 16 chains of c = c * 0.999 + 0.001, 12 on targets with 16 vector registers; chain i from
        // i / 16. The FLOPs tell the chains x lanes; the sum must match one way to split them.
        const double flops = path.peak_loop(iterations);
        const float got = peak_loop_sum;
        bool matched = false;
        for (const int chains : {12, 16}) {
            const double lanes = flops / (2.0 * chains * iterations);
            double want = 0;
            for (int i = 0; i < chains; ++i) {
                float c = static_cast<float>(i) / 16;
                for (int64_t it = 0; it < iterations; ++it) c = std::fma(c, 0.999f, 1e-3f);
                want += lanes * c;
            }
            matched = matched || std::abs(got - want) <= 1e-5 * want;
        }
        EXPECT_TRUE(matched) << path.name << ": sum " << got << " for " << flops << " FLOPs";
    }
    if (const MatmulPath* x86 = x86_matmul_path()) {  // 12 chains from i, each step adds 2 x 2^-7
        const double flops = x86->peak_loop(iterations);
        // The FLOPs count BF16 lanes: each f32 sum holds a pair of them.
        const double sums = flops / (2.0 * 12 * iterations) / 2;
        EXPECT_EQ(peak_loop_sum, sums * (66 + 12 * iterations / 64.0));
    }
}

TEST(Probes, Bf16PeakIsPlausible) {
    ThreadPool pool(2);
    const PeakFlops peak = measure_bf16_peak(pool, 0.05);
    EXPECT_FALSE(peak.kernel.empty());
    EXPECT_GT(peak.flops_per_second, 2e7);  // 3.5e8 measured under qemu-aarch64's emulation, alone on a core
    EXPECT_LT(peak.flops_per_second, 1e14);
    const PeakFlops amx = measure_amx_bf16_peak(pool, 0.05);
    if (amx_matmul_path()) {
        EXPECT_GT(amx.flops_per_second, peak.flops_per_second);  // 16x the work per instruction
        EXPECT_LT(amx.flops_per_second, 1e15);
    } else {
        EXPECT_EQ(amx.flops_per_second, 0.0);
    }
}
