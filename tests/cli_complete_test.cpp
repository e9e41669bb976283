// `ascent complete`, `tokenize` and `info` through the real binary, as a user or a script runs
// them: pipes in and out, JSON parsed back, a reader that goes away, Ctrl-C, and bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/run_process.h"
#include "tests/support/tiny_model.h"

using namespace ascent::test;
using nlohmann::json;

namespace {

const std::string kDemo = ascent::test::demo_model().string();
// Greedy continuation of "Once upon a time" by llama2.c's run.c (generate_reference.jsonl).
const std::string kContinuation = ", there was a little girl named Lily. She loved to play outside in the park.";

TEST(CliComplete, PipeInPipeOut) {
    auto r = run_ascent({"complete", "--temperature", "0", "-n", "20"}, {.stdin_data = "Once upon a time\n"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.substr(0, 40), kContinuation.substr(0, 40));
    EXPECT_EQ(r.err, "");
}

TEST(CliComplete, PromptArgumentAndStopString) {
    auto r = run_ascent({"complete", "-m", kDemo, "--temperature", "0", "--stop", "Lily", "Once upon a time"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, ", there was a little girl named ");
}

TEST(CliComplete, JsonIsOneTextCompletionObject) {
    auto plain = run_ascent({"complete", "--temperature", "0", "-n", "12", "Once upon a time"});
    auto r = run_ascent({"complete", "--temperature", "0", "-n", "12", "--json", "Once upon a time"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["object"], "text_completion");
    EXPECT_EQ(j["choices"][0]["text"], plain.out);
    EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
    EXPECT_TRUE(j["choices"][0]["logprobs"].is_null());
    EXPECT_EQ(j["usage"]["prompt_tokens"], 5);
    EXPECT_EQ(j["usage"]["completion_tokens"], 12);
    EXPECT_EQ(j["usage"]["total_tokens"], 17);
}

TEST(CliComplete, LogprobsAndEcho) {
    auto r = run_ascent({"complete", "--temperature", "0", "-n", "6", "--json", "--logprobs", "3", "--echo",
                         "Once upon a time"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    auto lp = j["choices"][0]["logprobs"];
    ASSERT_EQ(lp["tokens"].size(), 11u);  // 5 prompt tokens (BOS included) + 6 generated
    EXPECT_TRUE(lp["token_logprobs"][0].is_null());
    EXPECT_TRUE(j["choices"][0]["text"].get<std::string>().starts_with("Once upon a time,"));
    for (size_t i = 1; i < 11; ++i) {
        ASSERT_EQ(lp["top_logprobs"][i].size(), 3u) << i;
        EXPECT_LE(lp["token_logprobs"][i].get<double>(), 0.0);
    }
    // Greedy: every generated token is the most likely one.
    for (size_t i = 5; i < 11; ++i) {
        double best = -1e9;
        for (auto& [tok, v] : lp["top_logprobs"][i].items()) best = std::max(best, v.get<double>());
        EXPECT_DOUBLE_EQ(lp["token_logprobs"][i].get<double>(), best) << i;
    }
}

TEST(CliComplete, StatsGoToStderr) {
    auto r = run_ascent({"complete", "--temperature", "0", "-n", "8", "--stats", "Once upon a time"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* key : {"prompt tokens:", "generated tokens:", "load time:", "TTFT:", "prefill:", "decode:",
                            "time per token:", "peak memory:"})
        EXPECT_NE(r.err.find(key), std::string::npos) << key << "\n" << r.err;
    EXPECT_EQ(r.out.find("TTFT"), std::string::npos);
}

TEST(CliComplete, ClosedStdoutEndsQuietly) {
    auto r = run_ascent({"complete", "--ignore-eos", "-n", "400", "--temperature", "0", "Once upon a time"},
                        {.stdout_limit = 10});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.signal, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out.size(), 10u);
}

TEST(CliComplete, CtrlCStopsGenerationKeepsOutputAndExits130) {
    TinyModelSpec spec;
    spec.hidden = 256;
    spec.intermediate = 512;
    spec.heads = 8;
    spec.kv_heads = 4;
    spec.layers = 4;
    spec.max_positions = 8192;
    auto dir = make_tiny_model(test_tmp("cli_sigint"), spec);
    auto r = run_ascent({"complete", "-m", dir.string(), "--ignore-eos", "-n", "8000", "--ctx", "8192",
                         "--temperature", "1", "--seed", "1", "Once upon a time"},
                        {.sigint_after_bytes = 1, .timeout_ms = 60000});
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 130) << r.err;
    EXPECT_FALSE(r.out.empty());
    EXPECT_EQ(r.err.find("error"), std::string::npos) << r.err;
}

void expect_input_error(const RunResult& r, const std::string& needle) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(r.err.starts_with("ascent: error: ")) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "missing '" << needle << "' in: " << r.err;
    EXPECT_EQ(r.out, "");
}

TEST(CliComplete, BadModelFolders) {
    expect_input_error(run_ascent({"complete", "-m", "/nonexistent/model", "hi"}), "/nonexistent/model");
    expect_input_error(run_ascent({"complete", "-m", "NoSuchOrg/NoSuchModel", "hi"}), "modelscope download");

    auto empty = test_tmp("cli_empty");
    expect_input_error(run_ascent({"complete", "-m", empty.string(), "hi"}), "config.json is missing");

    auto truncated = make_tiny_model(test_tmp("cli_truncated"), TinyModelSpec{});
    std::filesystem::resize_file(truncated / "model.safetensors", 1000);
    expect_input_error(run_ascent({"complete", "-m", truncated.string(), "hi"}), "model.safetensors");

    auto no_tok = make_tiny_model(test_tmp("cli_notok"), TinyModelSpec{});
    std::filesystem::remove(no_tok / "tokenizer.json");
    expect_input_error(run_ascent({"complete", "-m", no_tok.string(), "hi"}), "tokenizer.json");

    auto bad_cfg = make_tiny_model(test_tmp("cli_badcfg"), TinyModelSpec{});
    std::ofstream(bad_cfg / "config.json") << R"({"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64})";
    expect_input_error(run_ascent({"complete", "-m", bad_cfg.string(), "hi"}), "num_hidden_layers");
}

TEST(CliComplete, BadInput) {
    expect_input_error(run_ascent({"complete"}, {.stdin_data = "caf\xc3"}), "not valid UTF-8");
    expect_input_error(run_ascent({"complete", "--ctx", "8", "Once upon a time there was a very long prompt"}),
                       "context");
    expect_input_error(run_ascent({"complete", "--ctx", "100000", "hi"}), "maximum context");
    expect_input_error(run_ascent({"complete", "--device", "npu", "hi"}), "NPU");
    expect_input_error(run_ascent({"complete", "--temperature", "-1", "hi"}), "temperature");
    expect_input_error(run_ascent({"complete", "--no-such-flag"}), "no-such-flag");
    expect_input_error(run_ascent({"complete", "--logprobs", "2", "hi"}), "--json");
    expect_input_error(run_ascent({"complete", "hi"}, {.env = {{"ASCENT_DECODE_PREFETCH", "4k"}}}),
                       "ASCENT_DECODE_PREFETCH=4k");
}

TEST(CliTokenize, JsonIdsAndNoWeightsNeeded) {
    auto r = run_ascent({"tokenize", "--json", "Hello world"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out), json::parse("[1,346,306,414,263,304,341]"));

    auto dir = test_tmp("cli_tokonly");
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
        std::filesystem::copy_file(std::filesystem::path(kDemo) / f, dir / f);
    auto r2 = run_ascent({"tokenize", "-m", dir.string(), "--json", "-"}, {.stdin_data = "Lily and Tom went to the park."});
    ASSERT_EQ(r2.exit_code, 0) << r2.err;
    EXPECT_EQ(json::parse(r2.out), json::parse("[1,317,269,274,287,263,377,267,265,282,295,433,426]"));
}

TEST(CliInfo, DescribesTheDemoModel) {
    auto r = run_ascent({"info", "--json", "--ctx", "256"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["architecture"], "LlamaForCausalLM");
    EXPECT_EQ(j["parameters"], 260032);  // 512x64 embedding (tied) + 5 x 45,440 + 64
    EXPECT_EQ(j["dtypes"], "F32");
    EXPECT_EQ(j["max_context"], 512);
    EXPECT_EQ(j["context"], 256);
    EXPECT_EQ(j["kv_cache_bytes"], 2 * 5 * 256 * 32 * 4);
    EXPECT_EQ(j["tokenizer"], "SentencePiece BPE");
    EXPECT_EQ(j["chat_template"], false);
    auto text = run_ascent({"info"});
    EXPECT_NE(text.out.find("LlamaForCausalLM"), std::string::npos);
}

}  // namespace
