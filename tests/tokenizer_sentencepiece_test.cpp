// The SentencePiece BPE family: the bundled demo model's tokenizer against llama2.c's own encoder,
// and small hand-made files (tests/data/tokenizers/small/README.md lists their vocabulary and merges)
// whose expected ids were derived by hand from the Hugging Face tokenizers source. Each case says how.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/tokenizer.h"

namespace {

using ascent::EncodeOptions;
using ascent::StreamingDecoder;
using ascent::Tokenizer;
using Ids = std::vector<int32_t>;
using nlohmann::json;

constexpr EncodeOptions kNoSpecials{.add_special_tokens = false};

Tokenizer small(const std::string& name) {
    return Tokenizer::from_files(std::string(ASCENT_TEST_DATA) + "/tokenizers/small/" + name, "");
}

std::vector<json> read_jsonl(const std::string& path) {
    std::ifstream in(path);
    EXPECT_TRUE(in) << path;
    std::vector<json> rows;
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) rows.push_back(json::parse(line));
    return rows;
}

std::string stream(const Tokenizer& tok, const Ids& ids, bool skip_special) {
    StreamingDecoder dec(tok, {}, skip_special);
    std::string out;
    for (int32_t id : ids) out += dec.push(id);
    return out + dec.finish();
}

// ---- The demo model (llama2.c stories260K converted to tokenizer.json) ----

const std::filesystem::path kDemo = std::filesystem::path(ASCENT_SOURCE_DIR) / "models/demo/stories260K";

TEST(TokenizerSentencePiece, DemoModelMatchesLlama2cEncoder) {
    if (!std::filesystem::exists(kDemo / "tokenizer.json")) GTEST_SKIP() << "demo model not converted yet";
    const Tokenizer tok = Tokenizer::from_folder(kDemo);
    EXPECT_EQ(tok.family(), "SentencePiece BPE");
    EXPECT_EQ(tok.bos_id(), 1);
    EXPECT_EQ(tok.eos_id(), 2);
    EXPECT_EQ(tok.vocab_size(), 512u);
    const auto rows = read_jsonl(std::string(ASCENT_TEST_DATA) + "/stories260K/encode_reference.jsonl");
    ASSERT_FALSE(rows.empty());
    for (const json& r : rows) {
        // llama2.c encode(text, bos=1, eos=0): the post-processor's <s> is the BOS.
        EXPECT_EQ(tok.encode(r["text"].get<std::string>()), r["ids"].get<Ids>()) << r["text"];
    }
}

TEST(TokenizerSentencePiece, DemoModelDecodesLlama2cOutput) {
    if (!std::filesystem::exists(kDemo / "tokenizer.json")) GTEST_SKIP() << "demo model not converted yet";
    const Tokenizer tok = Tokenizer::from_folder(kDemo);
    const auto rows = read_jsonl(std::string(ASCENT_TEST_DATA) + "/stories260K/generate_reference.jsonl");
    ASSERT_FALSE(rows.empty());
    for (const json& r : rows) {
        // run.c prints every token after BOS, dropping the first piece's leading space: the same as
        // decoding without the special BOS (Strip removes one leading space of the whole text).
        const Ids ids = r["ids"].get<Ids>();
        const std::string text = r["text"];
        EXPECT_EQ(tok.decode(ids, true), text);
        EXPECT_EQ(stream(tok, ids, true), text);
        EXPECT_EQ(stream(tok, ids, false), tok.decode(ids, false));
        // The prompt's ids round-trip through encode.
        if (!r["prompt"].get<std::string>().empty()) {
            const Ids prompt = tok.encode(r["prompt"].get<std::string>());
            EXPECT_EQ(Ids(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(prompt.size())), prompt);
        }
    }
}

// ---- Metaspace, prepend_scheme "always" (sp_metaspace_always.json) ----

