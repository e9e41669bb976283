#include "ui/input_view.h"

#include <algorithm>

#include "ui/text_width.h"

namespace ascent::ui {

InputView layout_input(const std::string& prompt, const std::string& raw_text, size_t cursor, int width) {
    InputView v;
    // Sanitizing may change byte offsets; map the cursor by keeping the text before it apart.
    const std::string before = sanitize_for_display(raw_text.substr(0, std::min(cursor, raw_text.size())));
    const std::string text = before + sanitize_for_display(raw_text.substr(std::min(cursor, raw_text.size())));
    cursor = before.size();
    const std::string shown_prompt = truncate_to_width(prompt, std::max(1, width - 1));
    const int pw = display_width(shown_prompt);
    const std::string indent(static_cast<size_t>(pw), ' ');
    width = std::max(width, pw + 1);
    v.rows.push_back(shown_prompt);
    int col = pw;
    bool placed = false;
    auto new_row = [&] {
        v.rows.push_back(indent);
        col = pw;
    };
    for (auto c : grapheme_clusters(text)) {
        const size_t off = static_cast<size_t>(c.data() - text.data());
        if (c == "\n") {
            if (!placed && off >= cursor) {
                v.cursor_row = static_cast<int>(v.rows.size()) - 1;
                v.cursor_col = col;
                placed = true;
            }
            new_row();
            continue;
        }
        std::string shown(c);
        int w = cluster_width(c);
        if (c == "\t") {
            w = kTabWidth - (col - pw) % kTabWidth;
            shown.assign(static_cast<size_t>(w), ' ');
        }
        if (col + w > width) new_row();
        if (!placed && off >= cursor) {
            v.cursor_row = static_cast<int>(v.rows.size()) - 1;
            v.cursor_col = col;
            placed = true;
        }
        v.rows.back() += shown;
        col += w;
    }
    if (!placed) {
        if (col >= width) new_row();
        v.cursor_row = static_cast<int>(v.rows.size()) - 1;
        v.cursor_col = col;
    }
    return v;
}

}  // namespace ascent::ui
