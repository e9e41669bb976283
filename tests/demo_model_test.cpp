// The bundled demo model end to end through the library: tokenizer, model, greedy sampling and
// streaming decode must reproduce llama2.c's run.c output exactly.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/generate.h"
#include "models/loader.h"
#include "tests/support/tiny_model.h"

using namespace ascent;

namespace {

std::unique_ptr<models::LoadedModel> demo() {
    return models::load_model(test::demo_model(), BackendOptions{"cpu", 2});
}

TEST(DemoModel, EncodingsMatchLlama2c) {
    auto m = demo();
    std::ifstream in(std::string(ASCENT_TEST_DATA) + "/stories260K/encode_reference.jsonl");
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        EXPECT_EQ(m->tokenizer->encode(j["text"].get<std::string>()), j["ids"].get<std::vector<int32_t>>())
            << j["text"];
        ++n;
    }
    EXPECT_EQ(n, 4);
}

TEST(DemoModel, GreedyGenerationMatchesLlama2c) {
    auto m = demo();
    std::ifstream in(std::string(ASCENT_TEST_DATA) + "/stories260K/generate_reference.jsonl");
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        const auto want_ids = j["ids"].get<std::vector<int32_t>>();
        const int steps = j["steps"].get<int>();
        SessionOptions so;
        so.context = 512;
        Session s(*m->backend, *m->model, so);
        SamplingParams sp;
        sp.temperature = 0;
        Sampler sampler(sp);
        GenerateRequest req;
        req.prompt = m->tokenizer->encode(j["prompt"].get<std::string>());
        // run.c feeds `steps` positions and prints the token the last one predicts.
        req.max_tokens = steps + 1 - static_cast<int>(req.prompt.size());
        req.eos_ids = m->eos_ids();
        std::string streamed;
        auto r = generate(s, *m->tokenizer, sampler, req, [&](std::string_view piece) {
            streamed += piece;
            return true;
        });
        std::vector<int32_t> ids = req.prompt;
        ids.insert(ids.end(), r.tokens.begin(), r.tokens.end());
        EXPECT_EQ(ids, want_ids) << j["prompt"];
        // run.c prints the prompt and the continuation; the continuation streams on its own.
        const std::string prompt_text = m->tokenizer->decode(req.prompt, true);
        EXPECT_EQ(prompt_text + streamed, j["text"].get<std::string>());
        EXPECT_EQ(r.text, streamed);
        ++n;
    }
    EXPECT_EQ(n, 2);
}

TEST(DemoModel, StopStringsCutTheTextAndAreNotPrinted) {
    auto m = demo();
    SessionOptions so;
    so.context = 512;
    Session s(*m->backend, *m->model, so);
    SamplingParams sp;
    sp.temperature = 0;
    Sampler sampler(sp);
    GenerateRequest req;
    req.prompt = m->tokenizer->encode("Once upon a time");
    req.max_tokens = 100;
    req.stop = {"Lily."};
    std::string streamed;
    auto r = generate(s, *m->tokenizer, sampler, req, [&](std::string_view p) {
        streamed += p;
        return true;
    });
    EXPECT_EQ(r.finish_reason, "stop");
    EXPECT_EQ(streamed, ", there was a little girl named ");
    EXPECT_EQ(r.text, streamed);
}

TEST(DemoModel, SeededSamplingIsReproducible) {
    auto m = demo();
    auto run = [&](uint64_t seed) {
        SessionOptions so;
        so.context = 512;
        Session s(*m->backend, *m->model, so);
        SamplingParams sp;
        sp.temperature = 1.0f;
        sp.top_k = 0;
        sp.top_p = 0.9f;
        sp.min_p = 0.f;
        sp.seed = seed;
        Sampler sampler(sp);
        GenerateRequest req;
        req.prompt = m->tokenizer->encode("Once upon a time");
        req.max_tokens = 40;
        return generate(s, *m->tokenizer, sampler, req).tokens;
    };
    EXPECT_EQ(run(42), run(42));
    EXPECT_NE(run(42), run(43));
}

}  // namespace
