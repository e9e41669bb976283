// Screen layout for every terminal size, the multi-line input's cursor, and how the transcript
// renders turns, reasoning (folded or not), code blocks and the completion pad.
#include <gtest/gtest.h>

#include "ui/code_highlight.h"
#include "ui/commands.h"
#include "ui/input_view.h"
#include "ui/layout.h"
#include "ui/text_width.h"
#include "ui/transcript.h"

using namespace ascent::ui;

namespace {

bool inside(const Rect& r, int cols, int rows) { return r.y >= 0 && r.x >= 0 && r.y + r.h <= rows && r.x + r.w <= cols; }
bool overlap(const Rect& a, const Rect& b) {
    if (a.empty() || b.empty()) return false;
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

std::string text_of(const std::vector<StyledLine>& lines) {
    std::string s;
    for (const auto& l : lines) s += std::string(static_cast<size_t>(l.indent), ' ') + l.text + "\n";
    return s;
}

}  // namespace

TEST(UiLayout, EverySizeFromTheMinimumUpIsSane) {
    for (int cols = kMinCols; cols <= 220; cols += 7) {
        for (int rows = kMinRows; rows <= 70; rows += 5) {
            for (bool stats : {true, false}) {
                for (int input_lines : {1, 3, 40}) {
                    const Layout l = compute_layout(cols, rows, stats, input_lines);
                    SCOPED_TRACE(testing::Message() << cols << "x" << rows << " stats " << stats << " input " << input_lines);
                    ASSERT_FALSE(l.too_small);
                    const Rect parts[] = {l.chat, l.stats, l.input_rule, l.input, l.status};
                    for (const auto& r : parts) EXPECT_TRUE(r.empty() || inside(r, cols, rows));
                    for (size_t i = 0; i < 5; ++i)
                        for (size_t j = i + 1; j < 5; ++j) EXPECT_FALSE(overlap(parts[i], parts[j])) << i << " " << j;
                    EXPECT_GE(l.chat.h, 5);
                    EXPECT_GE(l.chat.w, 56);
                    EXPECT_GE(l.input.h, 1);
                    EXPECT_EQ(l.status.y, rows - 1);
                    EXPECT_EQ(l.stats.empty(), !stats);
                    if (stats && l.stats_beside) {
                        EXPECT_GE(l.stats.w, 40);
                    }
                    if (stats && !l.stats_beside) {
                        EXPECT_GE(l.stats.h, 3);
                    }
                }
            }
        }
    }
}

TEST(UiLayout, StatsGoBelowOnNarrowTerminalsAndTooSmallBelowTheMinimum) {
    EXPECT_TRUE(compute_layout(120, 40, true, 1).stats_beside);
    EXPECT_FALSE(compute_layout(80, 40, true, 1).stats_beside);
    EXPECT_TRUE(compute_layout(59, 40, true, 1).too_small);
    EXPECT_TRUE(compute_layout(100, 14, true, 1).too_small);
    EXPECT_FALSE(compute_layout(60, 15, true, 1).too_small);
}

TEST(UiInputView, CursorFollowsLinesWrapsAndWideCharacters) {
    auto v = layout_input("› ", "", 0, 20);
    ASSERT_EQ(v.rows.size(), 1u);
    EXPECT_EQ(v.cursor_col, 2);
    v = layout_input("› ", "ab\ncd", 5, 20);
    ASSERT_EQ(v.rows.size(), 2u);
    EXPECT_EQ(v.rows[1], "  cd");
    EXPECT_EQ(v.cursor_row, 1);
    EXPECT_EQ(v.cursor_col, 4);
    v = layout_input("› ", "ab\ncd", 2, 20);  // on the newline: end of the first row
    EXPECT_EQ(v.cursor_row, 0);
    EXPECT_EQ(v.cursor_col, 4);
    v = layout_input("> ", "abcdefghij", 10, 6);  // 4 columns of text per row
    ASSERT_EQ(v.rows.size(), 3u);
    EXPECT_EQ(v.rows[0], "> abcd");
    EXPECT_EQ(v.cursor_row, 2);
    EXPECT_EQ(v.cursor_col, 4);
    v = layout_input("> ", "中文字", 3, 7);  // cursor after 中: column 2 + 2
    EXPECT_EQ(v.cursor_col, 4);
    ASSERT_EQ(v.rows.size(), 2u);  // 字 does not fit in the last column
    EXPECT_EQ(v.rows[1], "  字");
    v = layout_input("> ", "abcd", 4, 6);  // a full row: the cursor goes to the next one
    EXPECT_EQ(v.cursor_row, 1);
    EXPECT_EQ(v.cursor_col, 2);
}

TEST(UiTranscript, TurnsReasoningAndCodeBlocks) {
    Entry user;
    user.kind = Entry::Kind::User;
    user.text = "Write hello world";
    Entry answer;
    answer.kind = Entry::Kind::Assistant;
    answer.reasoning = "The user wants code. Python is short.";
    answer.text = "Here:\n```python\nprint(\"hi\")  # greet\n```\nDone.";
    answer.footer = "12 tok · 100.0 tok/s · TTFT 5.0 ms · eager";
    Transcript t;
    t.add(user);
    t.add(answer);
    const auto lines = t.all_lines(40);
    const std::string all = text_of(lines);
    EXPECT_NE(all.find("You\n  Write hello world\n"), std::string::npos) << all;
    EXPECT_NE(all.find("Assistant  12 tok"), std::string::npos) << all;
    EXPECT_NE(all.find("▾ thinking"), std::string::npos) << all;
    EXPECT_NE(all.find("The user wants code."), std::string::npos) << all;
    EXPECT_NE(all.find("╭─ python"), std::string::npos) << all;
    EXPECT_NE(all.find("│ print(\"hi\")  # greet"), std::string::npos) << all;
    EXPECT_NE(all.find("╰─"), std::string::npos) << all;
    EXPECT_EQ(all.find("```"), std::string::npos) << all;
    bool code_filled = false, reasoning_dim = false, comment = false, string = false;
    for (const auto& l : lines) {
        if (l.text.find("print") != std::string::npos) {
            code_filled = l.fill;
            for (const auto& r : l.runs) {
                comment |= r.style == Style::CodeComment;
                string |= r.style == Style::CodeString;
            }
        }
        if (l.text.find("Python") != std::string::npos) reasoning_dim = l.runs[0].style == Style::Reasoning;
    }
    EXPECT_TRUE(code_filled);
    EXPECT_TRUE(reasoning_dim);
    EXPECT_TRUE(comment);
    EXPECT_TRUE(string);
    // Folded: one line says how much thinking there was.
    t.set_fold_reasoning(true);
    const std::string folded = text_of(t.all_lines(40));
    EXPECT_EQ(folded.find("Python is short"), std::string::npos);
    EXPECT_NE(folded.find("▸ thought · 7 words"), std::string::npos) << folded;
    // Every rendered line fits the width.
    for (int w : {20, 33, 60})
        for (const auto& l : t.all_lines(w))
            if (!l.preformatted) {  // labels are clipped instead
                EXPECT_LE(l.indent + display_width(l.text), w) << l.text;
            }
}

TEST(UiTranscript, StreamingAnswerWithAnOpenFenceAndAWindow) {
    Transcript t;
    Entry a;
    a.kind = Entry::Kind::Assistant;
    a.streaming = true;
    const size_t i = t.add(a);
    EXPECT_NE(text_of(t.all_lines(30)).find("Assistant  …"), std::string::npos);
    t.edit(i).text = "```\nint x = 1;";
    const std::string s = text_of(t.all_lines(30));
    EXPECT_NE(s.find("│ int x = 1;"), std::string::npos) << s;
    // lines(first, count) is a window onto all_lines.
    for (int k = 0; k < 5; ++k) t.add(Entry{Entry::Kind::Notice, "notice " + std::to_string(k)});
    const auto all = t.all_lines(30);
    const auto window = t.lines(30, 3, 4);
    ASSERT_EQ(window.size(), 4u);
    for (size_t k = 0; k < 4; ++k) EXPECT_EQ(window[k].text, all[3 + k].text);
    EXPECT_EQ(t.line_count(30), static_cast<int>(all.size()));
}

TEST(UiTranscript, CompletionPadFlowsUserAndModelTextTogether) {
    Entry pad;
    pad.kind = Entry::Kind::Pad;
    pad.pad = {{true, "Once upon a time"}, {false, ", there was a dog."}, {true, " The end"}};
    Transcript t;
    t.add(pad);
    const auto lines = t.all_lines(80);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].text, "Once upon a time, there was a dog. The end");
    EXPECT_EQ(lines[0].style_at(0), Style::PadUser);
    EXPECT_EQ(lines[0].style_at(20), Style::PadModel);
    EXPECT_EQ(lines[0].style_at(36), Style::PadUser);
    const auto narrow = t.all_lines(12);
    EXPECT_GT(narrow.size(), 3u);
    EXPECT_EQ(narrow[1].style_at(0), Style::PadUser);  // "time," starts the second line, typed by the user
}

