// Pipeline pieces on small generated tokenizer.json files: Split behaviors, the GPT-2 ByteLevel
// pre-tokenizer, post-processor sequences, tokenizer_config.json overrides; and the internal UTF-8
// and regex helpers. Expectations follow the Hugging Face tokenizers source (normalizer.rs split,
// pre_tokenizers/byte_level.rs, processors/template.rs) and transformers' LlamaTokenizerFast.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace {

using ascent::EncodeOptions;
using ascent::Tokenizer;
using Ids = std::vector<int32_t>;
using nlohmann::json;

std::filesystem::path tmp_dir() {
    const auto dir = std::filesystem::path(ASCENT_TEST_TMP) / "tokenizer_components";
    std::filesystem::create_directories(dir);
    return dir;
}

std::filesystem::path write(const std::string& name, const json& content) {
    const auto path = tmp_dir() / name;
    std::ofstream(path) << content.dump(1);
    return path;
}

// ---- Split behaviors ----

// A model with ignore_merges and no merges: a piece that is in the vocabulary becomes its id, any
// other piece one id per character. So the ids show exactly how the text was split.
Tokenizer split_tokenizer(const std::string& name, const json& pattern, const std::string& behavior, bool invert) {
    json t = {{"version", "1.0"},
              {"added_tokens", json::array()},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "Split"}, {"pattern", pattern}, {"behavior", behavior}, {"invert", invert}}},
              {"post_processor", nullptr},
              {"decoder", {{"type", "Fuse"}}},
              {"model",
               {{"type", "BPE"},
                {"ignore_merges", true},
                {"vocab", {{"a", 0}, {"b", 1}, {"-", 2}, {"a-", 3}, {"-b", 4}, {"--", 5}}},
                {"merges", json::array()}}}};
    return Tokenizer::from_files(write(name, t), "");
}

TEST(TokenizerComponents, SplitBehaviors) {
    const json dash = {{"String", "-"}};
    EXPECT_EQ(split_tokenizer("iso.json", dash, "Isolated", false).encode("a-b"), (Ids{0, 2, 1}));
    EXPECT_EQ(split_tokenizer("iso.json", dash, "Isolated", false).encode("a--b"), (Ids{0, 2, 2, 1}));
    EXPECT_EQ(split_tokenizer("rem.json", dash, "Removed", false).encode("a-b"), (Ids{0, 1}));
    EXPECT_EQ(split_tokenizer("prev.json", dash, "MergedWithPrevious", false).encode("a-b"), (Ids{3, 1}));
    // The second '-' follows a match, so it starts a piece of its own.
    EXPECT_EQ(split_tokenizer("prev.json", dash, "MergedWithPrevious", false).encode("a--b"), (Ids{3, 2, 1}));
    EXPECT_EQ(split_tokenizer("next.json", dash, "MergedWithNext", false).encode("a-b"), (Ids{0, 4}));
    EXPECT_EQ(split_tokenizer("next.json", dash, "MergedWithNext", false).encode("a--b"), (Ids{0, 2, 4}));
    EXPECT_EQ(split_tokenizer("cont.json", dash, "Contiguous", false).encode("a--b"), (Ids{0, 5, 1}));
    // invert: "a" and "b" become the matches, so Removed keeps only the dash.
    EXPECT_EQ(split_tokenizer("inv.json", dash, "Removed", true).encode("a-b"), (Ids{2}));
    const json dashes = {{"Regex", "-+"}};
    EXPECT_EQ(split_tokenizer("re.json", dashes, "Isolated", false).encode("a--b"), (Ids{0, 5, 1}));
}

// ---- GPT-2 style ByteLevel pre-tokenizer (use_regex, add_prefix_space) ----

