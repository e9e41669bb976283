#include "app/terminal_io.h"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <iostream>
#include <iterator>

#include "engine/error.h"
#include "engine/tokenizer/utf8.h"

namespace ascent::app {

namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) {
    if (g_interrupted.exchange(true)) _exit(130);
}

}  // namespace

bool write_stdout(std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(STDOUT_FILENO, s.data(), s.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;  // EPIPE and friends: nobody is reading any more
        }
        s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

void install_signal_handlers() {
    std::signal(SIGPIPE, SIG_IGN);
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
}

const std::atomic<bool>& interrupted() { return g_interrupted; }

std::string read_stdin_utf8() {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (size_t bad = tok::find_invalid_utf8(text); bad != std::string::npos)
        input_error("standard input is not valid UTF-8 (first bad byte at offset {})", bad);
    return text;
}

bool stdin_is_terminal() { return isatty(STDIN_FILENO) == 1; }
bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

}  // namespace ascent::app
