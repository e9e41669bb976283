// Graph mode against eager: the same logits and the same greedy tokens, a switch in the middle
// of a generation, and memory plans that never let two live tensors share bytes.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/backend.h"
#include "engine/generate.h"
#include "engine/graph/graph.h"
#include "engine/session.h"
#include "engine/weight_binder.h"
#include "models/loader.h"
#include "models/registry.h"
#include "tests/support/built_model.h"
#include "tests/support/tiny_model.h"

using namespace ascent;
using namespace ascent::test;

namespace {

using Built = BuiltModel;

Built build(const std::filesystem::path& folder, int threads = 2) { return build_model_folder(folder, threads); }

std::filesystem::path tiny(const std::string& arch, DType dtype) {
    TinyModelSpec spec;
    spec.architecture = arch;
    spec.dtype = dtype;
    spec.tie_embeddings = arch == "Qwen2ForCausalLM";
    spec.attention_bias = arch == "LlamaForCausalLM";
    spec.max_positions = 1024;
    spec.seed = 21;
    return make_tiny_model(test_tmp("graph_" + arch.substr(0, 5) + std::string(dtype_name(dtype))), spec);
}

class GraphVsEager : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};

TEST_P(GraphVsEager, LogitsAgreeForEveryPromptLength) {
    auto [arch, dtype] = GetParam();
    Built b = build(tiny(arch, dtype));
    SessionOptions eo, go;
    eo.context = go.context = 256;
    go.mode = ExecMode::Graph;
    Session eager(*b.backend, *b.model, eo), graph(*b.backend, *b.model, go);
    // Lengths around and between the buckets exercise padding and splitting.
    for (int n : {1, 2, 3, 5, 7, 9, 16, 17, 31, 33, 70, 100}) {
        eager.rewind(0);
        graph.rewind(0);
        auto t = seeded_tokens(n, static_cast<uint32_t>(n));
        ASSERT_TRUE(eager.feed(t, true));
        ASSERT_TRUE(graph.feed(t, true));
        const auto& a = eager.logits();
        const auto& g = graph.logits();
        ASSERT_EQ(a.size(), g.size()) << n;
        for (size_t i = 0; i < a.size(); ++i)
            ASSERT_NEAR(g[i], a[i], 1e-4 * std::max(1.f, std::fabs(a[i]))) << "n=" << n << " i=" << i;
        // Then a decode step on top of each.
        int32_t next = 7;
        ASSERT_TRUE(eager.feed(std::span<const int32_t>(&next, 1)));
        ASSERT_TRUE(graph.feed(std::span<const int32_t>(&next, 1)));
        for (size_t i = 0; i < eager.logits().size(); ++i)
            ASSERT_NEAR(graph.logits()[i], eager.logits()[i], 1e-4 * std::max(1.f, std::fabs(eager.logits()[i])));
    }
    EXPECT_FALSE(graph.graphs().empty());
    for (const auto& info : graph.graphs()) EXPECT_LT(info.nodes_fused, info.nodes_recorded);
}

// A prompt longer than one prefill chunk: the chunks before the last want no logits, so the LM
// head runs on no rows there, and a 512-token chunk takes the products' blocked (staged) outputs.
TEST_P(GraphVsEager, PromptsOfSeveralChunksWithOnlyTheLastLogits) {
    auto [arch, dtype] = GetParam();
    Built b = build(tiny(arch, dtype));
    for (const auto& [n, chunk] : {std::pair{150, 32}, std::pair{600, 512}}) {
        SessionOptions eo, go;
        eo.context = go.context = 1024;
        eo.prefill_chunk = go.prefill_chunk = chunk;
        go.mode = ExecMode::Graph;
        Session eager(*b.backend, *b.model, eo), graph(*b.backend, *b.model, go);
        const auto t = seeded_tokens(n, static_cast<uint32_t>(n));
        ASSERT_TRUE(eager.feed(t));
        ASSERT_TRUE(graph.feed(t));
        const auto& a = eager.logits();
        const auto& g = graph.logits();
        ASSERT_EQ(a.size(), static_cast<size_t>(b.model->vocab_size())) << n;
        ASSERT_EQ(g.size(), a.size()) << n;
        for (size_t i = 0; i < a.size(); ++i)
            ASSERT_NEAR(g[i], a[i], 1e-4 * std::max(1.f, std::fabs(a[i]))) << "n=" << n << " i=" << i;
    }
}