TEST(TokenizerSentencePiece, MetaspaceAlwaysMergesWords) {
    const Tokenizer tok = small("sp_metaspace_always.json");
    EXPECT_EQ(tok.family(), "SentencePiece BPE");
    // "hello world" -> "▁hello▁world" -> pieces "▁hello", "▁world" (split MergedWithNext on ▁).
    // "▁hello": l+l (rank 0), h+e (1), ▁+he (2), ll+o (3), ▁he+llo (4) -> ▁hello (20).
    // "▁world": o+r (5), l+d (6), ▁+w (7), ▁w+or (8), ▁wor+ld (9) -> ▁world (24).
    EXPECT_EQ(tok.encode("hello world", kNoSpecials), (Ids{20, 24}));
    // The TemplateProcessing post-processor puts <s> first; no tokenizer_config.json, so it is the BOS.
    EXPECT_EQ(tok.encode("hello world"), (Ids{1, 20, 24}));
    EXPECT_EQ(tok.bos_id(), 1);
    // A leading space already is the replacement: nothing more is prepended.
    EXPECT_EQ(tok.encode(" hello", kNoSpecials), (Ids{20}));
    // Two spaces: "▁hello▁▁world" -> "▁hello", "▁", "▁world".
    EXPECT_EQ(tok.encode("hello  world", kNoSpecials), (Ids{20, 8, 24}));
    EXPECT_EQ(tok.encode("", kNoSpecials), Ids{});
    EXPECT_EQ(tok.encode(""), (Ids{1}));
}

TEST(TokenizerSentencePiece, MetaspaceAlwaysPrependsAfterAddedTokens) {
    const Tokenizer tok = small("sp_metaspace_always.json");
    // </s> is cut out first; "world" is its own split and "always" prepends ▁ to it -> ▁world.
    EXPECT_EQ(tok.encode("hello</s>world", kNoSpecials), (Ids{20, 2, 24}));
}

