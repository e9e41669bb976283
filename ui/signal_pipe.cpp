#include "ui/signal_pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <iterator>

#include "engine/error.h"

namespace ascent::ui {

namespace {

int g_pipe[2] = {-1, -1};
volatile sig_atomic_t g_resize = 0, g_interrupt = 0, g_terminate = 0;
constexpr int kSignals[] = {SIGWINCH, SIGINT, SIGTERM, SIGHUP};
struct sigaction g_old[std::size(kSignals)];
struct sigaction g_old_pipe;
bool g_active = false;

void on_signal(int sig) {
    const int saved = errno;
    if (sig == SIGWINCH) g_resize = 1;
    else if (sig == SIGINT) g_interrupt = 1;
    else g_terminate = 1;
    const char b = 1;
    [[maybe_unused]] auto n = write(g_pipe[1], &b, 1);
    errno = saved;
}

bool take(volatile sig_atomic_t& flag) {
    const bool set = flag != 0;
    flag = 0;
    return set;
}

}  // namespace

SignalPipe::SignalPipe() {
    if (g_active) runtime_error("only one signal pipe can be active at a time");
    if (pipe2(g_pipe, O_NONBLOCK | O_CLOEXEC) != 0) runtime_error("cannot create a pipe for signals");
    g_active = true;
    g_resize = 0;
    g_interrupt = 0;
    g_terminate = 0;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &sa, &g_old[i]);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &g_old_pipe);
}

SignalPipe::~SignalPipe() {
    for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &g_old[i], nullptr);
    sigaction(SIGPIPE, &g_old_pipe, nullptr);
    close(g_pipe[0]);
    close(g_pipe[1]);
    g_active = false;
}

int SignalPipe::fd() const { return g_pipe[0]; }

void SignalPipe::drain() {
    char buf[64];
    while (read(g_pipe[0], buf, sizeof buf) > 0) {
    }
}

bool SignalPipe::take_resize() { return take(g_resize); }
bool SignalPipe::take_interrupt() { return take(g_interrupt); }
bool SignalPipe::take_terminate() { return take(g_terminate); }

}  // namespace ascent::ui
