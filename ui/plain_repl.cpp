#include "ui/plain_repl.h"

#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <readline/readline.h>

#include <fmt/format.h>

#include "ui/chat_controller.h"
#include "ui/curses_screen.h"
#include "ui/engine_worker.h"
#include "ui/line_editor.h"
#include "ui/signal_pipe.h"
#include "ui/stats_view.h"
#include "ui/text_width.h"
#include "ui/tui.h"

namespace ascent::ui {

namespace {

constexpr const char* kPrompt = "> ";

// The line readline's callback accepted (a static: the callback takes no context).
std::optional<std::string> g_line;
bool g_eof = false;

void accept(char* line) {
    rl_callback_handler_remove();  // no new prompt until the answer is printed (or at all, on EOF)
    if (!line) {
        g_eof = true;
        return;
    }
    g_line = std::string(line);
    std::free(line);
}

void out(std::string_view s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

class PlainRepl {
public:
    PlainRepl(SignalPipe& signals, EngineWorker& worker, ChatController& ctrl, const PlainOptions& opt)
        : signals_(signals), worker_(worker), ctrl_(ctrl), opt_(opt) {
        interactive_ = isatty(STDIN_FILENO) == 1;
        const char* term = std::getenv("TERM");
        styled_ = isatty(STDOUT_FILENO) == 1 && term && *term && std::strcmp(term, "dumb") != 0;
    }

    int run() {
        print_new_entries();
        if (!interactive_) return run_piped();
        load_history(opt_.history_file);
        rl_catch_signals = 0;  // SIGINT is ours: it stops an answer or clears the line
        rl_catch_sigwinch = 0;
        install_prompt();
        int code = 0;
        while (!quit_) {
            pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {signals_.fd(), POLLIN, 0}};
            if (poll(fds, 2, -1) < 0) continue;
            if (fds[1].revents & POLLIN) {
                signals_.drain();
                if (signals_.take_resize()) rl_resize_terminal();
                if (signals_.take_terminate()) break;
                if (signals_.take_interrupt()) {
                    // As in bash: drop the line being typed and show a fresh prompt.
                    rl_free_line_state();
                    rl_callback_sigcleanup();
                    rl_cleanup_after_signal();
                    out("^C (Ctrl-D or /quit leaves)\n");
                    rl_reset_after_signal();
                    rl_replace_line("", 0);
                    rl_on_new_line();
                    rl_redisplay();
                }
            }
            if (!(fds[0].revents & (POLLIN | POLLHUP))) continue;
            rl_callback_read_char();
            if (g_eof) {
                out("\n");
                break;
            }
            if (!g_line) continue;
            std::string line = std::move(*g_line);
            g_line.reset();
            remember_line(line, opt_.history_file);
            process(line);
            if (!quit_) install_prompt();
        }
        rl_callback_handler_remove();
        trim_history_file(opt_.history_file);
        return code;
    }

private:
    int run_piped() {
        std::string line;
        while (!quit_ && std::getline(std::cin, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            process(line);
        }
        return signals_.take_interrupt() ? 130 : 0;
    }

    void install_prompt() {
        rl_callback_handler_install(ctrl_.info().chat ? kPrompt : "… ", accept);
        if (returned_) {
            rl_insert_text(returned_->c_str());
            rl_redisplay();
            returned_.reset();
        }
    }

    void process(const std::string& line) {
        if (!interactive_) {
            if (ctrl_.info().chat) out(std::string(kPrompt) + line + "\n");  // the transcript reads as a dialogue
            else if (!line.empty()) out(line + "\n");
        }
        const auto o = ctrl_.submit(line);
        print_new_entries();
        if (o.copy && styled_) out(osc52_copy(*o.copy));
        if (o.quit) {
            quit_ = true;
            return;
        }
        wait_for_answer();
    }

    void wait_for_answer() {
        bool in_reasoning = false, wrote = false;
        while (ctrl_.generating()) {
            pollfd fds[2] = {{worker_.wake_fd(), POLLIN, 0}, {signals_.fd(), POLLIN, 0}};
            if (poll(fds, 2, -1) < 0) continue;
            if (fds[1].revents & POLLIN) {
                signals_.drain();
                if (signals_.take_interrupt()) ctrl_.cancel();
                if (signals_.take_terminate()) {
                    ctrl_.cancel();
                    quit_ = true;
                }
            }
            if (!(fds[0].revents & POLLIN)) continue;
            for (const auto& e : worker_.take_events()) {
                if (e.kind == EngineEvent::Kind::Text) {
                    if (!e.reasoning.empty()) {
                        if (!in_reasoning) out(styled_ ? "\033[2;3m" : "[thinking]\n");
                        in_reasoning = true;
                        out(sanitize_for_display(e.reasoning));
                    }
                    if (!e.content.empty()) {
                        if (in_reasoning) out(styled_ ? "\033[0m\n" : "\n[/thinking]\n");
                        in_reasoning = false;
                        out(sanitize_for_display(e.content));
                    }
                    wrote = true;
                }
                ctrl_.handle(e);
                if (e.kind == EngineEvent::Kind::Done) {
                    if (in_reasoning) out(styled_ ? "\033[0m" : "\n[/thinking]");
                    if (wrote) out("\n");
                    if (e.result.finish_reason != "error" && (wrote || e.result.finish_reason != "cancelled"))
                        out(footer(e.result));
                }
            }
        }
        returned_ = ctrl_.take_returned_input();
        print_new_entries();
    }

    std::string footer(const TurnResult& r) const {
        const double rate = r.decode_seconds > 0 && r.generated_tokens > 1
                                ? static_cast<double>(r.generated_tokens - 1) / r.decode_seconds
                                : 0;
        std::string s = fmt::format("[ {} tokens · prefill {:.1f} tok/s ({} reused) · decode {:.1f} tok/s · TTFT {} · {}{} ]",
                                    r.generated_tokens,
                                    r.prefill_seconds > 0 ? static_cast<double>(r.prompt_tokens - r.reused_tokens) / r.prefill_seconds : 0,
                                    r.reused_tokens, rate, format_ms(r.ttft_seconds), r.mode,
                                    r.finish_reason == "cancelled" ? " · stopped" : "");
        return styled_ ? "\033[2m" + s + "\033[0m\n" : s + "\n";
    }

    // Notices and errors as they are added; after /load or /clear everything from the start.
    void print_new_entries() {
        Transcript& t = ctrl_.transcript();
        bool whole = false;
        if (auto from = t.take_removed_from()) {
            printed_ = std::min(printed_, *from);
            whole = *from == 0;
        }
        for (; printed_ < t.size(); ++printed_) {
            const Entry& e = t.at(printed_);
            switch (e.kind) {
            case Entry::Kind::Notice: out(styled_ ? "\033[33m" + sanitize_for_display(e.text) + "\033[0m\n" : sanitize_for_display(e.text) + "\n"); break;
            case Entry::Kind::Error: out(styled_ ? "\033[1;31merror: " + sanitize_for_display(e.text) + "\033[0m\n" : "error: " + sanitize_for_display(e.text) + "\n"); break;
            case Entry::Kind::User:
                if (whole) out(std::string(kPrompt) + sanitize_for_display(e.text) + "\n");
                break;
            case Entry::Kind::Assistant:
                if (whole && !e.streaming) out(sanitize_for_display(e.text) + "\n");
                break;
            case Entry::Kind::Pad:
                if (whole)
                    for (const auto& seg : e.pad) out(sanitize_for_display(seg.text));
                if (whole) out("\n");
                break;
            }
        }
    }

    SignalPipe& signals_;
    EngineWorker& worker_;
    ChatController& ctrl_;
    const PlainOptions& opt_;
    bool interactive_ = false;
    bool styled_ = false;
    bool quit_ = false;
    size_t printed_ = 0;
    std::optional<std::string> returned_;
};

}  // namespace

int run_plain(ChatBackend& backend, const Conversation& initial, const PlainOptions& options) {
    use_utf8_locale();
    SignalPipe signals;
    EngineWorker worker(backend);
    ChatController ctrl(worker, initial);
    PlainRepl repl(signals, worker, ctrl, options);
    return repl.run();
}

}  // namespace ascent::ui