json gpt2_style(bool add_prefix_space) {
    json vocab = json::object();
    for (int b = 0; b < 256; ++b) vocab[ascent::tok::byte_level_char(static_cast<unsigned char>(b))] = b;
    vocab["\xC4\xA0hello"] = 256;  // "Ġhello"
    vocab["\xC4\xA0world"] = 257;
    vocab["'s"] = 258;
    vocab["\xC4\xA0it"] = 259;
    return {{"version", "1.0"},
            {"added_tokens", {{{"id", 300}, {"content", "<|begin|>"}, {"special", true}, {"normalized", false}}}},
            {"normalizer", nullptr},
            {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space}, {"use_regex", true}}},
            {"post_processor",
             {{"type", "Sequence"},
              {"processors",
               {{{"type", "ByteLevel"}, {"trim_offsets", false}},
                {{"type", "TemplateProcessing"},
                 {"single", {{{"SpecialToken", {{"id", "<|begin|>"}, {"type_id", 0}}}},
                             {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                 {"special_tokens", {{"<|begin|>", {{"id", "<|begin|>"}, {"ids", {300}}, {"tokens", {"<|begin|>"}}}}}}}}}}},
            {"decoder", {{"type", "ByteLevel"}}},
            {"model", {{"type", "BPE"}, {"ignore_merges", true}, {"vocab", vocab}, {"merges", json::array()}}}};
}

TEST(TokenizerComponents, ByteLevelWithGpt2Regex) {
    const Tokenizer tok = Tokenizer::from_files(write("gpt2_prefix.json", gpt2_style(true)), "");
    EXPECT_EQ(tok.family(), "byte-level BPE");
    const EncodeOptions plain{.add_special_tokens = false};
    // A space is put in front, then the regex cuts " hello", " world".
    EXPECT_EQ(tok.encode("hello world", plain), (Ids{256, 257}));
    // Contractions are pieces of their own: " it", "'s".
    EXPECT_EQ(tok.encode("it's", plain), (Ids{259, 258}));
    // "é" is one letter run " é": bytes 20 C3 A9, not in the vocabulary as a whole.
    EXPECT_EQ(tok.encode("é", plain), (Ids{0x20, 0xC3, 0xA9}));
    // The decoder maps the characters back to bytes; it does not remove the added space.
    EXPECT_EQ(tok.decode(Ids{256, 257}), " hello world");
    EXPECT_EQ(tok.decode(Ids{0x20, 0xC3, 0xA9}), " é");

    const Tokenizer bare = Tokenizer::from_files(write("gpt2_bare.json", gpt2_style(false)), "");
    EXPECT_EQ(bare.encode("hello world", plain), (Ids{'h', 'e', 'l', 'l', 'o', 257}));
}

TEST(TokenizerComponents, PostProcessorSequenceAddsTemplateTokens) {
    const Tokenizer tok = Tokenizer::from_files(write("gpt2_bos.json", gpt2_style(true)), "");
    EXPECT_EQ(tok.encode("hello"), (Ids{300, 256}));
    EXPECT_EQ(tok.encode("hello", {.add_special_tokens = false}), (Ids{256}));
    EXPECT_EQ(tok.bos_id(), 300);
    EXPECT_EQ(tok.decode(Ids{300, 256}), "<|begin|> hello");
    EXPECT_EQ(tok.decode(Ids{300, 256}, true), " hello");
}

// ---- tokenizer_config.json ----

std::filesystem::path sp_file() { return std::string(ASCENT_TEST_DATA) + "/tokenizers/small/sp_metaspace_always.json"; }

TEST(TokenizerComponents, ConfigAddBosAndEosOverrideThePostProcessor) {
    // The file's post-processor adds <s> (1); "hello" alone is ▁hello (20).
    const Tokenizer plain = Tokenizer::from_files(sp_file(), "");
    EXPECT_EQ(plain.encode("hello"), (Ids{1, 20}));

    const Tokenizer no_bos = Tokenizer::from_files(
        sp_file(), write("cfg_no_bos.json", {{"bos_token", "<s>"}, {"add_bos_token", false}}));
    EXPECT_EQ(no_bos.encode("hello"), (Ids{20}));
    EXPECT_EQ(no_bos.bos_id(), 1);

    const Tokenizer both = Tokenizer::from_files(
        sp_file(), write("cfg_both.json", {{"bos_token", {{"content", "<s>"}, {"special", true}}},
                                           {"eos_token", "</s>"},
                                           {"add_bos_token", true},
                                           {"add_eos_token", true}}));
    EXPECT_EQ(both.encode("hello"), (Ids{1, 20, 2}));
    EXPECT_EQ(both.encode("hello", {.add_special_tokens = false}), (Ids{20}));
    EXPECT_EQ(both.eos_id(), 2);

    // Only add_eos_token given: the post-processor's <s> stays.
    const Tokenizer eos_only = Tokenizer::from_files(
        sp_file(), write("cfg_eos.json", {{"eos_token", "</s>"}, {"add_eos_token", true}}));
    EXPECT_EQ(eos_only.encode("hello"), (Ids{1, 20, 2}));
}

TEST(TokenizerComponents, ConfigAddedTokensDecoderAddsTokens) {
    const json cfg = {{"added_tokens_decoder",
                       {{"2", {{"content", "</s>"}, {"special", true}}},
                        {"26", {{"content", "<extra>"}, {"special", true}, {"normalized", false}}}}}};
    const Tokenizer tok = Tokenizer::from_files(sp_file(), write("cfg_added.json", cfg));
    EXPECT_EQ(tok.token_id("<extra>"), 26);
    EXPECT_TRUE(tok.is_special(26));
    EXPECT_EQ(tok.vocab_size(), 27u);
    EXPECT_EQ(tok.encode("hello<extra>", {.add_special_tokens = false}), (Ids{20, 26}));
}

std::filesystem::path ascii_file() { return std::string(ASCENT_TEST_DATA) + "/tokenizers/small/added_flags.json"; }

Ids ascii_ids(const std::string& s) {
    Ids out;
    for (char c : s) out.push_back(static_cast<unsigned char>(c));
    return out;
}

TEST(TokenizerComponents, ConfigSplitSpecialTokens) {
    // transformers turns split_special_tokens into "never match special tokens".
    const Tokenizer tok = Tokenizer::from_files(ascii_file(), write("cfg_split.json", {{"split_special_tokens", true}}));
    EXPECT_EQ(tok.encode("a<sp>b"), ascii_ids("a<sp>b"));
    EXPECT_EQ(tok.encode("<mask>"), (Ids{200}));  // not special: still matched
}

TEST(TokenizerComponents, ConfigCleanUpTokenizationSpaces) {
    const Tokenizer tok = Tokenizer::from_files(ascii_file(), write("cfg_clean.json", {{"clean_up_tokenization_spaces", true}}));
    const Ids ids = ascii_ids("Hi , there ! it 's ok . do n't");
    EXPECT_EQ(tok.decode(ids), "Hi, there! it's ok. don't");
    ascent::StreamingDecoder dec(tok, {});
    std::string streamed;
    for (int32_t id : ids) streamed += dec.push(id);
    streamed += dec.finish();
    EXPECT_EQ(streamed, tok.decode(ids));
}

// ---- UTF-8 helpers ----

TEST(TokenizerComponents, Utf8LossyReplacesMaximalInvalidSubparts) {
    using ascent::tok::utf8_lossy;
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(utf8_lossy("a\xF0\x9F\xA6"), "a" + fffd);                // truncated 4-byte character
    EXPECT_EQ(utf8_lossy("\xE0\x80"), fffd + fffd);                    // overlong: each byte apart
    EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), fffd + fffd + fffd);         // surrogate
    EXPECT_EQ(utf8_lossy("\xF0\x9F\xA6\x99"), "\xF0\x9F\xA6\x99");    // complete
    EXPECT_EQ(utf8_lossy("\xC3(\xFF"), fffd + "(" + fffd);
}

