#pragma once
// Lines ready for the screen: UTF-8 text with style runs, independent of curses so that the
// layout of the transcript and the stats pane can be tested as plain data.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ascent::ui {

enum class Style : uint8_t {
    Normal,
    UserLabel,
    User,
    AssistantLabel,
    Assistant,
    Meta,            // dim annotations: per-answer stats, hints
    ReasoningLabel,
    Reasoning,
    CodeFence,
    Code,
    CodeKeyword,
    CodeString,
    CodeComment,
    CodeNumber,
    Notice,
    Error,
    PadUser,         // completion pad: what the user typed
    PadModel,        // ... and what the model wrote
    StatsLabel,
    StatsValue,
    Sparkline,
    Good,            // a value worth noticing (graph mode, the best rate)
};

struct StyleRun {
    size_t begin = 0;  // byte offset in the line's text; the run lasts until the next one
    Style style = Style::Normal;
};

struct StyledLine {
    std::string text;
    std::vector<StyleRun> runs;  // sorted; empty: all Normal
    int indent = 0;              // blank columns before the text
    bool fill = false;           // the last run's style continues to the right edge (code blocks)
    bool preformatted = false;   // clipped, never wrapped (tables)

    StyledLine() = default;
    StyledLine(std::string t, Style s, int ind = 0) : text(std::move(t)), runs{{0, s}}, indent(ind) {}
    void append(const std::string& t, Style s) {
        runs.push_back({text.size(), s});
        text += t;
    }
    Style style_at(size_t offset) const {
        Style s = Style::Normal;
        for (const auto& r : runs) {
            if (r.begin > offset) break;
            s = r.style;
        }
        return s;
    }
};

// The runs of [begin, end) of a line, re-based to begin.
std::vector<StyleRun> slice_runs(const std::vector<StyleRun>& runs, size_t begin, size_t end);

// Wraps one paragraph (may contain '\n') with its runs into screen lines of `width` columns.
std::vector<StyledLine> wrap_styled(const std::string& text, const std::vector<StyleRun>& runs, int width,
                                    int indent);

}  // namespace ascent::ui
