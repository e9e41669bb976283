// Added tokens (tests/data/tokenizers/small/added_flags.json): one id per printable ASCII character
// (id = code point), an NFKC normalizer, no pre-tokenizer, and added tokens with the Hugging Face
// flags. Expectations follow tokenizer/added_vocabulary.rs: leftmost-longest matching, single_word
// checked against \w neighbours, lstrip/rstrip swallowing Unicode whitespace, normalized tokens
// matched in the normalized text, special tokens left as text when encode_special_tokens is set.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

using ascent::Tokenizer;
using Ids = std::vector<int32_t>;

const Tokenizer& tok() {
    static const Tokenizer t =
        Tokenizer::from_files(std::string(ASCENT_TEST_DATA) + "/tokenizers/small/added_flags.json", "");
    return t;
}

Ids chars(const std::string& s) {
    Ids out;
    for (char c : s) out.push_back(static_cast<unsigned char>(c));
    return out;
}

TEST(TokenizerAddedTokens, PlainTextIsOneIdPerCharacter) {
    EXPECT_EQ(tok().encode("Hi there"), chars("Hi there"));
    EXPECT_EQ(tok().vocab_size(), 207u);
}

TEST(TokenizerAddedTokens, LstripRstripSwallowSurroundingWhitespace) {
    // "<mask>" (200) has lstrip and rstrip: the spaces around it belong to the token.
    EXPECT_EQ(tok().encode("a <mask> b"), (Ids{'a', 200, 'b'}));
    EXPECT_EQ(tok().encode("x<mask>y"), (Ids{'x', 200, 'y'}));
    // Any Unicode whitespace counts (U+3000 ideographic space, a tab).
    EXPECT_EQ(tok().encode("a\u3000<mask>\tb"), (Ids{'a', 200, 'b'}));
    // The decoder (Fuse) gives back the token's content only.
    EXPECT_EQ(tok().decode(tok().encode("a <mask> b")), "a<mask>b");
}

TEST(TokenizerAddedTokens, SingleWordNeedsNonWordNeighbours) {
    // "ony" (201) is single_word: it must not touch a \w character on either side.
    EXPECT_EQ(tok().encode("ony"), (Ids{201}));
    EXPECT_EQ(tok().encode("a ony b"), (Ids{'a', ' ', 201, ' ', 'b'}));
    EXPECT_EQ(tok().encode("ony!"), (Ids{201, '!'}));
    EXPECT_EQ(tok().encode("pony"), chars("pony"));
    EXPECT_EQ(tok().encode("onyx"), chars("onyx"));
    EXPECT_EQ(tok().encode("_ony"), chars("_ony"));  // '_' is a word character
}

TEST(TokenizerAddedTokens, SpecialTokensCanBeTreatedAsText) {
    // "<sp>" (202) is special: matched by default, plain text with parse_special false.
    EXPECT_EQ(tok().encode("a<sp>b"), (Ids{'a', 202, 'b'}));
    EXPECT_EQ(tok().encode("a<sp>b", {.parse_special = false}), chars("a<sp>b"));
    EXPECT_TRUE(tok().is_special(202));
    EXPECT_FALSE(tok().is_special(200));
    EXPECT_EQ(tok().decode(Ids{'a', 202, 'b'}), "a<sp>b");
    EXPECT_EQ(tok().decode(Ids{'a', 202, 'b'}, true), "ab");
    // Non-special added tokens are unaffected by parse_special.
    EXPECT_EQ(tok().encode("<mask>", {.parse_special = false}), (Ids{200}));
}

TEST(TokenizerAddedTokens, NormalizedTokensMatchTheNormalizedText) {
    // "AB" (203) is normalized: fullwidth "ＡＢ" becomes "AB" under NFKC and then matches.
    EXPECT_EQ(tok().encode("\uFF21\uFF22"), (Ids{203}));
    EXPECT_EQ(tok().encode("AB"), (Ids{203}));
    // "CD" (204) is not normalized: it only matches the raw input; "ＣＤ" is normalized to the
    // two characters C and D afterwards.
    EXPECT_EQ(tok().encode("CD"), (Ids{204}));
    EXPECT_EQ(tok().encode("\uFF23\uFF24"), (Ids{'C', 'D'}));
}

TEST(TokenizerAddedTokens, LeftmostLongestMatch) {
    // "ab" (205) and "abc" (206): the longest token at the leftmost position wins.
    EXPECT_EQ(tok().encode("abcd"), (Ids{206, 'd'}));
    EXPECT_EQ(tok().encode("abd"), (Ids{205, 'd'}));
    EXPECT_EQ(tok().encode("xabab"), (Ids{'x', 205, 205}));
}

TEST(TokenizerAddedTokens, TokenLookups) {
    EXPECT_EQ(tok().token_id("<mask>"), 200);
    EXPECT_EQ(tok().token_id("a"), 'a');
    EXPECT_EQ(tok().token_text(201), "ony");
    EXPECT_EQ(tok().token_text('z'), "z");
    EXPECT_THROW(tok().token_text(150), ascent::Error);
}

}  // namespace
