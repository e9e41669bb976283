// The CPU backend's fused products (q, k, v with bias and RoPE in one pass) against the same
// products run one by one. The fused pass cuts all its outputs into blocks of one size that hold
// whole heads; heads of sizes that are not multiples of 16, outputs of different sizes and several
// thread counts check that every row is computed once, rotated once and lands in its own output.
// A fused input norm gives the bits of the norm run on its own.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/thread_pool.h"

using namespace ascent;
using namespace ascent::cpu;

namespace {

struct Matrix {
    Matrix(const char* name, int64_t rows, int64_t cols, uint32_t seed) : values(static_cast<size_t>(rows * cols)) {
        std::mt19937 g(seed);
        std::normal_distribution<float> d(0.f, 0.5f);
        for (auto& v : values) v = f32_to_bf16(d(g));
        weight.name = name;
        weight.dtype = DType::BF16;
        weight.rows = rows;
        weight.cols = cols;
        weight.data = values.data();
    }
    std::vector<uint16_t> values;
    Weight weight;
};

struct Case {
    int heads, kv_heads, head_dim, hidden;
    int64_t rows;
};

class FusedLinear : public testing::TestWithParam<std::tuple<Case, int>> {};

TEST_P(FusedLinear, MatchesTheProductsOneByOne) {
    const auto [c, threads] = GetParam();
    CpuBackend backend(threads);
    const Matrix wq("q", int64_t{c.heads} * c.head_dim, c.hidden, 1), wk("k", int64_t{c.kv_heads} * c.head_dim, c.hidden, 2),
        wv("v", int64_t{c.kv_heads} * c.head_dim, c.hidden, 3), bq("q.bias", 1, wq.weight.rows, 4),
        bk("k.bias", 1, wk.weight.rows, 5), bv("v.bias", 1, wv.weight.rows, 6);
    std::vector<float> x(static_cast<size_t>(c.rows * c.hidden));
    std::mt19937 g(7);
    std::normal_distribution<float> d(0.f, 1.f);
    for (auto& v : x) v = d(g);
    std::vector<int32_t> positions;
    for (int64_t r = 0; r < c.rows; ++r) positions.push_back(static_cast<int32_t>(3 + 5 * r));
    const RopeParams q_rope{c.heads, c.head_dim, c.head_dim, 10000.f};
    const RopeParams k_rope{c.kv_heads, c.head_dim, c.head_dim, 10000.f};

    const auto out = [&](const Matrix& w) { return std::vector<float>(static_cast<size_t>(c.rows * w.weight.rows), -1.f); };
    auto q = out(wq), k = out(wk), v = out(wv);
    const LinearOutput outputs[] = {{&wq.weight, &bq.weight, q.data(), nullptr, &q_rope},
                                    {&wk.weight, &bk.weight, k.data(), nullptr, &k_rope},
                                    {&wv.weight, &bv.weight, v.data(), nullptr, nullptr}};
    backend.linear_fused(x.data(), c.rows, outputs, positions, nullptr);

    auto q1 = out(wq), k1 = out(wk), v1 = out(wv);
    backend.linear(x.data(), c.rows, wq.weight, &bq.weight, q1.data());
    backend.rope(q1.data(), c.rows, wq.weight.rows, positions, q_rope, q1.data());
    backend.linear(x.data(), c.rows, wk.weight, &bk.weight, k1.data());
    backend.rope(k1.data(), c.rows, wk.weight.rows, positions, k_rope, k1.data());
    backend.linear(x.data(), c.rows, wv.weight, &bv.weight, v1.data());
    // Each output row is the same dot product in the same order whatever block holds it.
    EXPECT_EQ(q, q1);
    EXPECT_EQ(k, k1);
    EXPECT_EQ(v, v1);
}

// A product that normalizes its own input (a fused RMSNorm) gives the bits of rms_norm() followed
// by the product, for decode and for a prefill long enough that threads normalize and convert
// row blocks of their own.
TEST_P(FusedLinear, NormalizedInputMatchesRmsNormThenProduct) {
    const auto [c, threads] = GetParam();
    CpuBackend backend(threads);
    const Matrix wq("q", int64_t{c.heads} * c.head_dim, c.hidden, 11), up("up", 3 * c.hidden + 5, c.hidden, 12),
        norm("norm", 1, c.hidden, 13);
    for (const int64_t rows : {c.rows, int64_t{150}}) {
        std::vector<float> x(static_cast<size_t>(rows * c.hidden));
        std::mt19937 g(static_cast<uint32_t>(rows));
        std::normal_distribution<float> d(0.f, 3.f);
        for (auto& v : x) v = d(g);
        std::vector<int32_t> positions;
        for (int64_t r = 0; r < rows; ++r) positions.push_back(static_cast<int32_t>(r));
        const InputNorm in_norm{&norm.weight, 1e-6f};
        std::vector<float> h(x.size());
        backend.rms_norm(x.data(), rows, c.hidden, norm.weight, in_norm.eps, h.data());

        std::vector<float> fused(static_cast<size_t>(rows * wq.weight.rows), -1.f), plain = fused;
        const LinearOutput f{&wq.weight, nullptr, fused.data(), nullptr, nullptr};
        const LinearOutput p{&wq.weight, nullptr, plain.data(), nullptr, nullptr};
        backend.linear_fused(x.data(), rows, std::span<const LinearOutput>(&f, 1), positions, &in_norm);
        backend.linear_fused(h.data(), rows, std::span<const LinearOutput>(&p, 1), positions, nullptr);
        EXPECT_EQ(fused, plain) << rows;

        std::vector<float> sw(static_cast<size_t>(rows * up.weight.rows), -1.f), sw_plain = sw;
        backend.linear_swiglu(x.data(), rows, up.weight, nullptr, up.weight, nullptr, sw.data(), &in_norm);
        backend.linear_swiglu(h.data(), rows, up.weight, nullptr, up.weight, nullptr, sw_plain.data(), nullptr);
        EXPECT_EQ(sw, sw_plain) << rows;
    }
}

// Gate/up with SwiGLU in one pass gives the bits of the two products and swiglu() run apart, for
// the few-row hand-out (matrix by matrix, SwiGLU by the second finisher of a block) and the
// many-row one (both products of a block on one thread); an output count that is not a multiple
// of the block leaves a short last block.
TEST_P(FusedLinear, GateUpSwigluMatchesTheProductsApart) {
    const auto [c, threads] = GetParam();
    CpuBackend backend(threads);
    const int64_t n_out = 2 * c.hidden + 37;
    const Matrix gate("gate", n_out, c.hidden, 21), up("up", n_out, c.hidden, 22), gb("gate.bias", 1, n_out, 23),
        ub("up.bias", 1, n_out, 24);
    for (const int64_t rows : {c.rows, int64_t{8}, int64_t{9}}) {
        std::vector<float> x(static_cast<size_t>(rows * c.hidden));
        std::mt19937 g(static_cast<uint32_t>(rows + 100));
        std::normal_distribution<float> d(0.f, 1.f);
        for (auto& v : x) v = d(g);
        const auto n = static_cast<size_t>(rows * n_out);
        std::vector<float> fused(n, -1.f), g1(n), u1(n), apart(n, -2.f);
        for (int rep = 0; rep < 2; ++rep) {  // a second call reuses the block counters
            backend.linear_swiglu(x.data(), rows, gate.weight, &gb.weight, up.weight, &ub.weight, fused.data(), nullptr);
            backend.linear(x.data(), rows, gate.weight, &gb.weight, g1.data());
            backend.linear(x.data(), rows, up.weight, &ub.weight, u1.data());
            backend.swiglu(g1.data(), u1.data(), static_cast<int64_t>(n), apart.data());
            EXPECT_EQ(fused, apart) << rows << " rows, call " << rep;
        }
    }
}

// A decode-sized input is prepared by each thread for itself (normalized, rounded) inside the
// product's job; one thread prepares the shared one. Both give the same bits, over many calls
// in a row (each call's copies are made afresh) and with inputs that change between calls.
TEST_P(FusedLinear, InputsPreparedPerThreadMatchOneThreadsInput) {
    const auto [c, threads] = GetParam();
    if (threads == 1) GTEST_SKIP() << "the reference itself";
    CpuBackend backend(threads), reference(1);
    const Matrix wq("q", int64_t{c.heads} * c.head_dim, c.hidden, 31), gate("gate", 2 * c.hidden + 21, c.hidden, 32),
        up("up", 2 * c.hidden + 21, c.hidden, 33), norm("norm", 1, c.hidden, 34);
    const InputNorm in_norm{&norm.weight, 1e-6f};
    std::mt19937 g(35);
    std::normal_distribution<float> d(0.f, 2.f);
    for (int call = 0; call < 6; ++call) {
        std::vector<float> x(static_cast<size_t>(c.rows * c.hidden));
        for (auto& v : x) v = d(g);
        const std::vector<int32_t> positions(static_cast<size_t>(c.rows), 4);
        const InputNorm* n = call % 2 ? &in_norm : nullptr;
        const auto q_out = [&] { return std::vector<float>(static_cast<size_t>(c.rows * wq.weight.rows), -1.f); };
        auto q = q_out(), q_ref = q_out();
        const LinearOutput f{&wq.weight, nullptr, q.data(), nullptr, nullptr};
        const LinearOutput f_ref{&wq.weight, nullptr, q_ref.data(), nullptr, nullptr};
        backend.linear_fused(x.data(), c.rows, std::span<const LinearOutput>(&f, 1), positions, n);
        reference.linear_fused(x.data(), c.rows, std::span<const LinearOutput>(&f_ref, 1), positions, n);
        EXPECT_EQ(q, q_ref) << "call " << call;
        std::vector<float> sw(static_cast<size_t>(c.rows * gate.weight.rows), -1.f), sw_ref = sw;
        backend.linear_swiglu(x.data(), c.rows, gate.weight, nullptr, up.weight, nullptr, sw.data(), n);
        reference.linear_swiglu(x.data(), c.rows, gate.weight, nullptr, up.weight, nullptr, sw_ref.data(), n);
        EXPECT_EQ(sw, sw_ref) << "call " << call;
    }
}

// From 128 rows on, a product's outputs are made block by block in a thread's scratch and then
// copied to y with the residual or the rotation; past 2048 rows (here) a thread's block holds one
// head at a time. Against the kernel writing y itself, then rope() and add() on their own.
TEST(FusedLinearStaged, MatchesTheKernelWritingYThenRopeAndAdd) {
    constexpr int kHeads = 6, kKvHeads = 2, kHeadDim = 48, kHidden = 96;
    const Matrix wq("q", kHeads * kHeadDim, kHidden, 21), wk("k", kKvHeads * kHeadDim, kHidden, 22),
        wv("v", kKvHeads * kHeadDim, kHidden, 23), wo("o", kHidden, kHeads * kHeadDim, 24), bq("q.bias", 1, wq.weight.rows, 25);
    const RopeParams q_rope{kHeads, kHeadDim, kHeadDim, 10000.f}, k_rope{kKvHeads, kHeadDim, kHeadDim, 10000.f};
    for (const int threads : {1, 2, 3})
        for (const int64_t rows : {int64_t{127}, int64_t{128}, int64_t{300}, int64_t{2100}}) {
            CpuBackend backend(threads);
            ThreadPool pool(threads);
            std::mt19937 g(static_cast<uint32_t>(rows));
            std::normal_distribution<float> d(0.f, 1.f);
            std::vector<float> x(static_cast<size_t>(rows * kHidden)), attn(static_cast<size_t>(rows * wo.weight.cols));
            for (auto& v : x) v = d(g);
            for (auto& v : attn) v = d(g);
            std::vector<int32_t> positions;
            for (int64_t r = 0; r < rows; ++r) positions.push_back(static_cast<int32_t>(2 * r + 1));
            const auto out = [&](const Matrix& w) { return std::vector<float>(static_cast<size_t>(rows * w.weight.rows), -1.f); };
            auto q = out(wq), k = out(wk), v = out(wv), o = out(wo);
            const LinearOutput qkv[] = {{&wq.weight, &bq.weight, q.data(), nullptr, &q_rope},
                                        {&wk.weight, nullptr, k.data(), nullptr, &k_rope},
                                        {&wv.weight, nullptr, v.data(), nullptr, nullptr}};
            backend.linear_fused(x.data(), rows, qkv, positions, nullptr);
            const LinearOutput o_res{&wo.weight, nullptr, o.data(), x.data(), nullptr};
            backend.linear_fused(attn.data(), rows, std::span<const LinearOutput>(&o_res, 1), positions, nullptr);

            auto q1 = out(wq), k1 = out(wk), v1 = out(wv), o1 = out(wo);
            const auto product = [&](const float* in, const Matrix& w, const float* bias, std::vector<float>& y) {
                matmul(pool, in, rows, w.weight.cols, w.weight.data, DType::BF16, w.weight.rows, w.weight.cols, bias,
                       y.data(), w.weight.rows);
            };
            std::vector<float> q_bias(bq.values.size());
            for (size_t i = 0; i < q_bias.size(); ++i) q_bias[i] = bf16_to_f32(bq.values[i]);
            product(x.data(), wq, q_bias.data(), q1);
            backend.rope(q1.data(), rows, wq.weight.rows, positions, q_rope, q1.data());
            product(x.data(), wk, nullptr, k1);
            backend.rope(k1.data(), rows, wk.weight.rows, positions, k_rope, k1.data());
            product(x.data(), wv, nullptr, v1);
            product(attn.data(), wo, nullptr, o1);
            backend.add(o1.data(), x.data(), static_cast<int64_t>(o1.size()), o1.data());
            EXPECT_EQ(q, q1) << threads << " threads, " << rows << " rows";
            EXPECT_EQ(k, k1) << threads << " threads, " << rows << " rows";
            EXPECT_EQ(v, v1) << threads << " threads, " << rows << " rows";
            EXPECT_EQ(o, o1) << threads << " threads, " << rows << " rows";
        }
}

// The whole MLP in one call gives the bits of gate/up with SwiGLU, then down with its residual.
// From 9 rows on, gate/up's blocks write the activations straight into down's input, a block of
// columns at a time (the blocks start on any 16 columns): into its tiles on AMX (widths of whole
// 32-column tiles), into its BF16 rows on AVX-512 BF16 otherwise; elsewhere (fewer rows, the
// portable path) they go through f32 rows.
TEST(FusedMlp, MatchesGateUpSwigluThenDownWithResidual) {
    constexpr int64_t kHidden = 96;
    const char* simd_was = std::getenv("ASCENT_SIMD");
    const std::string saved = simd_was ? simd_was : "";
    for (const char* simd : {static_cast<const char*>(nullptr), "avx512bf16"}) {
        simd ? setenv("ASCENT_SIMD", simd, 1) : unsetenv("ASCENT_SIMD");
        for (const int64_t inter : {int64_t{224}, int64_t{200}}) {
            const Matrix gate("gate", inter, kHidden, 41), up("up", inter, kHidden, 42), down("down", kHidden, inter, 43),
                gb("gate.bias", 1, inter, 44), ub("up.bias", 1, inter, 45), db("down.bias", 1, kHidden, 46),
                norm("norm", 1, kHidden, 47);
            const InputNorm in_norm{&norm.weight, 1e-6f};
            for (const int threads : {1, 2, 3})
                for (const int64_t rows : {int64_t{1}, int64_t{8}, int64_t{9}, int64_t{37}, int64_t{130}}) {
                    CpuBackend backend(threads);
                    std::mt19937 g(static_cast<uint32_t>(rows * 7 + inter));
                    std::normal_distribution<float> d(0.f, 1.f);
                    std::vector<float> x(static_cast<size_t>(rows * kHidden)), res(x.size());
                    for (auto& v : x) v = d(g);
                    for (auto& v : res) v = d(g);
                    const std::string what = std::string(simd ? simd : "best path") + ", " + std::to_string(threads) +
                                             " threads, " + std::to_string(rows) + " rows, " + std::to_string(inter) +
                                             " wide";
                    for (const bool with_extras : {false, true}) {
                        const MlpWeights w{&gate.weight, with_extras ? &gb.weight : nullptr, &up.weight,
                                           with_extras ? &ub.weight : nullptr, &down.weight,
                                           with_extras ? &db.weight : nullptr};
                        const InputNorm* n = with_extras ? &in_norm : nullptr;
                        const float* r = with_extras ? res.data() : nullptr;
                        std::vector<float> fused(x.size(), -1.f), apart(x.size(), -2.f);
                        std::vector<float> act(static_cast<size_t>(rows * inter));
                        for (int call = 0; call < 2; ++call) {  // a second call reuses the buffers
                            backend.mlp(x.data(), rows, w, r, fused.data(), n);
                            backend.linear_swiglu(x.data(), rows, gate.weight, w.gate_bias, up.weight, w.up_bias,
                                                  act.data(), n);
                            const LinearOutput o{&down.weight, w.down_bias, apart.data(), r, nullptr};
                            backend.linear_fused(act.data(), rows, std::span<const LinearOutput>(&o, 1), {}, nullptr);
                            EXPECT_EQ(fused, apart) << what << (with_extras ? ", biases, norm, residual" : "");
                        }
                    }
                }
        }
    }
    simd_was ? setenv("ASCENT_SIMD", saved.c_str(), 1) : unsetenv("ASCENT_SIMD");
}

// A prefill chunk that wants no logits runs the LM head on no rows: nothing is written, nothing
// is divided by the row count.
TEST(FusedLinearStaged, NoRowsIsNothingToDo) {
    const Matrix w("w", 48, 64, 31), gate("gate", 40, 64, 32), up("up", 40, 64, 33);
    for (const int threads : {1, 2}) {
        CpuBackend backend(threads);
        std::vector<float> y(4, -1.f);
        backend.linear(nullptr, 0, w.weight, nullptr, y.data());
        backend.linear_swiglu(nullptr, 0, gate.weight, nullptr, up.weight, nullptr, y.data(), nullptr);
        EXPECT_EQ(y, std::vector<float>(4, -1.f)) << threads << " threads";
    }
}

// SwiGLU and add on a prefill's activations run in pieces on the threads (on one thread, one
// piece after another): each element comes out as from one call of the kernel on the whole
// input, in place or not, at sizes on both sides of the threshold, with a tail that is no whole
// vector.
TEST(CpuElementwise, LargeInputsSplitAmongThreadsGiveOneCallsBits) {
    for (const int threads : {1, 2, 3}) {
        CpuBackend backend(threads);
        const KernelSet& k = backend.kernels();
        for (const int64_t n : {int64_t{4099}, int64_t{65536 + 17}, int64_t{300001}}) {
            std::vector<float> a(static_cast<size_t>(n)), b(a.size());
            std::mt19937 g(static_cast<uint32_t>(n));
            std::normal_distribution<float> d(0.f, 4.f);
            for (auto& v : a) v = d(g);
            for (auto& v : b) v = d(g);
            const auto size = static_cast<size_t>(n);
            std::vector<float> want(a.size()), got(a.size(), -1.f);
            const std::string at = std::to_string(threads) + " threads, n=" + std::to_string(n);

            k.swiglu(a.data(), b.data(), want.data(), size);
            backend.swiglu(a.data(), b.data(), n, got.data());
            EXPECT_EQ(got, want) << "swiglu, " << at;

            k.add(a.data(), b.data(), want.data(), size);
            backend.add(a.data(), b.data(), n, got.data());
            EXPECT_EQ(got, want) << "add, " << at;
            std::vector<float> in_place = a;
            backend.add(in_place.data(), b.data(), n, in_place.data());
            EXPECT_EQ(in_place, want) << "add in place, " << at;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FusedLinear,
    testing::Combine(testing::Values(Case{14, 2, 64, 896, 1},   // Qwen2-0.5B, a decode step
                                     Case{14, 2, 64, 896, 9},   // and a short prefill
                                     Case{7, 1, 24, 72, 1},     // heads of 24: blocks of 48-multiples
                                     Case{5, 5, 40, 100, 3},    // heads of 40, no grouping
                                     Case{9, 3, 16, 48, 33}),
                     testing::Values(1, 2, 3)));

}  // namespace
