#include "ui/curses_screen.h"

// Curses defines clear(), refresh(), hline() ... as macros, which would rewrite our own names.
#define NCURSES_NOMACROS
#include <ncursesw/curses.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <utf8proc.h>

#include <cstdlib>

#include <fmt/format.h>

#include "engine/error.h"
#include "ui/text_width.h"

namespace ascent::ui {

namespace {

constexpr int kStyleCount = static_cast<int>(Style::Good) + 1;

struct Look {
    short fg = -1, bg = -1;
    attr_t attr = A_NORMAL;
};

bool g_colors = false;

Look look_for(Style s, bool rich) {
    const short code_bg = rich ? 236 : -1;
    const short grey = rich ? 244 : -1;
    const attr_t dim = rich ? A_NORMAL : A_DIM;
    switch (s) {
    case Style::Normal: return {};
    case Style::UserLabel: return {COLOR_CYAN, -1, A_BOLD};
    case Style::User: return {-1, -1, A_BOLD};
    case Style::AssistantLabel: return {COLOR_GREEN, -1, A_BOLD};
    case Style::Assistant: return {};
    case Style::Meta: return {grey, -1, dim};
    case Style::ReasoningLabel: return {grey, -1, dim | A_ITALIC};
    case Style::Reasoning: return {grey, -1, dim | A_ITALIC};
    case Style::CodeFence: return {COLOR_BLUE, code_bg, A_BOLD};
    case Style::Code: return {static_cast<short>(rich ? 252 : -1), code_bg, A_NORMAL};
    case Style::CodeKeyword: return {COLOR_MAGENTA, code_bg, A_BOLD};
    case Style::CodeString: return {COLOR_GREEN, code_bg, A_NORMAL};
    case Style::CodeComment: return {static_cast<short>(rich ? 244 : COLOR_CYAN), code_bg, A_ITALIC};
    case Style::CodeNumber: return {COLOR_CYAN, code_bg, A_NORMAL};
    case Style::Notice: return {COLOR_YELLOW, -1, A_NORMAL};
    case Style::Error: return {COLOR_RED, -1, A_BOLD};
    case Style::PadUser: return {-1, -1, A_BOLD};
    case Style::PadModel: return {};
    case Style::StatsLabel: return {COLOR_CYAN, -1, A_NORMAL};
    case Style::StatsValue: return {-1, -1, A_BOLD};
    case Style::Sparkline: return {COLOR_GREEN, -1, A_NORMAL};
    case Style::Good: return {COLOR_GREEN, -1, A_BOLD};
    }
    return {};
}

// Attributes and colour pair of a style; without colours only the attributes (and reverse
// video for code, so it still stands out).
void style_attr(Style s, attr_t& attr, short& pair) {
    const Look l = look_for(s, false);
    if (g_colors) {
        attr = look_for(s, COLORS >= 256).attr;
        pair = static_cast<short>(static_cast<int>(s) + 1);
        return;
    }
    attr = l.attr;
    if (s == Style::Reasoning || s == Style::ReasoningLabel || s == Style::Meta) attr |= A_DIM;
    pair = 0;
}

void put_cluster(int y, int x, const std::u32string& part, attr_t attr, short pair) {
    wchar_t buf[CCHARW_MAX + 1] = {};
    for (size_t i = 0; i < part.size() && i < static_cast<size_t>(CCHARW_MAX); ++i) buf[i] = static_cast<wchar_t>(part[i]);
    cchar_t cc;
    setcchar(&cc, buf, attr, pair, nullptr);
    mvadd_wch(y, x, &cc);
}

}  // namespace

CursesScreen::CursesScreen() {
    SCREEN* s = newterm(nullptr, stdout, stdin);
    if (!s) {
        const char* term = std::getenv("TERM");
        runtime_error("cannot drive this terminal (TERM={}); try `ascent chat --plain`", term ? term : "unset");
    }
    term_ = s;
    set_term(s);
    raw();  // Ctrl-C, Ctrl-Z and friends arrive as keys: the TUI decides what they do
    noecho();
    nonl();  // Enter is '\r', Ctrl-J is '\n': two different keys
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    intrflush(stdscr, FALSE);
    set_escdelay(25);
    mousemask(BUTTON4_PRESSED | BUTTON5_PRESSED, nullptr);
    mouseinterval(0);
    define_key("\033[200~", kKeyPasteBegin);
    define_key("\033[201~", kKeyPasteEnd);
    if (has_colors() && start_color() == OK) {
        g_colors = true;
        const bool defaults = use_default_colors() == OK;
        const bool rich = COLORS >= 256;
        for (int i = 0; i < kStyleCount; ++i) {
            Look l = look_for(static_cast<Style>(i), rich);
            if (!defaults) {
                if (l.fg < 0) l.fg = COLOR_WHITE;
                if (l.bg < 0) l.bg = COLOR_BLACK;
            }
            init_pair(static_cast<short>(i + 1), l.fg, l.bg);
        }
    }
    ::refresh();
    write_raw("\033[?2004h");  // bracketed paste: a pasted block arrives between markers
}

CursesScreen::~CursesScreen() {
    write_raw("\033[?2004l");
    endwin();
    delscreen(static_cast<SCREEN*>(term_));
    g_colors = false;
}

int CursesScreen::cols() const { return COLS; }
int CursesScreen::rows() const { return LINES; }

void CursesScreen::resize_from_terminal() {
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) resizeterm(ws.ws_row, ws.ws_col);
}