std::vector<int32_t> greedy(Built& b, ExecMode mode, const std::vector<int32_t>& prompt, int n,
                            int switch_at = -1) {
    SessionOptions so;
    so.context = 1024;
    so.mode = mode;
    Session s(*b.backend, *b.model, so);
    EXPECT_TRUE(s.feed(prompt));
    std::vector<int32_t> out;
    for (int i = 0; i < n; ++i) {
        if (i == switch_at) s.set_mode(mode == ExecMode::Eager ? ExecMode::Graph : ExecMode::Eager);
        const auto& l = s.logits();
        const auto tok = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
        out.push_back(tok);
        EXPECT_TRUE(s.feed(std::span<const int32_t>(&tok, 1)));
    }
    return out;
}

TEST_P(GraphVsEager, SameGreedyTokensFor256Steps) {
    auto [arch, dtype] = GetParam();
    Built b = build(tiny(arch, dtype));
    const auto prompt = seeded_tokens(13, 99);
    const auto eager = greedy(b, ExecMode::Eager, prompt, 256);
    EXPECT_EQ(greedy(b, ExecMode::Graph, prompt, 256), eager);
    // Switching mode in the middle keeps the KV cache and changes nothing.
    EXPECT_EQ(greedy(b, ExecMode::Eager, prompt, 256, 100), eager);
    EXPECT_EQ(greedy(b, ExecMode::Graph, prompt, 256, 50), eager);
}

// A mode switch hands the graph's arena back, so a session that alternates modes (a bench sweep
// of both) never holds eager's activations and the arena at once; back in graph mode the arena
// is allocated again by the next step, which goes on as if nothing had happened.
TEST(GraphMode, LeavingGraphModeGivesBackTheArena) {
    Built b = build(tiny("Qwen2ForCausalLM", DType::BF16));
    SessionOptions so;
    so.context = 256;
    so.mode = ExecMode::Graph;
    Session s(*b.backend, *b.model, so), steady(*b.backend, *b.model, so);
    const auto prompt = seeded_tokens(40, 5);
    ASSERT_TRUE(s.feed(prompt));
    ASSERT_TRUE(steady.feed(prompt));
    const size_t arena = s.arena_bytes();
    ASSERT_GT(arena, 0u);
    const size_t held = b.backend->memory().activations;  // both sessions' arenas
    ASSERT_GE(held, 2 * arena);
    for (int i = 0; i < 6; ++i) {
        s.set_mode(i % 2 == 0 ? ExecMode::Eager : ExecMode::Graph);
        EXPECT_EQ(b.backend->memory().activations, held - arena) << "step " << i;  // graph's comes with its step
        const int32_t next = 11 + i;
        ASSERT_TRUE(s.feed(std::span<const int32_t>(&next, 1)));
        ASSERT_TRUE(steady.feed(std::span<const int32_t>(&next, 1)));
        EXPECT_EQ(b.backend->memory().activations, held - (i % 2 == 0 ? arena : 0)) << "step " << i;
        ASSERT_EQ(s.logits().size(), steady.logits().size());
        for (size_t j = 0; j < s.logits().size(); ++j)
            ASSERT_NEAR(s.logits()[j], steady.logits()[j], 1e-4 * std::max(1.f, std::fabs(steady.logits()[j])))
                << "step " << i;
    }
    EXPECT_EQ(s.arena_bytes(), arena);  // the plan is kept while the memory is not
}

INSTANTIATE_TEST_SUITE_P(Models, GraphVsEager,
                         ::testing::Combine(::testing::Values("Qwen2ForCausalLM", "LlamaForCausalLM"),
                                            ::testing::Values(DType::F32, DType::BF16)),
                         [](const auto& p) {
                             return std::get<0>(p.param).substr(0, 5) + std::string(dtype_name(std::get<1>(p.param)));
                         });

