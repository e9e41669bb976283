#pragma once
// Text as a terminal shows it: grapheme clusters (what the eye sees as one character) and the
// columns each takes. Wrapping works on clusters, so a line never ends inside a multi-byte
// character, a base and its combining marks, or an emoji sequence.
//
// Width of a cluster: the sum of utf8proc_charwidth over its code points (CJK and emoji 2,
// combining marks, variation selectors and ZWJ 0). That is also curses' cell model, which holds
// one spacing character per cell. Terminals disagree on emoji ZWJ sequences (tmux 3.3 joins
// 👨‍👩‍👧 into 2 columns, xterm shows 6), so the drawing code shows a sequence's parts side by
// side (see display_parts) and every terminal agrees with the count.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ascent::ui {

inline constexpr int kTabWidth = 4;

// Valid UTF-8 for the screen: invalid bytes and control characters other than '\n' and '\t'
// become U+FFFD, "\r\n" becomes "\n", a lone '\r' is dropped. Model output and pasted text may
// hold anything; none of it may reach the terminal as a control sequence.
std::string sanitize_for_display(std::string_view text);

// Splits valid UTF-8 (see sanitize_for_display) into grapheme clusters, in order.
std::vector<std::string_view> grapheme_clusters(std::string_view text);

// Columns of one cluster ('\t' counts 1 here; tabs depend on the column, see wrap_lines).
int cluster_width(std::string_view cluster);
// Columns of a single-line text, tabs expanded from column 0.
int display_width(std::string_view text, int tab_width = kTabWidth);

// How to draw a cluster in curses cells: its spacing code points, each with the zero-width
// code points that follow it (ZWJ dropped, so joined emoji show as their parts).
std::vector<std::u32string> display_parts(std::string_view cluster);

// One screen line of a wrapped text: the bytes [begin, end) of the source ('\n' and the spaces
// a break swallowed are outside every range) and the columns they take.
struct LineRange {
    size_t begin = 0;
    size_t end = 0;
    int width = 0;
};

// Breaks text into lines of at most `width` columns (width >= 1). '\n' always breaks; otherwise
// lines break after spaces, around wide (CJK) characters, and inside a word only when the word
// alone is wider than the line. Tabs advance to the next multiple of tab_width, counted from the
// start of each screen line. An empty text is one empty line; so is the text after a final '\n'.
std::vector<LineRange> wrap_lines(std::string_view text, int width, int tab_width = kTabWidth);

// The text of a line range with tabs expanded to spaces (for tests and plain output).
std::string expand_tabs(std::string_view line, int tab_width = kTabWidth);

// Cuts text to at most `width` columns without splitting a cluster; appends "…" when cut.
std::string truncate_to_width(std::string_view text, int width);

}  // namespace ascent::ui