TEST(TokenizerComponents, Utf8IncompleteTail) {
    using ascent::tok::incomplete_utf8_tail;
    EXPECT_EQ(incomplete_utf8_tail("a\xF0\x9F\xA6"), 3u);
    EXPECT_EQ(incomplete_utf8_tail("a\xC3"), 1u);
    EXPECT_EQ(incomplete_utf8_tail("\xC3\xA9"), 0u);
    EXPECT_EQ(incomplete_utf8_tail("\xE0\x80"), 0u);  // invalid, not incomplete
    EXPECT_EQ(incomplete_utf8_tail(""), 0u);
    EXPECT_EQ(ascent::tok::find_invalid_utf8("ab\xFF"), 2u);
    EXPECT_EQ(ascent::tok::find_invalid_utf8("h\xC3\xA9"), std::string::npos);
}

// ---- Oniguruma compatibility of the regex engine ----

TEST(TokenizerComponents, RegexWhitespaceIncludesNextLine) {
    // Oniguruma's \s is Unicode White_Space, which has U+0085; PCRE2's does not without help.
    EXPECT_EQ(ascent::tok::onig_to_pcre2(R"(\s+(?!\S)|[^\s\p{L}])"), R"([\s\x{85}]+(?![^\s\x{85}])|[^\s\x{85}\p{L}])");
    const ascent::tok::Regex ws(R"(\s+)", "test");
    std::vector<ascent::tok::Match> m;
    ws.find_all("a\xC2\x85" "b", m);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].start, 1u);
    EXPECT_EQ(m[0].end, 3u);
    const ascent::tok::Regex other(R"([^\s\p{L}]+)", "test");
    m.clear();
    other.find_all("\xC2\x85", m);
    EXPECT_TRUE(m.empty());
}

TEST(TokenizerComponents, RegexEmptyMatchesAdvanceLikeOniguruma) {
    const ascent::tok::Regex maybe_a("a*", "test");
    std::vector<ascent::tok::Match> m;
    maybe_a.find_all("baa", m);
    // Empty at 0, "aa" at 1..3; the empty match at 3 touches the previous match and is refused.
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].start, 0u);
    EXPECT_EQ(m[0].end, 0u);
    EXPECT_EQ(m[1].start, 1u);
    EXPECT_EQ(m[1].end, 3u);
}

}  // namespace
