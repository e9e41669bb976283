// The Llama/Qwen2 forward pass: against an independent double-precision reference, prefill as a
// batch against token by token, and the loader's checks of what the folder holds.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/backend.h"
#include "engine/error.h"
#include "engine/session.h"
#include "engine/weight_binder.h"
#include "models/registry.h"
#include "tests/support/reference_llama.h"
#include "tests/support/built_model.h"
#include "tests/support/tiny_model.h"

using namespace ascent;
using namespace ascent::test;

namespace {

using Built = BuiltModel;

Built build(const std::filesystem::path& folder, int threads = 2) { return build_model_folder(folder, threads); }

std::vector<int32_t> sample_tokens(int n, int vocab, uint32_t seed) {
    std::vector<int32_t> t;
    uint32_t x = seed;
    for (int i = 0; i < n; ++i) {
        x = x * 1664525u + 1013904223u;
        t.push_back(static_cast<int32_t>(x % static_cast<uint32_t>(vocab)));
    }
    return t;
}

std::vector<float> all_logits(Built& b, const std::vector<int32_t>& tokens, int64_t chunk) {
    SessionOptions so;
    so.context = 256;
    so.prefill_chunk = chunk;
    Session s(*b.backend, *b.model, so);
    EXPECT_TRUE(s.feed(tokens, true));
    return s.logits();
}

std::vector<float> token_by_token(Built& b, const std::vector<int32_t>& tokens) {
    SessionOptions so;
    so.context = 256;
    Session s(*b.backend, *b.model, so);
    std::vector<float> out;
    for (int32_t t : tokens) {
        EXPECT_TRUE(s.feed(std::span<const int32_t>(&t, 1)));
        out.insert(out.end(), s.logits().begin(), s.logits().end());
    }
    return out;
}

// |a - b| within tol of the row's largest magnitude: logits are compared as a distribution.
void expect_rows_close(const std::vector<float>& a, const std::vector<float>& b, size_t vocab, double tol) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t r = 0; r < a.size() / vocab; ++r) {
        double scale = 1e-3;
        for (size_t i = 0; i < vocab; ++i) scale = std::max(scale, static_cast<double>(std::fabs(b[r * vocab + i])));
        for (size_t i = 0; i < vocab; ++i)
            ASSERT_NEAR(a[r * vocab + i], b[r * vocab + i], tol * scale) << "row " << r << " logit " << i;
    }
}

TEST(LlamaModel, DemoLogitsMatchLlama2cReference) {
    std::ifstream in(std::string(ASCENT_TEST_DATA) + "/stories260K/logits_reference.jsonl");
    std::string line;
    int records = 0;
    Built b = build(demo_model());
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        auto ids = j["ids"].get<std::vector<int32_t>>();
        std::vector<float> want;
        for (const auto& row : j["logits"])
            for (double v : row) want.push_back(static_cast<float>(v));
        expect_rows_close(all_logits(b, ids, 512), want, 512, 1e-5);
        expect_rows_close(token_by_token(b, ids), want, 512, 1e-5);
        ++records;
    }
    EXPECT_GT(records, 0);
}

class TinyModel : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};

TEST_P(TinyModel, MatchesReferenceAndBatchEqualsTokenByToken) {
    auto [arch, dtype] = GetParam();
    TinyModelSpec spec;
    spec.architecture = arch;
    spec.dtype = dtype;
    spec.tie_embeddings = arch == "Qwen2ForCausalLM";
    spec.attention_bias = arch == "LlamaForCausalLM";
    spec.hidden = 48;
    spec.heads = 6;
    spec.kv_heads = 2;
    spec.intermediate = 72;
    spec.seed = 7;
    auto dir = make_tiny_model(test_tmp("tiny_" + arch + std::string(dtype_name(dtype))), spec);
    Built b = build(dir);
    const auto tokens = sample_tokens(23, spec.vocab, 11);
    const auto batch = all_logits(b, tokens, 512);
    const auto chunked = all_logits(b, tokens, 5);  // chunk edges inside the prompt
    const auto single = token_by_token(b, tokens);
    // Prefill and decode compute the same products (BF16 weights: activations rounded to BF16 in
    // both); only the order of the f32 sums differs. With BF16 weights that order can also flip
    // an activation's rounding to BF16 (a 2^-8 step) in the next product: NEON's packed prefill
    // (sums in order of k) and its decode (4 x 2 partial sums) then differed by 1.1e-4 of a row's
    // largest logit.
    const double same_products = dtype == DType::BF16 ? 1e-3 : 1e-4;
    expect_rows_close(batch, single, static_cast<size_t>(spec.vocab), same_products);
    expect_rows_close(chunked, single, static_cast<size_t>(spec.vocab), same_products);

    const auto ref = reference_llama_logits(dir, tokens);
    std::vector<float> want;
    for (const auto& row : ref)
        for (double v : row) want.push_back(static_cast<float>(v));
    // The reference works in double on the same weights, activations unrounded: against BF16
    // weights the engine rounds activations to BF16 once per product (as llama.cpp does), so the
    // two agree to BF16 precision only.
    const double tol = dtype == DType::BF16 ? 1e-2 : 1e-4;
    expect_rows_close(batch, want, static_cast<size_t>(spec.vocab), tol);
    expect_rows_close(single, want, static_cast<size_t>(spec.vocab), tol);
}

INSTANTIATE_TEST_SUITE_P(Architectures, TinyModel,
                         ::testing::Combine(::testing::Values("Qwen2ForCausalLM", "LlamaForCausalLM"),
                                            ::testing::Values(DType::F32, DType::BF16, DType::F16)),
                         [](const auto& p) {
                             return std::get<0>(p.param).substr(0, 5) + std::string(dtype_name(std::get<1>(p.param)));
                         });

