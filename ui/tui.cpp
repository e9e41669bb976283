#include "ui/tui.h"

#include <langinfo.h>
// Curses defines clear(), refresh(), hline() ... as macros, which would rewrite our own names.
#define NCURSES_NOMACROS
#include <ncursesw/curses.h>
#include <poll.h>
#include <unistd.h>

#include <readline/readline.h>

#include <clocale>
#include <cstring>

#include <fmt/format.h>

#include "engine/process_memory.h"
#include "ui/chat_controller.h"
#include "ui/curses_screen.h"
#include "ui/engine_worker.h"
#include "ui/input_view.h"
#include "ui/layout.h"
#include "ui/line_editor.h"
#include "ui/signal_pipe.h"
#include "ui/stats_view.h"
#include "ui/text_width.h"

namespace ascent::ui {

namespace {

constexpr double kFrameSeconds = 1.0 / 30;   // streaming text redraws at most this often
constexpr double kStatsSeconds = 0.2;        // the stats pane refreshes this often while generating
constexpr double kFlashSeconds = 4.0;
constexpr int kWheelLines = 3;

std::string utf8(wint_t ch) {
    std::string out;
    const auto c = static_cast<uint32_t>(ch);
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
    return out;
}

// The key code curses assigned to an extended terminfo key (e.g. Ctrl-Left), or -1.
int extended_key(const char* capability) {
    const char* seq = tigetstr(capability);
    if (!seq || seq == reinterpret_cast<const char*>(-1)) return -1;
    const int code = key_defined(seq);
    return code > 0 ? code : -1;
}

class Tui {
public:
    Tui(SignalPipe& signals, EngineWorker& worker, ChatController& ctrl, CursesScreen& screen, LineEditor& editor,
        bool show_stats)
        : signals_(signals), worker_(worker), ctrl_(ctrl), screen_(screen), editor_(editor), show_stats_(show_stats) {
        ctrl_word_left_ = extended_key("kLFT5");
        ctrl_word_right_ = extended_key("kRIT5");
    }

    int run() {
        while (!quit_) {
            const double now = monotonic_seconds();
            if (ctrl_.generating() && now - last_draw_ >= kStatsSeconds) dirty_ = true;
            if (editor_.take_changed()) dirty_ = true;
            if (ctrl_.revision() != seen_revision_) {
                seen_revision_ = ctrl_.revision();
                dirty_ = true;
            }
            if (!flash_.empty() && now > flash_until_) {
                flash_.clear();
                dirty_ = true;
            }
            int timeout_ms = ctrl_.generating() ? static_cast<int>(kStatsSeconds * 1000) : 1000;
            if (dirty_) {
                if (now - last_draw_ >= kFrameSeconds) {
                    draw(now);
                    last_draw_ = now;
                    dirty_ = false;
                } else {
                    timeout_ms = std::max(1, static_cast<int>((kFrameSeconds - (now - last_draw_)) * 1000));
                }
            }
            pollfd fds[3] = {{STDIN_FILENO, POLLIN, 0}, {worker_.wake_fd(), POLLIN, 0}, {signals_.fd(), POLLIN, 0}};
            poll(fds, 3, timeout_ms);
            if (fds[2].revents & POLLIN) handle_signals();
            if (fds[1].revents & POLLIN) handle_events();
            if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) quit_ = true;  // the terminal went away
            read_keys();
            ctrl_.stats().tick(monotonic_seconds());
        }
        ctrl_.cancel();
        return 0;
    }

private:
    void flash(const std::string& text) {
        flash_ = text;
        flash_until_ = monotonic_seconds() + kFlashSeconds;
        dirty_ = true;
    }

    void handle_signals() {
        signals_.drain();
        if (signals_.take_resize()) {
            screen_.resize_from_terminal();
            dirty_ = true;
        }
        if (signals_.take_interrupt()) ctrl_c();  // `kill -INT` from outside acts as Ctrl-C
        if (signals_.take_terminate()) quit_ = true;
    }

    void handle_events() {
        for (const auto& e : worker_.take_events()) ctrl_.handle(e);
        if (auto back = ctrl_.take_returned_input(); back && editor_.empty()) editor_.set_text(*back);
        dirty_ = true;
    }

    void read_keys() {
        wint_t ch;
        int r;
        while ((r = get_wch(&ch)) != ERR) {
            if (r == KEY_CODE_YES) key(static_cast<int>(ch));
            else character(ch);
            dirty_ = true;
        }
    }

    void ctrl_c() {
        if (ctrl_.generating()) {
            ctrl_.cancel();
            flash("stopping…");
        } else {
            confirm_quit_ = true;
        }
        dirty_ = true;
    }

