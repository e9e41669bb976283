#pragma once
// The engine's own thread. A forward step takes from microseconds to seconds and a prompt may
// take minutes; the UI thread must keep reading keys (Ctrl-C, F2, scrolling) and redrawing the
// live stats meanwhile, so turns run here and report back through an event queue. The queue
// wakes the UI through a pipe it can poll() together with the terminal. Compute threads stay
// inside the CPU backend; this is one thread that drives it.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>
#include "ui/chat_backend.h"

namespace ascent::ui {

struct EngineEvent {
    enum class Kind { Progress, Token, Text, Done, ResetDone };
    Kind kind = Kind::Token;
    double time = 0;        // monotonic_seconds() when it happened
    int64_t done = 0, total = 0;
    std::string content, reasoning;
    TurnResult result;      // Done
};

class EngineWorker {
public:
    explicit EngineWorker(ChatBackend& backend);
    ~EngineWorker();  // cancels a running turn and joins
    EngineWorker(const EngineWorker&) = delete;
    EngineWorker& operator=(const EngineWorker&) = delete;

    // Queues a turn (the conversation is copied). The caller starts one only after the previous
    // one's Done event.
    void start_turn(const Conversation& conv);
    void reset();
    // Stops the running turn at the next chunk or token; its partial answer arrives in Done.
    void cancel();

    // Readable when events are waiting; the UI polls it with the terminal.
    int wake_fd() const { return pipe_[0]; }
    std::vector<EngineEvent> take_events();

    ChatBackend& backend() { return backend_; }

private:
    struct Job {
        bool reset = false;
        Conversation conv;
    };
    class Sink;
    void run();
    void push(EngineEvent e);

    ChatBackend& backend_;
    int pipe_[2] = {-1, -1};
    std::atomic<bool> wake_pending_{false};
    std::atomic<bool> cancel_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> jobs_;
    bool stopping_ = false;
    std::mutex events_mu_;
    std::vector<EngineEvent> events_;
    std::thread thread_;
};

}  // namespace ascent::ui
