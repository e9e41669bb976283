// Width-aware wrapping for the chat pane: grapheme clusters, display widths (CJK and emoji 2,
// combining marks 0), tabs, long words, and lines that never end inside a character.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ui/text_width.h"

using namespace ascent::ui;

namespace {

const std::string kFamily = "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7";  // 👨‍👩‍👧
const std::string kThumbsToned = "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD";                                   // 👍🏽
const std::string kEAcute = "e\xCC\x81";                                                                // e + U+0301
const std::string kFlagJp = "\xF0\x9F\x87\xAF\xF0\x9F\x87\xB5";                                        // 🇯🇵

std::vector<std::string> wrapped(const std::string& text, int width) {
    std::vector<std::string> out;
    for (const auto& r : wrap_lines(text, width)) out.push_back(expand_tabs(text.substr(r.begin, r.end - r.begin)));
    return out;
}

// Every line fits, its reported width is right, and every cluster of the text lands whole in
// exactly one line (or was a space or newline swallowed at a break).
void check_invariants(const std::string& text, int width) {
    const auto lines = wrap_lines(text, width);
    size_t covered = 0;
    for (const auto& r : lines) {
        ASSERT_LE(r.begin, r.end);
        ASSERT_GE(r.begin, covered) << "lines overlap";
        for (size_t gap = covered; gap < r.begin; ++gap)
            EXPECT_TRUE(text[gap] == ' ' || text[gap] == '\n' || text[gap] == '\t') << "byte " << gap << " dropped";
        const std::string line = text.substr(r.begin, r.end - r.begin);
        EXPECT_EQ(r.width, display_width(line)) << line;
        if (grapheme_clusters(line).size() > 1) {
            EXPECT_LE(r.width, width) << line;
        }
        // A line starts and ends on cluster boundaries of the whole text.
        bool starts = false, ends = r.end == text.size();
        for (auto c : grapheme_clusters(text)) {
            const size_t off = static_cast<size_t>(c.data() - text.data());
            starts |= off == r.begin;
            ends |= off == r.end;
        }
        EXPECT_TRUE(starts || r.begin == text.size()) << "line starts inside a cluster at " << r.begin;
        EXPECT_TRUE(ends) << "line ends inside a cluster at " << r.end;
        covered = r.end;
    }
}

}  // namespace

TEST(UiTextWidth, ClusterWidths) {
    EXPECT_EQ(display_width("hello"), 5);
    EXPECT_EQ(display_width("中文"), 4);
    EXPECT_EQ(display_width("日本語のテキスト"), 16);
    EXPECT_EQ(display_width(kEAcute), 1);
    EXPECT_EQ(grapheme_clusters(kEAcute).size(), 1u);
    EXPECT_EQ(display_width("\xF0\x9F\x98\x80"), 2);  // 😀
    // A ZWJ sequence is one cluster; the pane shows its parts side by side (see text_width.h).
    EXPECT_EQ(grapheme_clusters(kFamily).size(), 1u);
    EXPECT_EQ(display_width(kFamily), 6);
    EXPECT_EQ(display_parts(kFamily).size(), 3u);
    EXPECT_EQ(grapheme_clusters(kThumbsToned).size(), 1u);
    EXPECT_EQ(grapheme_clusters(kFlagJp).size(), 1u);
    // The combining mark rides in the cell of its base.
    const auto parts = display_parts(kEAcute);
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0], std::u32string(U"e\u0301"));
    EXPECT_EQ(display_width("a\tb"), 5);  // tab to column 4
    EXPECT_EQ(display_width("abcd\tb"), 9);
}

TEST(UiTextWidth, WrapsWordsAndSwallowsTheBreakingSpace) {
    EXPECT_EQ(wrapped("hello world", 5), (std::vector<std::string>{"hello", "world"}));
    EXPECT_EQ(wrapped("hello world", 11), (std::vector<std::string>{"hello world"}));
    EXPECT_EQ(wrapped("ab cd ef", 5), (std::vector<std::string>{"ab cd", "ef"}));
    EXPECT_EQ(wrapped("one two  three", 8), (std::vector<std::string>{"one two", "three"}));
    EXPECT_EQ(wrapped("", 10), (std::vector<std::string>{""}));
    EXPECT_EQ(wrapped("a\n\nb\n", 10), (std::vector<std::string>{"a", "", "b", ""}));
    EXPECT_EQ(wrapped("  indented", 20), (std::vector<std::string>{"  indented"}));
}

