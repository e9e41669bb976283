#pragma once
// Where each pane goes for a terminal size: chat pane with the stats pane beside it (or as a
// strip below it when the terminal is narrow), the input area, and the status line at the
// bottom. Pure arithmetic, tested for every size down to the minimum.
namespace ascent::ui {

inline constexpr int kMinCols = 60;
inline constexpr int kMinRows = 15;

struct Rect {
    int y = 0, x = 0, h = 0, w = 0;
    bool empty() const { return h <= 0 || w <= 0; }
};

struct Layout {
    bool too_small = false;
    bool stats_beside = false;  // else below the chat, when shown at all
    Rect chat;
    Rect stats;                 // empty when hidden
    Rect input_rule;            // the line above the input
    Rect input;
    Rect status;
};

// input_lines: rows the input text wants (>= 1); it gets at most a third of the screen.
Layout compute_layout(int cols, int rows, bool show_stats, int input_lines);

}  // namespace ascent::ui