TEST(UiTranscript, RemovalIsReportedOnce) {
    Transcript t;
    t.add(Entry{Entry::Kind::Notice, "a"});
    t.add(Entry{Entry::Kind::Notice, "b"});
    EXPECT_FALSE(t.take_removed_from().has_value());
    t.remove_from(1);
    EXPECT_EQ(t.take_removed_from(), 1u);
    EXPECT_FALSE(t.take_removed_from().has_value());
    t.clear();
    EXPECT_EQ(t.take_removed_from(), 0u);
}

TEST(UiCodeHighlight, MarksKeywordsStringsNumbersAndComments) {
    const std::string line = "def f(x): return \"s\" + 42  # note";
    const auto runs = highlight_code(line, "python");
    StyledLine l;
    l.text = line;
    l.runs = runs;
    EXPECT_EQ(l.style_at(0), Style::CodeKeyword);
    EXPECT_EQ(l.style_at(4), Style::Code);
    EXPECT_EQ(l.style_at(line.find("return")), Style::CodeKeyword);
    EXPECT_EQ(l.style_at(line.find("\"s\"") + 1), Style::CodeString);
    EXPECT_EQ(l.style_at(line.find("42")), Style::CodeNumber);
    EXPECT_EQ(l.style_at(line.find("# note") + 3), Style::CodeComment);
    StyledLine c;
    c.text = "int x = 1; // c++";
    c.runs = highlight_code(c.text, "cpp");
    EXPECT_EQ(c.style_at(c.text.find("//")), Style::CodeComment);
    EXPECT_EQ(c.style_at(0), Style::CodeKeyword);
    StyledLine hash;
    hash.text = "#include <x>";
    hash.runs = highlight_code(hash.text, "c");
    EXPECT_NE(hash.style_at(0), Style::CodeComment);  // '#' starts a comment only where it does
}

TEST(UiTranscript, TablesWrapTheirSecondColumnInsteadOfLosingIt) {
    std::string help;
    for (const auto& l : help_lines(true)) help += l + "\n";
    Entry e;
    e.kind = Entry::Kind::Notice;
    e.text = help;
    e.preformatted = true;
    for (int width : {40, 60, 100}) {
        std::string words_in, words_out;
        for (const auto& l : render_entry(e, width, false)) {
            EXPECT_LE(display_width(l.text), width) << l.text;
            for (char c : l.text)
                if (c != ' ') words_out += c;
        }
        for (char c : help)
            if (c != ' ' && c != '\n') words_in += c;
        EXPECT_EQ(words_out, words_in) << "text lost at width " << width;
    }
    // The description continues under itself.
    e.text = "  /save FILE       save the messages and settings as JSON";
    const auto lines = render_entry(e, 38, false);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].text, "  /save FILE       save the messages");
    EXPECT_EQ(lines[1].text, "                   and settings as");
}
