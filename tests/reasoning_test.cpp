// Reasoning kept apart from the answer while text streams in arbitrary pieces.
#include <gtest/gtest.h>

#include "engine/reasoning.h"

using namespace ascent;

namespace {

// Feeds `text` in pieces of `step` bytes and returns everything the splitter produced.
SplitText run(ReasoningFormat f, std::string_view prompt, std::string_view text, size_t step) {
    ReasoningSplitter s(f, prompt);
    SplitText all;
    for (size_t i = 0; i < text.size(); i += step) {
        auto part = s.push(text.substr(i, step));
        all.content += part.content;
        all.reasoning += part.reasoning;
    }
    auto part = s.finish();
    all.content += part.content;
    all.reasoning += part.reasoning;
    return all;
}

TEST(Reasoning, DetectsTheConvention) {
    EXPECT_EQ(detect_reasoning_format("{{ '<think>\\n' }}"), ReasoningFormat::ThinkTags);
    EXPECT_EQ(detect_reasoning_format("<|start|>assistant<|channel|>final"), ReasoningFormat::Harmony);
    EXPECT_EQ(detect_reasoning_format("<|im_start|>assistant\\n"), ReasoningFormat::None);
}

TEST(Reasoning, ThinkBlockAtTheStartInAnyPieceSize) {
    const std::string text = "<think>\nLet me add 2 and 2.\n</think>\n\nThe answer is 4.";
    for (size_t step : {1, 2, 3, 7, 100}) {
        auto r = run(ReasoningFormat::ThinkTags, "<|im_start|>assistant\n", text, step);
        EXPECT_EQ(r.reasoning, "\nLet me add 2 and 2.\n") << step;
        EXPECT_EQ(r.content, "The answer is 4.") << step;
    }
}

TEST(Reasoning, TemplateThatOpensTheBlockInThePrompt) {
    // Qwen3.x and DeepSeek-R1 templates end the prompt inside <think>: the output has only </think>.
    for (size_t step : {1, 4, 50}) {
        auto r = run(ReasoningFormat::ThinkTags, "<|im_start|>assistant\n<think>\n", "hmm, 4.\n</think>\n\n4", step);
        EXPECT_EQ(r.reasoning, "hmm, 4.\n");
        EXPECT_EQ(r.content, "4");
    }
}

TEST(Reasoning, NoBlockMeansEverythingIsTheAnswer) {
    for (size_t step : {1, 3, 64}) {
        auto r = run(ReasoningFormat::ThinkTags, "assistant\n", "<thin air> is fine, 2 < 3", step);
        EXPECT_EQ(r.content, "<thin air> is fine, 2 < 3");
        EXPECT_EQ(r.reasoning, "");
    }
}

TEST(Reasoning, UnfinishedReasoningStaysReasoning) {
    auto r = run(ReasoningFormat::ThinkTags, "", "<think>still going </thi", 2);
    EXPECT_EQ(r.reasoning, "still going </thi");
    EXPECT_EQ(r.content, "");
}

TEST(Reasoning, HarmonyChannels) {
    const std::string text =
        "<|channel|>analysis<|message|>User says hi. Reply.<|end|><|start|>assistant<|channel|>final<|message|>"
        "Hello there!<|return|>";
    for (size_t step : {1, 5, 13, 400}) {
        auto r = run(ReasoningFormat::Harmony, "<|start|>assistant", text, step);
        EXPECT_EQ(r.reasoning, "User says hi. Reply.") << step;
        EXPECT_EQ(r.content, "Hello there!") << step;
    }
}

TEST(Reasoning, NoneFormatPassesEverything) {
    auto r = run(ReasoningFormat::None, "", "<think>x</think>y", 3);
    EXPECT_EQ(r.content, "<think>x</think>y");
}

}  // namespace
