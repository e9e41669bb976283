#pragma once
// Signals for an event loop: while a SignalPipe lives, SIGWINCH, SIGINT, SIGTERM and SIGHUP set
// a flag and write a byte to a pipe the loop polls (SIGPIPE is ignored). The handler does only
// async-signal-safe work, and whichever thread the kernel picks to run it, poll() wakes up.
namespace ascent::ui {

class SignalPipe {
public:
    SignalPipe();
    ~SignalPipe();  // restores the previous handlers
    SignalPipe(const SignalPipe&) = delete;
    SignalPipe& operator=(const SignalPipe&) = delete;

    int fd() const;
    void drain();
    // Each returns whether its signal came since the last call, and clears it.
    bool take_resize();
    bool take_interrupt();
    bool take_terminate();
};

}  // namespace ascent::ui