void CursesScreen::clear() { erase(); }

void CursesScreen::draw(int y, int x, int width, const StyledLine& line) {
    if (y < 0 || y >= LINES || width <= 0) return;
    const int start = x + line.indent;
    const int end = std::min(x + width, COLS);
    attr_t attr;
    short pair;
    if (line.fill) {
        style_attr(line.style_at(line.text.size()), attr, pair);
        for (int c = start; c < end; ++c) put_cluster(y, c, U" ", attr, pair);
    }
    int col = start;
    for (auto c : grapheme_clusters(line.text)) {
        const size_t off = static_cast<size_t>(c.data() - line.text.data());
        style_attr(line.style_at(off), attr, pair);
        if (c == "\t") {
            const int n = kTabWidth - (col - start) % kTabWidth;
            for (int i = 0; i < n && col < end; ++i) put_cluster(y, col++, U" ", attr, pair);
            continue;
        }
        if (c == "\n") continue;
        for (const auto& part : display_parts(c)) {
            const int w = std::max(1, utf8proc_charwidth(static_cast<utf8proc_int32_t>(part[0])));
            if (col + w > end) return;
            put_cluster(y, col, part, attr, pair);
            col += w;
        }
    }
}

void CursesScreen::text(int y, int x, int width, const std::string& s, Style style) {
    StyledLine l(s, style);
    l.preformatted = true;
    draw(y, x, width, l);
}

void CursesScreen::hline(int y, int x, int width, const std::string& title, Style style) {
    std::string rule;
    for (int i = 0; i < width; ++i) rule += "─";
    text(y, x, width, rule, style);
    if (!title.empty() && width > 6) text(y, x + 2, width - 4, fmt::format(" {} ", truncate_to_width(title, width - 6)), style);
}

void CursesScreen::vline(int x, int y, int height, Style style) {
    for (int i = 0; i < height; ++i) text(y + i, x, 1, "│", style);
}

void CursesScreen::fill(const Rect& r, Style style) {
    attr_t attr;
    short pair;
    style_attr(style, attr, pair);
    for (int y = r.y; y < r.y + r.h; ++y)
        for (int x = r.x; x < r.x + r.w; ++x) put_cluster(y, x, U" ", attr, pair);
}

void CursesScreen::reverse_bar(int y, int x, int width, const std::string& s) {
    attron(A_REVERSE);
    mvhline(y, x, ' ', width);
    attroff(A_REVERSE);
    const std::string shown = truncate_to_width(s, width);
    // Drawn cell by cell so that wide characters land where text_width.h says.
    int col = x;
    for (auto c : grapheme_clusters(shown)) {
        for (const auto& part : display_parts(c)) {
            const int cw = std::max(1, utf8proc_charwidth(static_cast<utf8proc_int32_t>(part[0])));
            if (col + cw > x + width) break;
            put_cluster(y, col, part, A_REVERSE, 0);
            col += cw;
        }
    }
}

void CursesScreen::cursor(int y, int x, bool visible) {
    curs_set(visible ? 1 : 0);
    if (visible) move(y, x);
}

void CursesScreen::refresh() { ::refresh(); }

void CursesScreen::force_full_redraw() { clearok(curscr, TRUE); }

void CursesScreen::write_raw(const std::string& bytes) {
    std::fflush(stdout);
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(STDOUT_FILENO, bytes.data() + done, bytes.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
}

std::string base64(const std::string& bytes) {
    static const char* const kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                           static_cast<uint8_t>(bytes[i + 2]);
        for (int k = 3; k >= 0; --k) out += kAlphabet[(v >> (6 * k)) & 63];
    }
    if (i + 1 == bytes.size()) {
        const uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == bytes.size()) {
        const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::string osc52_copy(const std::string& text) { return fmt::format("\033]52;c;{}\a", base64(text)); }

}  // namespace ascent::ui