TEST(TokenizerSentencePiece, ByteFallbackForCharactersOutsideTheVocabulary) {
    const Tokenizer tok = small("sp_metaspace_always.json");
    // "é" (C3 A9) is not a token but both byte tokens exist: ▁ then <0xC3> <0xA9>.
    EXPECT_EQ(tok.encode("é", kNoSpecials), (Ids{8, 3, 4}));
    EXPECT_EQ(tok.encode("€", kNoSpecials), (Ids{8, 5, 6, 7}));
    // ByteFallback joins the byte tokens back into "é"; Metaspace drops the first token's ▁.
    EXPECT_EQ(tok.decode(Ids{8, 3, 4}), "é");
    EXPECT_EQ(tok.decode(Ids{20, 8, 5, 6, 7}), "hello €");
    // A lone lead byte is not valid UTF-8: one U+FFFD per byte token.
    EXPECT_EQ(tok.decode(Ids{20, 5, 6}), "hello\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(TokenizerSentencePiece, UnknownCharactersFuse) {
    const Tokenizer tok = small("sp_metaspace_always.json");
    // "ü" is C3 BC and <0xBC> is missing, so byte fallback fails and <unk> is used; fuse_unk
    // turns the two unknown characters into one <unk>.
    EXPECT_EQ(tok.encode("üü", kNoSpecials), (Ids{8, 0}));
    // Hugging Face's merge_word adds byte-fallback tokens without first flushing a pending
    // unknown, so the <unk> for "ü" lands after the bytes of "€". Reproduced as is.
    EXPECT_EQ(tok.encode("ü€", kNoSpecials), (Ids{8, 5, 6, 7, 0}));
}

TEST(TokenizerSentencePiece, StreamingDecodeHoldsByteRuns) {
    const Tokenizer tok = small("sp_metaspace_always.json");
    StreamingDecoder dec(tok, {});
    EXPECT_EQ(dec.push(20), "hello");
    EXPECT_EQ(dec.push(8), " ");
    EXPECT_EQ(dec.push(5), "");  // a run of byte tokens decodes as one unit: an invalid run gives
    EXPECT_EQ(dec.push(6), "");  // U+FFFD per byte, so even a complete character is held back
    EXPECT_EQ(dec.push(7), "");  // until a token that is not a byte token ends the run
    EXPECT_EQ(dec.push(24), "€ world");
    EXPECT_EQ(dec.finish(), "");
}

// ---- Metaspace, prepend_scheme "first" (sp_metaspace_first.json) ----

TEST(TokenizerSentencePiece, MetaspaceFirstPrependsOnlyAtTheStart) {
    const Tokenizer tok = small("sp_metaspace_first.json");
    EXPECT_EQ(tok.encode("hello world"), (Ids{20, 24}));  // no post-processor: nothing added
    EXPECT_FALSE(tok.bos_id().has_value());
    // "world" after </s> does not start at offset 0 of the input: no ▁. Its characters
    // w o r l d merge o+r (5) and l+d (6) only: w (13), or (22), ld (25).
    EXPECT_EQ(tok.encode("hello</s>world"), (Ids{20, 2, 13, 22, 25}));
    // A text that starts with a special token gets no ▁ either: h e l l o merge l+l, h+e, ll+o
    // into he (17), llo (19); only ▁he+llo would join them.
    EXPECT_EQ(tok.encode("</s>hello"), (Ids{2, 17, 19}));
}

TEST(TokenizerSentencePiece, UnknownCharactersWithoutFuseOrFallback) {
    const Tokenizer tok = small("sp_metaspace_first.json");
    // No byte fallback: "é" is <unk>; fuse_unk false keeps one <unk> per character.
    EXPECT_EQ(tok.encode("é"), (Ids{8, 0}));
    EXPECT_EQ(tok.encode("éé"), (Ids{8, 0, 0}));
}

TEST(TokenizerSentencePiece, MetaspaceDecoderAndSkippingSpecials) {
    const Tokenizer tok = small("sp_metaspace_first.json");
    // Tokens ▁hello </s> w or ld: the first token's ▁ is dropped, no other ▁ present.
    EXPECT_EQ(tok.decode(Ids{20, 2, 13, 22, 25}), "hello</s>world");
    EXPECT_EQ(tok.decode(Ids{20, 2, 13, 22, 25}, true), "helloworld");
    EXPECT_EQ(tok.decode(Ids{20, 24}), "hello world");
    // When a skipped special token comes first, the next token is the first one decoded.
    EXPECT_EQ(tok.decode(Ids{1, 20, 24}, true), "hello world");
    EXPECT_EQ(tok.decode(Ids{1, 20, 24}, false), "<s> hello world");
    EXPECT_TRUE(tok.is_special(2));
}

// ---- Legacy Llama 2 layout (sp_legacy_llama.json) ----

TEST(TokenizerSentencePiece, LegacyNormalizersPrependToEverySegment) {
    const Tokenizer tok = small("sp_legacy_llama.json");
    // No pre-tokenizer: "▁hello▁world" is one piece; the same ranked merges give ▁hello ▁world.
    EXPECT_EQ(tok.encode("hello world"), (Ids{1, 20, 24}));
    // The normalizer runs on each stretch between added tokens, so "world" also gets ▁ (the
    // legacy behaviour transformers warns about).
    EXPECT_EQ(tok.encode("hello</s>world"), (Ids{1, 20, 2, 24}));
    // Prepend leaves empty text alone.
    EXPECT_EQ(tok.encode(""), (Ids{1}));
    EXPECT_EQ(tok.encode("", kNoSpecials), Ids{});
}

TEST(TokenizerSentencePiece, LegacyDecoderStripsOneLeadingSpace) {
    const Tokenizer tok = small("sp_legacy_llama.json");
    // Replace ▁ -> " ", ByteFallback, Fuse, then Strip removes one leading space of the whole text.
    EXPECT_EQ(tok.decode(Ids{1, 20, 24}, true), "hello world");
    // Kept, <s> comes first and the text starts with '<': nothing to strip.
    EXPECT_EQ(tok.decode(Ids{1, 20, 24}), "<s> hello world");
    EXPECT_EQ(tok.decode(Ids{8, 8, 20}), "  hello");  // three spaces, one stripped
    const Ids ids = tok.encode("hello é world");
    EXPECT_EQ(tok.decode(ids, true), "hello é world");
    EXPECT_EQ(stream(tok, ids, true), "hello é world");
    EXPECT_EQ(stream(tok, ids, false), "<s> hello é world");
}

TEST(TokenizerSentencePiece, StreamingAfterAPromptKeepsSpaces) {
    const Tokenizer tok = small("sp_legacy_llama.json");
    // decode(prompt + new) minus decode(prompt): the space of ▁world is not the start of the text.
    StreamingDecoder dec(tok, {1, 20});
    EXPECT_EQ(dec.push(24), " world");
    StreamingDecoder skipping(tok, {1, 20}, true);
    EXPECT_EQ(skipping.push(24), " world");
    // At the very start, the first token's leading space is stripped.
    StreamingDecoder fresh(tok, {}, true);
    EXPECT_EQ(fresh.push(1), "");
    EXPECT_EQ(fresh.push(20), "hello");
    EXPECT_EQ(fresh.push(24), " world");
}

}  // namespace
