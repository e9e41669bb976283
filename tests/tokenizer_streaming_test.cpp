// StreamingDecoder: pushing ids one at a time must give exactly the full decode, with text that
// ends inside a UTF-8 character held back until the character is complete.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/tokenizer.h"
#include "tests/support/jsonl.h"

namespace {

using nlohmann::json;
using ascent::StreamingDecoder;
using ascent::Tokenizer;

std::vector<json> read_jsonl(const std::string& name) { return ascent::test::read_jsonl("tokenizer_vectors/" + name); }

const Tokenizer& load(const std::string& name) {
    static const Tokenizer qwen3 = Tokenizer::from_folder(ASCENT_TEST_UNPACKED "/tokenizers/qwen3");
    static const Tokenizer gptoss = Tokenizer::from_folder(ASCENT_TEST_UNPACKED "/tokenizers/gptoss");
    return name == "qwen3" ? qwen3 : gptoss;
}

bool complete_utf8(const std::string& s) {
    // No chunk may end in the middle of a character.
    size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        const size_t len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
        if (i + len > s.size()) return false;
        i += len;
    }
    return true;
}

std::string stream(const Tokenizer& tok, const std::vector<int32_t>& prefix, const std::vector<int32_t>& ids,
                   bool skip_special) {
    StreamingDecoder dec(tok, prefix, skip_special);
    std::string out;
    for (int32_t id : ids) {
        const std::string chunk = dec.push(id);
        EXPECT_TRUE(complete_utf8(chunk));
        out += chunk;
    }
    return out + dec.finish();
}

void check_all_cases(const std::string& name) {
    const Tokenizer& tok = load(name);
    std::vector<std::vector<int32_t>> cases;
    for (const json& r : read_jsonl(name + "_reference.jsonl")) cases.push_back(r["ids"].get<std::vector<int32_t>>());
    for (const json& r : read_jsonl(name + "_decode_reference.jsonl")) cases.push_back(r["ids"].get<std::vector<int32_t>>());
    ASSERT_FALSE(cases.empty());
    for (const auto& ids : cases) {
        for (bool skip : {false, true}) {
            EXPECT_EQ(stream(tok, {}, ids, skip), tok.decode(ids, skip)) << name << " " << json(ids).dump();
            // With a prompt before it: the text after the prompt's own text.
            for (size_t cut : {size_t{1}, ids.size() / 2}) {
                if (cut == 0 || cut >= ids.size()) continue;
                const std::vector<int32_t> prefix(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(cut));
                const std::vector<int32_t> rest(ids.begin() + static_cast<std::ptrdiff_t>(cut), ids.end());
                const std::string full = tok.decode(ids, skip), head = tok.decode(prefix, skip);
                // Only meaningful when the prompt itself ends on a character boundary.
                if (full.compare(0, head.size(), head) != 0) continue;
                EXPECT_EQ(stream(tok, prefix, rest, skip), full.substr(head.size())) << name << " cut " << cut;
            }
        }
    }
}

TEST(TokenizerStreaming, Qwen3EveryReferenceCase) { check_all_cases("qwen3"); }
TEST(TokenizerStreaming, GptOssEveryReferenceCase) { check_all_cases("gptoss"); }

TEST(TokenizerStreaming, HoldsBackSplitCharacter) {
    // " this is 🦙.": 11162 is a space plus the first two bytes of the 4-byte llama emoji, 99 its
    // third byte, 247 its last.
    const Tokenizer& tok = load("qwen3");
    const auto ids = tok.encode(" this is 🦙.");
    ASSERT_EQ(ids, (std::vector<int32_t>{419, 374, 11162, 99, 247, 13}));
    StreamingDecoder dec(tok, {});
    EXPECT_EQ(dec.push(419), " this");
    EXPECT_EQ(dec.push(374), " is");
    EXPECT_EQ(dec.push(11162), "");  // " " + two bytes of four: nothing is final yet
    EXPECT_EQ(dec.push(99), "");     // three bytes of four
    EXPECT_EQ(dec.push(247), " 🦙");
    EXPECT_EQ(dec.push(13), ".");
    EXPECT_EQ(dec.finish(), "");
}

TEST(TokenizerStreaming, FinishFlushesIncompleteCharacterAsReplacement) {
    const Tokenizer& tok = load("qwen3");
    StreamingDecoder dec(tok, {});
    EXPECT_EQ(dec.push(419), " this");
    EXPECT_EQ(dec.push(11162), "");
    EXPECT_EQ(dec.push(99), "");
    EXPECT_EQ(dec.finish(), " \xEF\xBF\xBD");  // one U+FFFD for the truncated character
    EXPECT_EQ(tok.decode(std::vector<int32_t>{419, 11162, 99}), " this \xEF\xBF\xBD");
}

TEST(TokenizerStreaming, PromptEndingInsideCharacterCompletesLater) {
    // The prompt stops after the first three bytes of the emoji; the generated token finishes it.
    const Tokenizer& tok = load("qwen3");
    StreamingDecoder dec(tok, {419, 374, 11162, 99});
    EXPECT_EQ(dec.push(247), " 🦙");
    EXPECT_EQ(dec.push(13), ".");
    EXPECT_EQ(dec.finish(), "");
}

TEST(TokenizerStreaming, SpecialTokensStreamOrSkip) {
    const Tokenizer& tok = load("gptoss");
    const auto ids = tok.encode("<|start|>assistant<|message|>Hi<|end|>");
    EXPECT_EQ(stream(tok, {}, ids, false), "<|start|>assistant<|message|>Hi<|end|>");
    EXPECT_EQ(stream(tok, {}, ids, true), "assistantHi");
}

TEST(TokenizerStreaming, LongGenerationStaysExact) {
    // Many tokens: the window must keep sliding and never lose or repeat text.
    const Tokenizer& tok = load("qwen3");
    std::string text;
    for (int i = 0; i < 200; ++i) text += "第" + std::to_string(i) + "行: 🦙 naïve café — ok!\n";
    const auto ids = tok.encode(text);
    EXPECT_EQ(stream(tok, {}, ids, false), text);
}

}  // namespace
