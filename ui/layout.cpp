#include "ui/layout.h"

#include <algorithm>

namespace ascent::ui {

namespace {
constexpr int kBesideMinCols = 100;  // below this the chat would get fewer than ~60 columns
constexpr int kStatsMinWidth = 40;
constexpr int kStatsMaxWidth = 50;
}  // namespace

Layout compute_layout(int cols, int rows, bool show_stats, int input_lines) {
    Layout l;
    if (cols < kMinCols || rows < kMinRows) {
        l.too_small = true;
        return l;
    }
    l.status = {rows - 1, 0, 1, cols};
    const int input_h = std::clamp(input_lines, 1, std::max(1, rows / 3 - 1));
    l.input = {rows - 1 - input_h, 0, input_h, cols};
    l.input_rule = {l.input.y - 1, 0, 1, cols};
    const int top_h = l.input_rule.y;
    if (!show_stats) {
        l.chat = {0, 0, top_h, cols};
        return l;
    }
    if (cols >= kBesideMinCols) {
        const int sw = std::clamp(cols / 3, kStatsMinWidth, kStatsMaxWidth);
        l.stats_beside = true;
        l.chat = {0, 0, top_h, cols - sw};
        l.stats = {0, cols - sw, top_h, sw};
    } else {
        const int sh = std::clamp(top_h / 3, 3, 6);
        l.chat = {0, 0, top_h - sh, cols};
        l.stats = {top_h - sh, 0, sh, cols};
    }
    return l;
}

}  // namespace ascent::ui
