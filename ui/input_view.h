#pragma once
// How the multi-line input looks on screen: the prompt, the text hard-wrapped to the width
// (every column of it reachable by the cursor, unlike word wrapping), and where the cursor is.
#include <string>
#include <vector>

namespace ascent::ui {

struct InputView {
    std::vector<std::string> rows;  // each starts with the prompt or its width in spaces
    int cursor_row = 0;
    int cursor_col = 0;
};

// cursor: a byte offset into text. Tabs show as spaces to the next multiple of 4.
InputView layout_input(const std::string& prompt, const std::string& text, size_t cursor, int width);

}  // namespace ascent::ui
