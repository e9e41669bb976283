#include "ui/line_editor.h"

// readline's headers use FILE without including <cstdio> first.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <readline/history.h>
#include <readline/readline.h>

#include "engine/error.h"
#include "ui/commands.h"

namespace ascent::ui {

namespace {

constexpr int kHistoryEntries = 1000;

struct State {
    std::string queue;
    size_t pos = 0;
    std::optional<std::string> line;
    bool changed = true;
    std::optional<std::string> matches;
    FILE* devnull = nullptr;
};
State* g_state = nullptr;

int queued_getc(FILE*) {
    if (g_state->pos < g_state->queue.size()) return static_cast<unsigned char>(g_state->queue[g_state->pos++]);
    return EOF;
}
int queued_available() { return g_state->pos < g_state->queue.size() ? 1 : 0; }
void mark_changed() { g_state->changed = true; }
void no_prep(int) {}
void no_deprep() {}

void accept_line(char* line) {
    if (!line) return;  // EOF: Ctrl-D on an empty line is handled before readline sees it
    g_state->line = std::string(line);
    std::free(line);
}

char* complete_next(const char* text, int state) {
    static std::vector<std::string> found;
    static size_t next = 0;
    if (state == 0) {
        found.clear();
        next = 0;
        const std::string_view prefix(text);
        for (const auto& c : completion_candidates())
            if (c.starts_with(prefix)) found.push_back(c);
    }
    if (next >= found.size()) return nullptr;
    return strdup(found[next++].c_str());
}

char** complete(const char* text, int, int) {
    rl_attempted_completion_over = 1;  // slash commands only, never file names
    if (text[0] != '/') return nullptr;
    return rl_completion_matches(text, complete_next);
}

void show_matches(char** matches, int count, int) {
    std::string s;
    for (int i = 1; i <= count; ++i) s += (i > 1 ? "  " : "") + std::string(matches[i]);
    g_state->matches = s;
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\n") == std::string::npos; }

}  // namespace

std::filesystem::path default_history_file() {
    if (const char* x = std::getenv("XDG_STATE_HOME"); x && x[0] == '/') return std::filesystem::path(x) / "ascent/history";
    if (const char* home = std::getenv("HOME"); home && home[0]) return std::filesystem::path(home) / ".local/state/ascent/history";
    return {};
}

void load_history(const std::filesystem::path& file) {
    using_history();
    // Each entry is written after a "#<time>" line and, with multiline entries on, read back as
    // everything up to the next one. Without a comment character readline stores no timestamp.
    history_comment_char = '#';
    history_write_timestamps = 1;
    history_multiline_entries = 1;
    if (!file.empty() && std::filesystem::exists(file)) read_history(file.c_str());
}

void remember_line(const std::string& line, const std::filesystem::path& file) {
    if (blank(line)) return;
    if (history_length > 0) {
        HIST_ENTRY* last = history_get(history_base + history_length - 1);
        if (last && line == last->line) return;
    }
    add_history(line.c_str());
    if (file.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    // append_history does not create the file; write_history does (mode 0600).
    if (std::filesystem::exists(file)) append_history(1, file.c_str());
    else write_history(file.c_str());
}

void trim_history_file(const std::filesystem::path& file) {
    if (!file.empty() && std::filesystem::exists(file)) history_truncate_file(file.c_str(), kHistoryEntries);
}

LineEditor::LineEditor(std::string prompt, std::filesystem::path history_file)
    : prompt_(std::move(prompt)), history_file_(std::move(history_file)) {
    if (g_state) runtime_error("only one line editor can be active at a time (readline is global)");
    g_state = new State;
    g_state->devnull = std::fopen("/dev/null", "w");
    rl_readline_name = "ascent";
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_prep_term_function = no_prep;
    rl_deprep_term_function = no_deprep;
    rl_getc_function = queued_getc;
    rl_input_available_hook = queued_available;
    rl_redisplay_function = mark_changed;
    rl_instream = stdin;
    rl_outstream = g_state->devnull;  // whatever readline would print (bell, listings) goes nowhere
    rl_attempted_completion_function = complete;
    rl_completion_display_matches_hook = show_matches;
    rl_completer_word_break_characters = "\n";  // a command line completes as a whole
    load_history(history_file_);
    rl_callback_handler_install(prompt_.c_str(), accept_line);
    rl_variable_bind("enable-bracketed-paste", "off");  // the TUI decodes pastes itself
    rl_variable_bind("bell-style", "none");
    rl_variable_bind("show-all-if-ambiguous", "on");
}

LineEditor::~LineEditor() {
    rl_callback_handler_remove();
    trim_history_file(history_file_);
    rl_getc_function = rl_getc;
    rl_input_available_hook = nullptr;
    rl_redisplay_function = rl_redisplay;
    rl_prep_term_function = rl_prep_terminal;
    rl_deprep_term_function = rl_deprep_terminal;
    rl_attempted_completion_function = nullptr;
    rl_completion_display_matches_hook = nullptr;
    rl_outstream = stdout;
    if (g_state->devnull) std::fclose(g_state->devnull);
    delete g_state;
    g_state = nullptr;
}

void LineEditor::feed(std::string_view bytes) {
    g_state->queue.append(bytes);
    while (g_state->pos < g_state->queue.size()) {
        const size_t before = g_state->pos;
        rl_callback_read_char();
        if (g_state->pos == before) break;  // readline took nothing: never spin
    }
    g_state->queue.erase(0, g_state->pos);
    g_state->pos = 0;
    g_state->changed = true;
}

void LineEditor::insert(std::string_view text) {
    rl_insert_text(std::string(text).c_str());
    g_state->changed = true;
}

void LineEditor::command(int (*fn)(int, int), int count) {
    fn(count, 0);
    g_state->changed = true;
}

std::optional<std::string> LineEditor::take_line() {
    auto l = std::move(g_state->line);
    g_state->line.reset();
    if (l) remember_line(*l, history_file_);
    return l;
}

std::string LineEditor::text() const { return rl_line_buffer ? std::string(rl_line_buffer, static_cast<size_t>(rl_end)) : ""; }
size_t LineEditor::cursor() const { return static_cast<size_t>(rl_point); }
std::string LineEditor::prompt() const { return rl_display_prompt ? rl_display_prompt : prompt_; }
bool LineEditor::empty() const { return rl_end == 0; }

void LineEditor::set_text(const std::string& text) {
    rl_replace_line(text.c_str(), 0);
    rl_point = rl_end;
    g_state->changed = true;
}

bool LineEditor::take_changed() {
    const bool c = g_state->changed;
    g_state->changed = false;
    return c;
}

std::optional<std::string> LineEditor::take_matches() {
    auto m = std::move(g_state->matches);
    g_state->matches.reset();
    return m;
}

}  // namespace ascent::ui
