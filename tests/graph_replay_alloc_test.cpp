// Graph mode replays a captured step without allocating: once the first steps of a shape have
// captured its graph and sized every buffer (arena, prepared inputs, task lists, RoPE tables), a
// decode step makes no heap allocation on any thread, in either precision.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "engine/executor.h"
#include "tests/support/built_model.h"
#include "tests/support/tiny_model.h"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};

void* counted_or_null(std::size_t n, std::size_t align) noexcept {
    if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
    n = n ? n : 1;
    return align > alignof(std::max_align_t) ? std::aligned_alloc(align, (n + align - 1) / align * align) : std::malloc(n);
}

void* counted(std::size_t n, std::size_t align) {
    void* p = counted_or_null(n, align);
    if (!p) throw std::bad_alloc();
    return p;
}

}  // namespace

// Every allocation of this test binary, on any thread, goes through here: every form of operator
// new (the standard library's temporary buffers use the nothrow one), all freed by free().
void* operator new(std::size_t n) { return counted(n, 0); }
void* operator new[](std::size_t n) { return counted(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return counted(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_or_null(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_or_null(n, 0); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return counted_or_null(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return counted_or_null(n, static_cast<std::size_t>(a));
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using namespace ascent;
using namespace ascent::test;

namespace {

class GraphReplay : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};

TEST_P(GraphReplay, DecodeStepsAllocateNothing) {
    const auto [arch, dtype] = GetParam();
    TinyModelSpec spec;
    spec.architecture = arch;
    spec.dtype = dtype;
    spec.tie_embeddings = arch == "Qwen2ForCausalLM";
    spec.attention_bias = arch == "LlamaForCausalLM";
    spec.max_positions = 256;
    spec.seed = 31;
    BuiltModel b = build_model_folder(make_tiny_model(test_tmp("replay_alloc_" + arch.substr(0, 5) + std::string(dtype_name(dtype))), spec), 2);
    const Model& m = *b.model;
    auto cache = b.backend->create_kv_cache(m.n_layers(), 256, m.kv_dim(), dtype);
    auto executor = make_executor(ExecMode::Graph, *b.backend);
    std::vector<float> logits;
    std::vector<int32_t> tokens = seeded_tokens(20, 7), positions;
    for (int32_t i = 0; i < 20; ++i) positions.push_back(i);
    executor->run(m, StepInput{tokens, positions}, *cache, logits);
    for (int32_t pos = 20; pos < 60; ++pos) {
        const int32_t token = (pos * 37) % 200 + 3;
        const bool counting = pos >= 24;  // the first decode steps capture the graph and size the buffers
        const long before = g_allocations.load();
        g_counting.store(counting);
        executor->run(m, StepInput{std::span<const int32_t>(&token, 1), std::span<const int32_t>(&pos, 1)}, *cache, logits);
        g_counting.store(false);
        if (counting) {
            EXPECT_EQ(g_allocations.load() - before, 0) << "decode step at position " << pos;
        }
        ASSERT_EQ(logits.size(), static_cast<size_t>(m.vocab_size()));
    }
}

INSTANTIATE_TEST_SUITE_P(Models, GraphReplay,
                         ::testing::Combine(::testing::Values("Qwen2ForCausalLM", "LlamaForCausalLM"),
                                            ::testing::Values(DType::F32, DType::BF16)),
                         [](const auto& p) {
                             return std::get<0>(p.param).substr(0, 5) + std::string(dtype_name(std::get<1>(p.param)));
                         });

}  // namespace
