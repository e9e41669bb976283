#pragma once
// GNU readline as the TUI's input line, through its callback interface. Curses owns the
// terminal, so readline never reads or writes it: the TUI hands it bytes (rl_getc_function
// reads them from a queue, rl_input_available_hook says whether more are queued), readline
// edits rl_line_buffer, and rl_redisplay_function only marks the input as changed; the TUI
// draws it. Readline is one global state, so there is one LineEditor at a time.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ascent::ui {

// $XDG_STATE_HOME/ascent/history, else ~/.local/state/ascent/history; empty when neither
// variable is set.
std::filesystem::path default_history_file();

// Readline's history, configured so that multi-line entries survive the file (each entry is
// written after a timestamp line and read back whole). Shared by the TUI and the plain REPL.
void load_history(const std::filesystem::path& file);
void remember_line(const std::string& line, const std::filesystem::path& file);
void trim_history_file(const std::filesystem::path& file);

class LineEditor {
public:
    LineEditor(std::string prompt, std::filesystem::path history_file);
    ~LineEditor();
    LineEditor(const LineEditor&) = delete;
    LineEditor& operator=(const LineEditor&) = delete;

    // Typed bytes (UTF-8 text, control keys, ESC-prefixed Alt keys), as a terminal sends them.
    void feed(std::string_view bytes);
    // Text inserted at the cursor as it is: a pasted block, a newline.
    void insert(std::string_view text);
    // A readline command such as rl_backward_char, for keys curses has already decoded.
    void command(int (*fn)(int, int), int count = 1);
    // The line Enter accepted, once.
    std::optional<std::string> take_line();

    std::string text() const;
    size_t cursor() const;         // byte offset into text()
    std::string prompt() const;    // readline's current prompt (the search prompt during Ctrl-R)
    bool empty() const;
    void set_text(const std::string& text);  // replaces the line, cursor at its end
    // True once after every change; the TUI redraws the input then.
    bool take_changed();
    // Completion candidates readline could not insert (more than one match), for display.
    std::optional<std::string> take_matches();

private:
    std::string prompt_;
    std::filesystem::path history_file_;
};

}  // namespace ascent::ui