    void key(int k) {
        if (k == KEY_RESIZE) return;
        if (in_paste_) {
            if (k == kKeyPasteEnd) {
                in_paste_ = false;
                editor_.insert(paste_);
                paste_.clear();
            }
            return;
        }
        if (confirm_quit_) {
            confirm_quit_ = false;
            return;
        }
        if (k == kKeyPasteBegin) {
            in_paste_ = true;
            return;
        }
        if (k == ctrl_word_left_) return editor_.command(rl_backward_word);
        if (k == ctrl_word_right_) return editor_.command(rl_forward_word);
        switch (k) {
        case KEY_F(1): ctrl_.submit("/help"); scroll_back_ = 0; return;
        case KEY_F(2):
            ctrl_.toggle_mode();
            flash(fmt::format("mode → {} (from the next token)", mode_name(ctrl_.requested_mode())));
            return;
        case KEY_F(3): show_stats_ = !show_stats_; return;
        case KEY_F(4): ctrl_.toggle_fold(); return;
        case KEY_PPAGE: scroll_back_ += std::max(1, chat_height_ - 2); return;
        case KEY_NPAGE: scroll_back_ = std::max(0, scroll_back_ - std::max(1, chat_height_ - 2)); return;
        case KEY_MOUSE: {
            MEVENT ev;
            if (getmouse(&ev) != OK) return;
            if (ev.bstate & BUTTON4_PRESSED) scroll_back_ += kWheelLines;
            if (ev.bstate & BUTTON5_PRESSED) scroll_back_ = std::max(0, scroll_back_ - kWheelLines);
            return;
        }
        case KEY_ENTER: submit(); return;
        case KEY_LEFT: editor_.command(rl_backward_char); return;
        case KEY_RIGHT: editor_.command(rl_forward_char); return;
        case KEY_UP: editor_.command(rl_get_previous_history); return;
        case KEY_DOWN: editor_.command(rl_get_next_history); return;
        case KEY_HOME: editor_.command(rl_beg_of_line); return;
        case KEY_END: editor_.command(rl_end_of_line); return;
        case KEY_BACKSPACE: editor_.command(rl_rubout); return;
        case KEY_DC: editor_.command(rl_delete); return;
        default: return;
        }
    }

    void character(wint_t ch) {
        if (in_paste_) {
            paste_ += ch == '\r' ? std::string("\n") : utf8(ch);  // terminals send pasted lines ending in CR
            return;
        }
        if (confirm_quit_) {
            confirm_quit_ = false;
            if (ch == 'y' || ch == 'Y' || ch == 3) quit_ = true;
            return;
        }
        switch (ch) {
        case 3: ctrl_c(); return;                 // Ctrl-C
        case 4:                                   // Ctrl-D
            if (editor_.empty()) quit_ = true;
            else editor_.feed("\x04");
            return;
        case '\r': submit(); return;              // Enter
        case '\n': editor_.insert("\n"); return;  // Ctrl-J
        case 12: screen_.force_full_redraw(); return;  // Ctrl-L
        case 26: return;                          // Ctrl-Z: no job control inside the TUI
        case 27: escape(); return;
        case '\t':
            editor_.feed("\t");
            if (auto m = editor_.take_matches()) flash(*m);
            return;
        default: editor_.feed(utf8(ch)); return;
        }
    }

    // ESC alone, or the prefix of an Alt-key: Alt-Enter adds a line, other Alt keys go to readline.
    void escape() {
        wint_t next;
        const int r = get_wch(&next);
        if (r == ERR) return;
        if (r == KEY_CODE_YES) return key(static_cast<int>(next));
        if (next == '\r' || next == '\n') return editor_.insert("\n");
        editor_.feed(fmt::format("\x1b{}", utf8(next)));
    }

    void submit() {
        const std::string text = editor_.text();
        if (ctrl_.generating() && !parse_command(text)) {
            flash("the answer is still coming: Ctrl-C stops it; your text stays here");
            return;
        }
        editor_.feed("\r");
        auto line = editor_.take_line();
        if (!line) return;
        scroll_back_ = 0;
        const auto out = ctrl_.submit(*line);
        if (out.quit) quit_ = true;
        if (out.copy) {
            screen_.refresh();
            screen_.write_raw(osc52_copy(*out.copy));
        }
    }

    void draw(double now) {
        screen_.clear();
        const int cols = screen_.cols(), rows = screen_.rows();
        const InputView input = layout_input(editor_.prompt(), editor_.text(), editor_.cursor(), cols - 1);
        const Layout l = compute_layout(cols, rows, show_stats_, static_cast<int>(input.rows.size()));
        if (l.too_small) {
            draw_too_small(cols, rows);
            screen_.refresh();
            return;
        }
        const EngineStatus status = worker_.backend().status();
        draw_chat(l.chat);
        if (!l.stats.empty()) draw_stats(l, status, now);
        const std::string hint = ctrl_.generating()
                                     ? "Ctrl-C stop · F2 eager/graph · F3 stats · PgUp/PgDn scroll"
                                     : "Enter send · Alt-Enter/Ctrl-J new line · F1 help · F2 eager/graph · F3 stats";
        screen_.hline(l.input_rule.y, 0, cols, hint, Style::Meta);
        const int top = std::max(0, input.cursor_row - l.input.h + 1);
        for (int i = 0; i < l.input.h && top + i < static_cast<int>(input.rows.size()); ++i)
            screen_.text(l.input.y + i, 0, cols, input.rows[static_cast<size_t>(top + i)], Style::Normal);
        std::string status_line = ctrl_.status_text(status);
        if (confirm_quit_) status_line = " Quit ascent? y: quit · any other key: stay";
        else if (!flash_.empty()) status_line = fmt::format(" {}  │{}", flash_, status_line);
        screen_.reverse_bar(l.status.y, 0, cols, status_line);
        screen_.cursor(l.input.y + input.cursor_row - top, input.cursor_col, !confirm_quit_);
        screen_.refresh();
    }

