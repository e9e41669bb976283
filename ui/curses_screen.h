#pragma once
// The curses side of the TUI: terminal setup and restore, colours for each Style, and drawing
// styled lines cell by cell at the columns text_width.h computes (so curses' idea of the
// cursor and ours never drift apart, whatever the terminal thinks of an emoji).
#include <string>
#include "ui/layout.h"
#include "ui/styled_text.h"

namespace ascent::ui {

// Key codes the TUI defines for the bracketed-paste markers ESC[200~ and ESC[201~.
inline constexpr int kKeyPasteBegin = 0x7000;
inline constexpr int kKeyPasteEnd = 0x7001;

class CursesScreen {
public:
    CursesScreen();   // takes over the terminal (stdin/stdout)
    ~CursesScreen();  // gives it back as it was
    CursesScreen(const CursesScreen&) = delete;
    CursesScreen& operator=(const CursesScreen&) = delete;

    int cols() const;
    int rows() const;
    // After SIGWINCH: asks the terminal for its size and resizes curses' screens.
    void resize_from_terminal();

    void clear();
    // Draws a line into [x, x + width) of row y; preformatted lines and overlong ones are clipped.
    void draw(int y, int x, int width, const StyledLine& line);
    void text(int y, int x, int width, const std::string& s, Style style);
    void hline(int y, int x, int width, const std::string& title, Style style);
    void vline(int x, int y, int height, Style style);
    void fill(const Rect& r, Style style);
    void reverse_bar(int y, int x, int width, const std::string& s);
    void cursor(int y, int x, bool visible);
    void refresh();
    void force_full_redraw();

    // Writes bytes straight to the terminal after curses' output (OSC 52); curses does not
    // track them, so they must not move the cursor or change cells.
    void write_raw(const std::string& bytes);

private:
    void* term_ = nullptr;  // SCREEN*
};

// OSC 52 "set clipboard" for text (base64 in the escape sequence).
std::string osc52_copy(const std::string& text);
std::string base64(const std::string& bytes);

}  // namespace ascent::ui