TEST(LlamaModel, ShardedFolderGivesTheSameLogits) {
    TinyModelSpec spec;
    auto one = make_tiny_model(test_tmp("tiny_single"), spec);
    spec.shard_bytes = 40000;
    auto sharded = make_tiny_model(test_tmp("tiny_sharded"), spec);
    ASSERT_TRUE(std::filesystem::exists(sharded / "model.safetensors.index.json"));
    const auto tokens = sample_tokens(9, spec.vocab, 3);
    Built a = build(one), b = build(sharded);
    EXPECT_EQ(all_logits(a, tokens, 512), all_logits(b, tokens, 512));
}

TEST(LlamaModel, ThreadCountDoesNotChangeResults) {
    auto dir = make_tiny_model(test_tmp("tiny_threads"), TinyModelSpec{});
    const auto tokens = sample_tokens(17, 512, 5);
    Built one = build(dir, 1), two = build(dir, 2);
    EXPECT_EQ(all_logits(one, tokens, 512), all_logits(two, tokens, 512));
}

std::string load_error(const std::filesystem::path& dir) {
    try {
        build(dir);
    } catch (const Error& e) {
        EXPECT_EQ(e.exit_code(), 2);
        return e.what();
    }
    return "";
}

TEST(LlamaModel, MissingTensorIsNamed) {
    auto dir = make_tiny_model(test_tmp("tiny_missing"), TinyModelSpec{});  // tied: no lm_head stored
    auto cfg = nlohmann::json::parse(std::ifstream(dir / "config.json"));
    cfg["tie_word_embeddings"] = false;
    std::ofstream(dir / "config.json") << cfg.dump();
    const auto msg = load_error(dir);
    EXPECT_NE(msg.find("lm_head.weight"), std::string::npos) << msg;
}

TEST(LlamaModel, UnexpectedTensorIsNamed) {
    TinyModelSpec spec;
    spec.tie_embeddings = false;
    auto dir = make_tiny_model(test_tmp("tiny_extra"), spec);
    auto cfg = nlohmann::json::parse(std::ifstream(dir / "config.json"));
    cfg["tie_word_embeddings"] = true;  // lm_head is then the embedding: a stored one is fine
    std::ofstream(dir / "config.json") << cfg.dump();
    EXPECT_EQ(load_error(dir), "");
    cfg["num_hidden_layers"] = 1;  // layer 1's tensors are now unknown
    std::ofstream(dir / "config.json") << cfg.dump();
    const auto msg = load_error(dir);
    EXPECT_NE(msg.find("does not use"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model.layers.1."), std::string::npos) << msg;
}

TEST(LlamaModel, ShapeMismatchNamesTensorAndShapes) {
    auto dir = make_tiny_model(test_tmp("tiny_shape"), TinyModelSpec{});
    auto cfg = nlohmann::json::parse(std::ifstream(dir / "config.json"));
    cfg["intermediate_size"] = 100;
    std::ofstream(dir / "config.json") << cfg.dump();
    const auto msg = load_error(dir);
    EXPECT_NE(msg.find("mlp.gate_proj.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[96, 64]"), std::string::npos) << msg;
}

TEST(LlamaModel, BadConfigFieldsAreNamed) {
    auto dir = make_tiny_model(test_tmp("tiny_badcfg"), TinyModelSpec{});
    auto cfg = nlohmann::json::parse(std::ifstream(dir / "config.json"));
    auto with = [&](const char* key, nlohmann::json value) {
        auto c = cfg;
        if (value.is_null()) c.erase(key); else c[key] = value;
        std::ofstream(dir / "config.json") << c.dump();
        return load_error(dir);
    };
    EXPECT_NE(with("hidden_size", nullptr).find("\"hidden_size\" is missing"), std::string::npos);
    EXPECT_NE(with("num_attention_heads", "four").find("must be an integer"), std::string::npos);
    EXPECT_NE(with("num_key_value_heads", 3).find("not a multiple"), std::string::npos);
    EXPECT_NE(with("architectures", nlohmann::json::array({"MambaForCausalLM"})).find("not supported"), std::string::npos);
    EXPECT_NE(with("rope_scaling", nlohmann::json{{"type", "yarn"}}).find("rope_scaling"), std::string::npos);
    std::ofstream(dir / "config.json") << "{ not json";
    EXPECT_NE(load_error(dir).find("invalid JSON"), std::string::npos);
}

TEST(Session, RejectsWhatDoesNotFit) {
    auto dir = make_tiny_model(test_tmp("tiny_ctx"), TinyModelSpec{});
    Built b = build(dir);
    SessionOptions so;
    so.context = 8;
    Session s(*b.backend, *b.model, so);
    auto tokens = sample_tokens(9, 512, 1);
    EXPECT_THROW(s.feed(tokens), Error);
    EXPECT_EQ(s.n_past(), 0);
    std::vector<int32_t> bad{600};
    EXPECT_THROW(s.feed(bad), Error);
    tokens.resize(8);
    EXPECT_TRUE(s.feed(tokens));
    s.rewind(3);
    EXPECT_EQ(s.n_past(), 3);
}

TEST(Session, CancelStopsBetweenChunks) {
    auto dir = make_tiny_model(test_tmp("tiny_cancel"), TinyModelSpec{});
    Built b = build(dir);
    SessionOptions so;
    so.context = 64;
    so.prefill_chunk = 4;
    Session s(*b.backend, *b.model, so);
    std::atomic<bool> cancel{true};
    EXPECT_FALSE(s.feed(sample_tokens(20, 512, 2), false, &cancel));
    EXPECT_EQ(s.n_past(), 0);
}

}  // namespace