    void draw_too_small(int cols, int rows) {
        const std::string lines[] = {
            "Terminal too small",
            fmt::format("{}x{}: ascent needs at least {}x{}", cols, rows, kMinCols, kMinRows),
            "Enlarge the window, or press Ctrl-D to quit",
        };
        for (int i = 0; i < 3; ++i) {
            const std::string text = truncate_to_width(lines[i], cols);
            const int x = std::max(0, (cols - display_width(text)) / 2);
            screen_.text(rows / 2 - 1 + i, x, cols - x, text, i == 0 ? Style::Error : Style::Normal);
        }
        screen_.cursor(0, 0, false);
    }

    void draw_chat(const Rect& r) {
        chat_height_ = r.h;
        const int width = std::max(1, r.w - 2);
        Transcript& t = ctrl_.transcript();
        const int total = t.line_count(width);
        // While scrolled back, new text must not move what the user is reading.
        if (scroll_back_ > 0 && width == last_width_ && total > last_total_) scroll_back_ += total - last_total_;
        last_total_ = total;
        last_width_ = width;
        scroll_back_ = std::clamp(scroll_back_, 0, std::max(0, total - r.h));
        const int first = std::max(0, total - r.h - scroll_back_);
        const auto lines = t.lines(width, first, r.h);
        for (size_t i = 0; i < lines.size(); ++i) screen_.draw(r.y + static_cast<int>(i), r.x + 1, width, lines[i]);
        if (scroll_back_ > 0) {
            const std::string more = fmt::format(" ↓ {} more lines · PgDn ", scroll_back_);
            const int w = display_width(more);
            screen_.reverse_bar(r.y + r.h - 1, std::max(r.x, r.x + r.w - w - 1), std::min(w, r.w), more);
        }
    }

    void draw_stats(const Layout& l, const EngineStatus& status, double now) {
        const StatsInput in = ctrl_.stats_input(status, now, process_rss_bytes());
        if (l.stats_beside) {
            screen_.vline(l.stats.x, l.stats.y, l.stats.h, Style::Meta);
            const int width = l.stats.w - 3;
            const auto lines = stats_lines(in, width);
            for (int i = 0; i < l.stats.h && i < static_cast<int>(lines.size()); ++i)
                screen_.draw(l.stats.y + i, l.stats.x + 2, width, lines[static_cast<size_t>(i)]);
            return;
        }
        screen_.hline(l.stats.y, l.stats.x, l.stats.w, "stats · F3 hides", Style::Meta);
        const auto lines = compact_stats_lines(in, l.stats.w - 2, l.stats.h - 1);
        for (int i = 0; i < l.stats.h - 1 && i < static_cast<int>(lines.size()); ++i)
            screen_.draw(l.stats.y + 1 + i, l.stats.x + 1, l.stats.w - 2, lines[static_cast<size_t>(i)]);
    }

    SignalPipe& signals_;
    EngineWorker& worker_;
    ChatController& ctrl_;
    CursesScreen& screen_;
    LineEditor& editor_;
    bool show_stats_;
    bool quit_ = false;
    bool dirty_ = true;
    bool confirm_quit_ = false;
    bool in_paste_ = false;
    std::string paste_;
    double last_draw_ = 0;
    uint64_t seen_revision_ = 0;
    std::string flash_;
    double flash_until_ = 0;
    int scroll_back_ = 0;
    int chat_height_ = 10;
    int last_total_ = 0;
    int last_width_ = 0;
    int ctrl_word_left_ = -1, ctrl_word_right_ = -1;
};

}  // namespace

void use_utf8_locale() {
    std::setlocale(LC_CTYPE, "");
    const char* codeset = nl_langinfo(CODESET);
    if (codeset && (std::strcmp(codeset, "UTF-8") == 0 || std::strcmp(codeset, "utf8") == 0)) return;
    if (!std::setlocale(LC_CTYPE, "C.UTF-8")) std::setlocale(LC_CTYPE, "C.utf8");
}

int run_tui(ChatBackend& backend, const Conversation& initial, const TuiOptions& options) {
    use_utf8_locale();
    SignalPipe signals;  // before curses, which then leaves SIGWINCH and SIGINT to us
    EngineWorker worker(backend);
    ChatController ctrl(worker, initial);
    CursesScreen screen;
    LineEditor editor("› ", options.history_file);
    Tui tui(signals, worker, ctrl, screen, editor, options.show_stats);
    return tui.run();
}

}  // namespace ascent::ui