TEST(GraphPlan, NoTwoLiveTensorsShareBytes) {
    Built b = build(tiny("Qwen2ForCausalLM", DType::F32));
    for (int64_t bucket : {1, 2, 16, 64, 512})
        for (LogitRows rows : {LogitRows::None, LogitRows::Last, LogitRows::All, LogitRows::LastOfEach}) {
            const int64_t picks = rows == LogitRows::LastOfEach ? std::min<int64_t>(bucket, 3) : 0;
            graph::Graph g = graph::record(*b.model, bucket, rows, picks);
            graph::plan_memory(g);  // the unfused graph too: more, shorter-lived values
            EXPECT_EQ(graph::check_plan(g), "") << bucket;
            graph::Graph f = graph::record(*b.model, bucket, rows, picks);
            graph::fuse(f);
            graph::plan_memory(f);
            EXPECT_EQ(graph::check_plan(f), "") << bucket;
            EXPECT_LE(f.arena_bytes, g.arena_bytes);
            // Reuse happened: the arena is smaller than all values laid end to end.
            size_t total = 0;
            for (const auto& v : f.values)
                if (v.producer >= 0) total += v.bytes();
            if (bucket > 1) {
                EXPECT_LT(f.arena_bytes, total);
            }
        }
}

TEST(GraphPlan, CheckerCatchesAnOverlap) {
    Built b = build(tiny("Qwen2ForCausalLM", DType::F32));
    graph::Graph g = graph::record(*b.model, 8, LogitRows::Last);
    graph::fuse(g);
    graph::plan_memory(g);
    // Put the first node's output where the second node's output lives (both alive at node 1).
    g.values[static_cast<size_t>(g.nodes[1].out[0])].offset = g.values[static_cast<size_t>(g.nodes[0].out[0])].offset;
    EXPECT_NE(graph::check_plan(g), "");
}

TEST(GraphFusion, FusesQkvRopeResidualSwigluAndNorms) {
    Built b = build(tiny("Qwen2ForCausalLM", DType::F32));
    graph::Graph g = graph::record(*b.model, 4, LogitRows::Last);
    graph::fuse(g);
    int multi = 0, mlp = 0, normed = 0, standalone = 0;
    for (const auto& n : g.nodes) {
        if (n.op == graph::Op::Linear && n.parts.size() == 3 && n.parts[0].rope && n.parts[1].rope && !n.parts[2].rope)
            ++multi;
        // gate/up/SwiGLU and down with its residual: the activations between them never stored
        if (n.op == graph::Op::Mlp && n.parts.size() == 1 && n.parts[0].residual >= 0 && n.in.size() == 2 &&
            n.in[1] == n.parts[0].residual && g.values[static_cast<size_t>(n.out[0])].producer >= 0)
            ++mlp;
        if (n.norm.weight) ++normed;
        if (n.op == graph::Op::Rope || n.op == graph::Op::Add || n.op == graph::Op::Swiglu || n.op == graph::Op::RmsNorm)
            ++standalone;
    }
    EXPECT_EQ(multi, 2);       // one q/k/v pass per layer
    EXPECT_EQ(mlp, 2);         // one MLP per layer
    EXPECT_EQ(normed, 5);      // both norms of each layer, and the final one before the LM head
    EXPECT_EQ(standalone, 0);  // every RoPE, residual add and norm went into a product
    // Embedding; per layer qkv(+norm), attention, o_proj(+residual), gate/up/down(+norm, +residual);
    // the last row's selection and the LM head (+norm).
    EXPECT_EQ(g.nodes.size(), 1u + 2u * 4u + 2u);
}

TEST(GraphMode, DemoModelStillMatchesLlama2c) {
    auto m = models::load_model(demo_model(), BackendOptions{"cpu", 2});
    auto run = [&](ExecMode mode) {
        SessionOptions so;
        so.context = 512;
        so.mode = mode;
        Session s(*m->backend, *m->model, so);
        SamplingParams sp;
        sp.temperature = 0;
        Sampler sampler(sp);
        GenerateRequest req;
        req.prompt = m->tokenizer->encode("Once upon a time");
        req.max_tokens = 60;  // generate_reference.jsonl: 64 steps after a 5-token prompt
        return generate(s, *m->tokenizer, sampler, req).text;
    };
    const std::string graph = run(ExecMode::Graph);
    EXPECT_TRUE(graph.starts_with(", there was a little girl named Lily. She loved to play outside in the park."));
    EXPECT_EQ(graph, run(ExecMode::Eager));
}

}  // namespace