TEST(UiTextWidth, BreaksWordsLongerThanTheLine) {
    EXPECT_EQ(wrapped("abcdefghij", 4), (std::vector<std::string>{"abcd", "efgh", "ij"}));
    EXPECT_EQ(wrapped("see https://example.com/a/very/long/path ok", 12),
              (std::vector<std::string>{"see", "https://exam", "ple.com/a/ve", "ry/long/path", "ok"}));
}

TEST(UiTextWidth, CjkCountsDoubleAndBreaksBetweenCharacters) {
    EXPECT_EQ(wrapped("中文字符", 4), (std::vector<std::string>{"中文", "字符"}));
    EXPECT_EQ(wrapped("中文字符", 5), (std::vector<std::string>{"中文", "字符"}));  // no half character
    EXPECT_EQ(wrapped("ab中文", 5), (std::vector<std::string>{"ab中", "文"}));
    check_invariants("这是一个很长的中文句子，用来测试换行。English mixed 中文 text.", 7);
}

TEST(UiTextWidth, EmojiAndZwjSequencesStayWhole) {
    const std::string text = "x" + kFamily + kFamily + "y";
    for (int w = 1; w <= 14; ++w) check_invariants(text, w);
    const auto lines = wrapped(text, 7);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], "x" + kFamily);
    EXPECT_EQ(lines[1], kFamily + "y");
    check_invariants("tone " + kThumbsToned + " flag " + kFlagJp + " smile \xF0\x9F\x98\x80 end", 6);
}

TEST(UiTextWidth, CombiningMarksNeverSplitFromTheirBase) {
    std::string word;
    for (int i = 0; i < 12; ++i) word += kEAcute;  // 12 columns, 36 bytes
    const auto lines = wrap_lines(word, 5);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].width, 5);
    EXPECT_EQ(lines[0].end - lines[0].begin, 15u);  // five whole "é"
    check_invariants(word, 5);
    check_invariants("Zalgo: Z\u0351\u034C\u035Ba\u0300\u0301l\u0338g\u035Bo text", 4);
}

TEST(UiTextWidth, TabsAdvanceToTheNextStopOfTheScreenLine) {
    EXPECT_EQ(wrapped("a\tb", 10), (std::vector<std::string>{"a   b"}));
    EXPECT_EQ(wrapped("\tx", 10), (std::vector<std::string>{"    x"}));
    const auto lines = wrap_lines("abcdef\tghi", 8);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].width, 6);  // the tab would reach column 8 and more: it breaks the line
    check_invariants("int main() {\n\treturn 0;\t// done\n}", 9);
}

TEST(UiTextWidth, SanitizeKeepsControlSequencesOffTheTerminal) {
    EXPECT_EQ(sanitize_for_display("a\x1b[2Jb"), "a\xEF\xBF\xBD[2Jb");
    EXPECT_EQ(sanitize_for_display("line\r\nnext\rx"), "line\nnextx");
    EXPECT_EQ(sanitize_for_display("tab\tok\n"), "tab\tok\n");
    EXPECT_EQ(sanitize_for_display("bad \xC3( byte"), "bad \xEF\xBF\xBD( byte");
    EXPECT_EQ(sanitize_for_display("\xC2\x9B" "c1"), "\xEF\xBF\xBD" "c1");  // U+009B, the C1 CSI
    EXPECT_EQ(sanitize_for_display("中文 ok"), "中文 ok");
}

TEST(UiTextWidth, TruncateMarksTheCutWithoutSplittingClusters) {
    EXPECT_EQ(truncate_to_width("hello", 5), "hello");
    EXPECT_EQ(truncate_to_width("hello world", 6), "hello…");
    EXPECT_EQ(truncate_to_width("中文字符", 5), "中文…");
    EXPECT_EQ(truncate_to_width("中文字符", 4), "中…");
    EXPECT_EQ(truncate_to_width(kFamily + "abc", 4), "…");
}
