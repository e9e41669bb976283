// Several sequences in one session, decoded together: each sequence's keys stay in its own part
// of the cache, a batched step gives every sequence what a session of its own would, and the
// batch scheduler (generate_batch) gives each request the tokens it gets alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <set>

#include "engine/batch_generate.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/error.h"
#include "engine/sampler.h"
#include "engine/session.h"
#include "models/loader.h"
#include "tests/support/built_model.h"
#include "tests/support/tiny_model.h"

using namespace ascent;
using namespace ascent::test;

namespace {

// The kind of error `f` throws, or nullopt when it returns.
template <typename F>
std::optional<ErrorKind> error_kind(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.kind();
    }
    return std::nullopt;
}

std::vector<float> random_floats(size_t n, std::mt19937& rng) {
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

// Keys, values and queries of one sequence's rows: [rows, cols].
struct Rows {
    std::vector<float> q, k, v;
};

class MultiSequenceAttention : public ::testing::TestWithParam<DType> {};

// Three sequences of different lengths prefilled into one cache, then one decode row each in a
// single call (in an order that is not the sequences'), against a cache per sequence: the same
// bits, since every row runs the same kernels over the same positions.
TEST_P(MultiSequenceAttention, EachSequenceSeesOnlyItsOwnPositions) {
    const DType dtype = GetParam();
    cpu::CpuBackend b(2);
    const AttentionParams p{4, 2, 64, 0.125f};
    const int64_t kv = int64_t{p.n_kv_heads} * p.head_dim, qc = int64_t{p.n_heads} * p.head_dim;
    const int lens[] = {70, 5, 130};
    std::mt19937 rng(3);
    auto shared = b.create_kv_cache(2, 200, kv, dtype, 3);
    ASSERT_EQ(shared->n_seqs, 3);
    std::vector<std::unique_ptr<KvCache>> alone;
    std::vector<std::vector<float>> alone_out(3);
    for (int s = 0; s < 3; ++s) {
        alone.push_back(b.create_kv_cache(2, 200, kv, dtype));
        const auto n = static_cast<size_t>(lens[s]);
        Rows r{random_floats(n * static_cast<size_t>(qc), rng), random_floats(n * static_cast<size_t>(kv), rng),
               random_floats(n * static_cast<size_t>(kv), rng)};
        std::vector<int32_t> pos(n), seq(n, s);
        for (size_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(i);
        std::vector<float> out_shared(n * static_cast<size_t>(qc)), out_alone(out_shared.size());
        b.attention(r.q.data(), r.k.data(), r.v.data(), lens[s], pos, seq, *shared, 1, p, out_shared.data());
        b.attention(r.q.data(), r.k.data(), r.v.data(), lens[s], pos, {}, *alone[static_cast<size_t>(s)], 1, p,
                    out_alone.data());
        ASSERT_EQ(out_shared, out_alone) << "prefill of sequence " << s;
    }
    // The decode row of sequence s sits at position lens[s].
    const std::vector<int32_t> order = {2, 0, 1};
    Rows d{random_floats(3 * static_cast<size_t>(qc), rng), random_floats(3 * static_cast<size_t>(kv), rng),
           random_floats(3 * static_cast<size_t>(kv), rng)};
    std::vector<int32_t> pos;
    for (int32_t s : order) pos.push_back(lens[s]);
    std::vector<float> out(3 * static_cast<size_t>(qc));
    b.attention(d.q.data(), d.k.data(), d.v.data(), 3, pos, order, *shared, 1, p, out.data());
    for (size_t i = 0; i < order.size(); ++i) {
        std::vector<float> one(static_cast<size_t>(qc));
        const auto at = [&](const std::vector<float>& x, int64_t cols) { return x.data() + static_cast<int64_t>(i) * cols; };
        b.attention(at(d.q, qc), at(d.k, kv), at(d.v, kv), 1, std::span<const int32_t>(&pos[i], 1), {},
                    *alone[static_cast<size_t>(order[i])], 1, p, one.data());
        EXPECT_TRUE(std::equal(one.begin(), one.end(), out.begin() + static_cast<std::ptrdiff_t>(i * static_cast<size_t>(qc))))
            << "decode row of sequence " << order[i];
    }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, MultiSequenceAttention, ::testing::Values(DType::F32, DType::BF16, DType::F16),
                         [](const auto& param_info) { return std::string(dtype_name(param_info.param)); });

TEST(MultiSequenceAttention, RejectsRowsOutsideTheCache) {
    cpu::CpuBackend b(1);
    auto cache = b.create_kv_cache(1, 8, 64, DType::F32, 2);
    std::vector<float> x(64), out(64);
    const int32_t pos = 0, bad_seq = 2, past_end = 8, seq = 1;
    const AttentionParams p{1, 1, 64, 0.1f};
    auto attend = [&](const int32_t& at, const int32_t& in_seq) {
        return error_kind([&] { b.attention(x.data(), x.data(), x.data(), 1, {&at, 1}, {&in_seq, 1}, *cache, 0, p, out.data()); });
    };
    EXPECT_EQ(attend(pos, bad_seq), ErrorKind::Runtime);
    EXPECT_EQ(attend(past_end, seq), ErrorKind::Runtime);
    EXPECT_EQ(attend(pos, seq), std::nullopt);
    EXPECT_EQ(error_kind([&] { b.create_kv_cache(1, 8, 64, DType::F32, 0); }), ErrorKind::Runtime);
}

// A seeded tiny model of an architecture, or "demo": the real stories260K, whose greedy tokens
// vary (a random tiny model soon repeats one token, which would let a mix-up go unseen).
struct TestModel {
    BuiltModel built;
    std::unique_ptr<models::LoadedModel> loaded;
    Backend& backend() { return loaded ? *loaded->backend : *built.backend; }
    const Model& model() { return loaded ? *loaded->model : *built.model; }
};

TestModel test_model(const std::string& arch) {
    TestModel m;
    if (arch == "demo") {
        m.loaded = models::load_model(demo_model(), BackendOptions{"cpu", 2});
        return m;
    }
    TinyModelSpec spec;
    spec.architecture = arch;
    // F32 weights (and the sessions' F32 cache): a product over three rows may sum in another
    // order than over one, and wherever a value is then rounded to BF16 (activations before a
    // BF16 weight's product, keys, values and queries in a BF16 cache) that order can flip a
    // rounding by 2^-8: on NEON, batched and alone then differed by 1.4e-3 of a logit. In f32
    // they stay within 1e-4. MultiSequenceAttention covers every cache type's sequences.
    spec.dtype = DType::F32;
    spec.tie_embeddings = arch == "Qwen2ForCausalLM";
    spec.attention_bias = arch == "LlamaForCausalLM";
    spec.max_positions = 512;
    spec.seed = 33;
    m.built = build_model_folder(make_tiny_model(test_tmp("batch_" + arch.substr(0, 5)), spec), 2);
    return m;
}

int32_t greedy(std::span<const float> row) { return static_cast<int32_t>(argmax(row)); }

// What one sequence gives on a session of its own: greedy tokens after `prompt`, and the logits
// of every step.
struct Alone {
    std::vector<int32_t> tokens;
    std::vector<std::vector<float>> logits;
};

Alone run_alone(TestModel& b, ExecMode mode, const std::vector<int32_t>& prompt, int n) {
    SessionOptions so;
    so.context = 400;
    so.mode = mode;
    Session s(b.backend(), b.model(), so);
    EXPECT_TRUE(s.feed(prompt));
    Alone a;
    for (int i = 0; i < n; ++i) {
        a.logits.push_back(s.logits());
        a.tokens.push_back(greedy(s.logits()));
        EXPECT_TRUE(s.feed(std::span<const int32_t>(&a.tokens.back(), 1)));
    }
    return a;
}

class BatchedDecode : public ::testing::TestWithParam<std::tuple<std::string, ExecMode>> {};

// Three prompts of different lengths, decoded together for 64 steps, against each alone: logits
// within 1e-4 relative (a product over three rows may sum in another order than over one) and
// the same greedy tokens. Halfway through, the middle sequence sits out some steps.
TEST_P(BatchedDecode, EverySequenceGetsWhatItGetsAlone) {
    auto [arch, mode] = GetParam();
    TestModel b = test_model(arch);
    const std::vector<std::vector<int32_t>> prompts = {seeded_tokens(9, 1), seeded_tokens(40, 2), seeded_tokens(3, 3)};
    constexpr int kSteps = 64;
    std::vector<Alone> alone;
    for (const auto& p : prompts) alone.push_back(run_alone(b, mode, p, kSteps));
    if (arch == "demo") {  // the check has teeth: the sequences' tokens differ from step to step
        std::set<int32_t> seen(alone[0].tokens.begin(), alone[0].tokens.end());
        ASSERT_GT(seen.size(), 10u);
    }

    SessionOptions so;
    so.context = 256;
    so.mode = mode;
    so.sequences = 3;
    Session s(b.backend(), b.model(), so);
    const auto vocab = static_cast<size_t>(b.model().vocab_size());
    std::vector<std::vector<int32_t>> got(3);
    std::vector<std::vector<float>> last(3);
    for (int q = 0; q < 3; ++q) {
        ASSERT_TRUE(s.feed_sequence(q, prompts[static_cast<size_t>(q)]));
        last[static_cast<size_t>(q)] = s.logits();
    }
    auto compare = [&](size_t q, const std::vector<float>& row) {
        const size_t step = got[q].size();
        const auto& want = alone[q].logits[step];
        ASSERT_EQ(row.size(), want.size());
        for (size_t i = 0; i < row.size(); ++i)
            ASSERT_NEAR(row[i], want[i], 1e-4 * std::max(1.f, std::fabs(want[i]))) << "sequence " << q << " step " << step;
        got[q].push_back(greedy(row));
    };
    // An ASSERT inside compare() only leaves the lambda: stop the test there too.
    for (size_t q = 0; q < 3; ++q) compare(q, last[q]);
    if (HasFatalFailure()) return;
    auto running = [&] {
        return std::any_of(got.begin(), got.end(), [](const auto& g) { return g.size() < kSteps; });
    };
    while (running()) {
        std::vector<int32_t> seqs, toks;
        for (int q : {2, 0, 1}) {
            const bool sits_out = q == 1 && got[0].size() >= 20 && got[0].size() < 30;
            if (sits_out || got[static_cast<size_t>(q)].size() >= kSteps) continue;
            seqs.push_back(q);
            toks.push_back(got[static_cast<size_t>(q)].back());
        }
        s.decode(seqs, toks);
        ASSERT_EQ(s.logits().size(), seqs.size() * vocab);
        for (size_t i = 0; i < seqs.size(); ++i)
            compare(static_cast<size_t>(seqs[i]),
                    std::vector<float>(s.logits().begin() + static_cast<std::ptrdiff_t>(i * vocab),
                                       s.logits().begin() + static_cast<std::ptrdiff_t>((i + 1) * vocab)));
        if (HasFatalFailure()) return;
    }
    for (size_t q = 0; q < 3; ++q) {
        EXPECT_EQ(got[q], alone[q].tokens) << "sequence " << q;
        EXPECT_EQ(s.n_past(static_cast<int>(q)), static_cast<int64_t>(prompts[q].size() + kSteps - 1));
    }
}

INSTANTIATE_TEST_SUITE_P(Models, BatchedDecode,
                         ::testing::Combine(::testing::Values("Qwen2ForCausalLM", "LlamaForCausalLM", "demo"),
                                            ::testing::Values(ExecMode::Eager, ExecMode::Graph)),
                         [](const auto& param_info) {
                             return std::get<0>(param_info.param).substr(0, 5) + "_" + mode_name(std::get<1>(param_info.param));
                         });

class BatchedPrefill : public ::testing::TestWithParam<std::tuple<ExecMode, int64_t>> {};

// Three prompts prefilled in the same steps, against each alone: the logits of each prompt's last
// token, and of decode steps after it. Chunks of 40 tokens cut runs of one prompt between steps;
// chunks of 1000 hold all 650 tokens, which graph mode replays in two pieces (its largest bucket
// is 512 tokens) with the second prompt's run cut between them.
TEST_P(BatchedPrefill, EveryPromptGetsWhatItGetsAlone) {
    auto [mode, chunk] = GetParam();
    TestModel b = test_model("demo");
    const std::vector<std::vector<int32_t>> prompts = {seeded_tokens(300, 7), seeded_tokens(250, 8), seeded_tokens(100, 9)};
    const auto vocab = static_cast<size_t>(b.model().vocab_size());
    SessionOptions so;
    so.context = 400;
    so.mode = mode;
    so.prefill_chunk = chunk;
    std::vector<Alone> alone;
    for (const auto& p : prompts) alone.push_back(run_alone(b, mode, p, 4));
    so.sequences = 4;
    Session s(b.backend(), b.model(), so);
    ASSERT_TRUE(s.feed_sequence(3, seeded_tokens(5, 1)));  // another sequence's positions stay out of the way
    const std::vector<int32_t> seqs = {2, 0, 1};
    const std::vector<std::span<const int32_t>> spans(prompts.begin(), prompts.end());
    ASSERT_TRUE(s.prefill(seqs, spans));
    auto check = [&](int step) {
        ASSERT_EQ(s.logits().size(), 3 * vocab);
        for (size_t i = 0; i < 3; ++i)
            for (size_t v = 0; v < vocab; ++v) {
                const float want = alone[i].logits[static_cast<size_t>(step)][v];
                ASSERT_NEAR(s.logits()[i * vocab + v], want, 1e-4 * std::max(1.f, std::fabs(want)))
                    << "prompt " << i << " step " << step << " logit " << v;
            }
    };
    check(0);
    if (HasFatalFailure()) return;
    for (int step = 1; step < 4; ++step) {
        std::vector<int32_t> next;
        for (size_t i = 0; i < 3; ++i) next.push_back(alone[i].tokens[static_cast<size_t>(step - 1)]);
        s.decode(seqs, next);
        check(step);
        if (HasFatalFailure()) return;
    }
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(s.n_past(seqs[i]), static_cast<int64_t>(prompts[i].size() + 3));
    EXPECT_EQ(s.n_past(3), 5);
    // Graph mode plans the picked logits for the session's 4 sequences, not for every token of
    // the bucket.
    for (const GraphInfo& g : s.graphs())
        if (g.logits == LogitRows::LastOfEach) {
            EXPECT_LT(g.arena_bytes, static_cast<size_t>(g.tokens) * vocab * sizeof(float)) << g.tokens;
            EXPECT_GE(g.arena_bytes, 4 * vocab * sizeof(float)) << g.tokens;
        }
}

INSTANTIATE_TEST_SUITE_P(Chunks, BatchedPrefill,
                         ::testing::Combine(::testing::Values(ExecMode::Eager, ExecMode::Graph),
                                            ::testing::Values(int64_t{40}, int64_t{1000})),
                         [](const auto& param_info) {
                             return mode_name(std::get<0>(param_info.param)) + "_chunk" +
                                    std::to_string(std::get<1>(param_info.param));
                         });

// Two sequences of `context` positions.
std::unique_ptr<Session> small_session(TestModel& b, int64_t context = 8) {
    SessionOptions so;
    so.context = context;
    so.sequences = 2;
    return std::make_unique<Session>(b.backend(), b.model(), so);
}

TEST(BatchedPrefill, RejectsBadPrompts) {
    TestModel b = test_model("Qwen2ForCausalLM");
    auto session = small_session(b);
    Session& s = *session;
    const std::vector<int32_t> three = {5, 6, 7}, nine = seeded_tokens(9, 1), none;
    using Prompts = std::vector<std::span<const int32_t>>;
    EXPECT_EQ(error_kind([&] { s.prefill(std::vector<int32_t>{1, 1}, Prompts{three, three}); }), ErrorKind::Runtime);
    EXPECT_EQ(error_kind([&] { s.prefill(std::vector<int32_t>{0, 1}, Prompts{three}); }), ErrorKind::Runtime);
    EXPECT_EQ(error_kind([&] { s.prefill(std::vector<int32_t>{0, 1}, Prompts{three, none}); }), ErrorKind::Runtime);
    EXPECT_EQ(error_kind([&] { s.prefill(std::vector<int32_t>{0, 1}, Prompts{three, nine}); }), ErrorKind::Input);
    const std::vector<int32_t> bad = {5, 100000};
    EXPECT_EQ(error_kind([&] { s.prefill(std::vector<int32_t>{0, 1}, Prompts{three, bad}); }), ErrorKind::Input);
    EXPECT_EQ(s.n_past(0), 0);  // a rejected step stores nothing
    EXPECT_EQ(s.n_past(1), 0);
}

TEST(BatchedDecode, RejectsBadSteps) {
    TestModel b = test_model("Qwen2ForCausalLM");
    auto session = small_session(b);
    Session& s = *session;
    const std::vector<int32_t> two = {5, 6};
    EXPECT_EQ(error_kind([&] { s.decode(std::vector<int32_t>{1, 1}, two); }), ErrorKind::Runtime);  // a sequence twice
    EXPECT_EQ(error_kind([&] { s.decode(std::vector<int32_t>{0, 2}, two); }), ErrorKind::Runtime);  // no sequence 2
    EXPECT_EQ(error_kind([&] { s.decode(std::vector<int32_t>{0}, two); }), ErrorKind::Runtime);     // a token each
    EXPECT_EQ(error_kind([&] { s.feed_sequence(-1, two); }), ErrorKind::Runtime);
    ASSERT_TRUE(s.feed_sequence(1, seeded_tokens(8, 4)));
    try {
        s.decode(std::vector<int32_t>{0, 1}, two);
        FAIL() << "a full sequence decoded";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Input);
        EXPECT_NE(std::string(e.what()).find("sequence 1 is full"), std::string::npos) << e.what();
    }
    EXPECT_EQ(s.n_past(0), 0);  // nothing was stored for the other sequence either
    SessionOptions none;
    none.context = 8;
    none.sequences = 0;
    EXPECT_EQ(error_kind([&] { Session bad(b.backend(), b.model(), none); }), ErrorKind::Input);
}

// Five requests through two sequences: requests wait for a free sequence and join the running
// ones' decode steps, yet each gets the greedy tokens it gets alone.
TEST(GenerateBatch, ContinuousBatchingGivesEachRequestItsOwnTokens) {
    TestModel b = test_model("demo");
    for (ExecMode mode : {ExecMode::Eager, ExecMode::Graph}) {
        std::vector<BatchRequest> reqs;
        const int max_tokens[] = {12, 30, 5, 1, 20};
        for (int i = 0; i < 5; ++i) {
            BatchRequest r;
            r.prompt = seeded_tokens(4 + 7 * i, static_cast<uint32_t>(10 + i));
            r.max_tokens = max_tokens[i];
            reqs.push_back(r);
        }
        // Request 4 stops at the first time it would produce its 8th greedy token.
        const Alone four = run_alone(b, mode, reqs[4].prompt, 20);
        reqs[4].eos_ids = {four.tokens[7]};
        const size_t stop_at = static_cast<size_t>(std::find(four.tokens.begin(), four.tokens.end(), four.tokens[7]) -
                                                   four.tokens.begin());
        ASSERT_GT(stop_at, 2u);

        SessionOptions so;
        so.context = 128;
        so.mode = mode;
        so.sequences = 2;
        Session s(b.backend(), b.model(), so);
        SamplingParams sp;
        sp.temperature = 0;
        std::vector<size_t> done;
        const BatchResult res = generate_batch(s, sp, reqs, nullptr, [&](size_t i) { done.push_back(i); });
        ASSERT_EQ(res.outputs.size(), 5u);
        EXPECT_EQ(done.size(), 5u);
        for (size_t i = 0; i < 4; ++i) {
            const Alone a = run_alone(b, mode, reqs[i].prompt, max_tokens[i]);
            EXPECT_EQ(res.outputs[i].tokens, a.tokens) << "request " << i;
            EXPECT_EQ(res.outputs[i].finish_reason, "length");
            EXPECT_GT(res.outputs[i].end_seconds, 0);
        }
        EXPECT_EQ(res.outputs[4].finish_reason, "stop");
        EXPECT_EQ(res.outputs[4].tokens, std::vector<int32_t>(four.tokens.begin(), four.tokens.begin() + static_cast<std::ptrdiff_t>(stop_at)));
        EXPECT_EQ(res.stats.max_running, 2);
        EXPECT_EQ(res.stats.prompt_tokens, 4 * 5 + 7 * 10);
        int64_t generated = 0;
        for (const auto& o : res.outputs) generated += static_cast<int64_t>(o.tokens.size());
        EXPECT_EQ(res.stats.generated_tokens, generated);
        EXPECT_GT(res.stats.decode_tokens_per_second(), 0);
    }
}

TEST(GenerateBatch, CancelEndsEveryRequestStillRunningOrWaiting) {
    TestModel b = test_model("LlamaForCausalLM");
    auto session = small_session(b, 64);
    Session& s = *session;
    std::vector<BatchRequest> reqs(4);
    const int max_tokens[] = {3, 40, 40, 40};
    for (size_t i = 0; i < 4; ++i) {
        reqs[i].prompt = seeded_tokens(5, static_cast<uint32_t>(i));
        reqs[i].max_tokens = max_tokens[i];
    }
    std::atomic<bool> cancel{false};
    SamplingParams sp;
    sp.temperature = 0;
    // The first request to finish pulls the plug.
    const BatchResult res = generate_batch(s, sp, reqs, &cancel, [&](size_t) { cancel = true; });
    EXPECT_EQ(res.outputs[0].finish_reason, "length");
    EXPECT_EQ(res.outputs[0].tokens.size(), 3u);
    for (size_t i = 1; i < 4; ++i) EXPECT_EQ(res.outputs[i].finish_reason, "cancelled") << i;
    EXPECT_LT(res.outputs[1].tokens.size(), 40u);
}

TEST(GenerateBatch, RejectsPromptsThatCannotRun) {
    TestModel b = test_model("Qwen2ForCausalLM");
    auto session = small_session(b, 16);
    Session& s = *session;
    SamplingParams sp;
    std::vector<BatchRequest> reqs(2);
    reqs[0].prompt = seeded_tokens(4, 1);
    reqs[1].prompt = seeded_tokens(17, 2);
    try {
        generate_batch(s, sp, reqs);
        FAIL() << "a 17-token prompt ran in a 16-token sequence";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Input);
        EXPECT_NE(std::string(e.what()).find("request 1: the prompt is 17 tokens"), std::string::npos) << e.what();
    }
    reqs[1].prompt.clear();
    EXPECT_EQ(error_kind([&] { generate_batch(s, sp, reqs); }), ErrorKind::Input);
}

}  // namespace
