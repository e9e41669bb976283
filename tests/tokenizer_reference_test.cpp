// The Qwen3 and gpt-oss reference files (tests/data/tokenizer_vectors/README.md): ids of a
// hand-written corpus, their decodes with and without special tokens, and decodes of arbitrary id
// lists that cut UTF-8 characters apart.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/tokenizer.h"
#include "tests/support/jsonl.h"

namespace {

using nlohmann::json;

std::vector<json> read_jsonl(const std::string& name) { return ascent::test::read_jsonl("tokenizer_vectors/" + name); }

const ascent::Tokenizer& load(const std::string& name) {
    static const ascent::Tokenizer qwen3 = ascent::Tokenizer::from_folder(ASCENT_TEST_UNPACKED "/tokenizers/qwen3");
    static const ascent::Tokenizer gptoss = ascent::Tokenizer::from_folder(ASCENT_TEST_UNPACKED "/tokenizers/gptoss");
    return name == "qwen3" ? qwen3 : gptoss;
}

void check_encode(const std::string& name) {
    const auto& tok = load(name);
    const auto rows = read_jsonl(name + "_reference.jsonl");
    ASSERT_FALSE(rows.empty());
    for (const json& r : rows) {
        const std::string id = r["id"];
        const std::string text = r["text"];
        const auto expected = r["ids"].get<std::vector<int32_t>>();
        EXPECT_EQ(tok.encode(text, {.add_special_tokens = false}), expected) << id;
        // Neither tokenizer's post-processor adds anything.
        EXPECT_EQ(tok.encode(text), expected) << id;
        EXPECT_EQ(tok.decode(expected), r["decoded"].get<std::string>()) << id;
        const std::string skipped = r.value("decoded_skip_special", r["decoded"].get<std::string>());
        EXPECT_EQ(tok.decode(expected, true), skipped) << id;
    }
}

void check_decode(const std::string& name) {
    const auto& tok = load(name);
    const auto rows = read_jsonl(name + "_decode_reference.jsonl");
    ASSERT_FALSE(rows.empty());
    for (const json& r : rows)
        EXPECT_EQ(tok.decode(r["ids"].get<std::vector<int32_t>>()), r["text"].get<std::string>()) << r["id"];
}

TEST(TokenizerReference, Qwen3Encode) { check_encode("qwen3"); }
TEST(TokenizerReference, GptOssEncode) { check_encode("gptoss"); }
TEST(TokenizerReference, Qwen3Decode) { check_decode("qwen3"); }
TEST(TokenizerReference, GptOssDecode) { check_decode("gptoss"); }

TEST(TokenizerReference, Qwen3Metadata) {
    const auto& tok = load("qwen3");
    EXPECT_EQ(tok.family(), "byte-level BPE");
    EXPECT_EQ(tok.vocab_size(), 151669u);
    EXPECT_FALSE(tok.bos_id().has_value());  // bos_token null in tokenizer_config.json
    EXPECT_EQ(tok.eos_id(), 151645);         // <|im_end|>
    EXPECT_EQ(tok.token_id("<|im_start|>"), 151644);
    EXPECT_EQ(tok.token_id("Hello"), 9707);
    EXPECT_FALSE(tok.token_id("no such token here").has_value());
    EXPECT_EQ(tok.token_text(220), "\xC4\xA0");  // "Ġ", a space in byte-level form
    EXPECT_EQ(tok.token_text(151667), "<think>");
    EXPECT_TRUE(tok.is_special(151644));
    EXPECT_FALSE(tok.is_special(151667));  // <think> is an added token, not a special one
    EXPECT_FALSE(tok.is_special(9707));
}

TEST(TokenizerReference, GptOssMetadata) {
    const auto& tok = load("gptoss");
    EXPECT_EQ(tok.family(), "byte-level BPE");
    EXPECT_EQ(tok.vocab_size(), 200019u);
    EXPECT_EQ(tok.bos_id(), 199998);  // <|startoftext|>
    EXPECT_EQ(tok.eos_id(), 200002);  // <|return|>
    EXPECT_EQ(tok.token_id("<|channel|>"), 200005);
    EXPECT_TRUE(tok.is_special(200005));
}

// --no-special: the special tokens' text is encoded like any other text.
TEST(TokenizerReference, NoSpecialEncodesSpecialTokensAsText) {
    const auto& tok = load("qwen3");
    const std::string text = "<|im_start|>user";
    EXPECT_EQ(tok.encode(text), (std::vector<int32_t>{151644, 872}));
    const auto plain = tok.encode(text, {.parse_special = false});
    EXPECT_EQ(plain, tok.encode("<|im_start|>user", {.parse_special = false}));
    EXPECT_GT(plain.size(), 2u);
    for (int32_t id : plain) EXPECT_FALSE(tok.is_special(id));
    EXPECT_EQ(tok.decode(plain), text);
    // Added tokens that are not special (<think>) are still recognized.
    EXPECT_EQ(tok.encode("<think>", {.parse_special = false}), (std::vector<int32_t>{151667}));
}

}  // namespace
