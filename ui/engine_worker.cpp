#include "ui/engine_worker.h"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>

#include "engine/error.h"
#include "ui/stats.h"

namespace ascent::ui {

// Turns the backend's callbacks into queued events stamped with the time they happened.
class EngineWorker::Sink : public TurnSink {
public:
    explicit Sink(EngineWorker& w) : w_(w) {}
    void prefill_progress(int64_t done, int64_t total) override {
        EngineEvent e;
        e.kind = EngineEvent::Kind::Progress;
        e.time = monotonic_seconds();
        e.done = done;
        e.total = total;
        w_.push(std::move(e));
    }
    void token() override {
        EngineEvent e;
        e.kind = EngineEvent::Kind::Token;
        e.time = monotonic_seconds();
        w_.push(std::move(e));
    }
    void text(std::string_view content, std::string_view reasoning) override {
        if (content.empty() && reasoning.empty()) return;
        EngineEvent e;
        e.kind = EngineEvent::Kind::Text;
        e.time = monotonic_seconds();
        e.content = content;
        e.reasoning = reasoning;
        w_.push(std::move(e));
    }

private:
    EngineWorker& w_;
};

EngineWorker::EngineWorker(ChatBackend& backend) : backend_(backend) {
    if (pipe2(pipe_, O_NONBLOCK | O_CLOEXEC) != 0) runtime_error("cannot create the engine thread's wake pipe");
    // Signals (resize, Ctrl-C from outside, termination) belong to the UI thread: block them
    // here so the new thread inherits a mask that leaves them to the others.
    sigset_t block, old;
    sigemptyset(&block);
    for (int s : {SIGINT, SIGWINCH, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGCONT}) sigaddset(&block, s);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    thread_ = std::thread([this] { run(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

EngineWorker::~EngineWorker() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        jobs_.clear();
    }
    cancel_ = true;
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    close(pipe_[0]);
    close(pipe_[1]);
}

void EngineWorker::start_turn(const Conversation& conv) {
    cancel_ = false;
    {
        std::lock_guard lock(mu_);
        jobs_.push_back(Job{false, conv});
    }
    cv_.notify_one();
}

void EngineWorker::reset() {
    {
        std::lock_guard lock(mu_);
        jobs_.push_back(Job{true, {}});
    }
    cv_.notify_one();
}

void EngineWorker::cancel() { cancel_ = true; }

void EngineWorker::push(EngineEvent e) {
    {
        std::lock_guard lock(events_mu_);
        events_.push_back(std::move(e));
    }
    // One byte per batch: the UI drains everything queued when it wakes.
    if (!wake_pending_.exchange(true)) {
        const char b = 1;
        [[maybe_unused]] auto n = write(pipe_[1], &b, 1);
    }
}

std::vector<EngineEvent> EngineWorker::take_events() {
    char buf[64];
    while (read(pipe_[0], buf, sizeof buf) > 0) {
    }
    wake_pending_ = false;
    std::lock_guard lock(events_mu_);
    std::vector<EngineEvent> out;
    out.swap(events_);
    return out;
}

void EngineWorker::run() {
    Sink sink(*this);
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
            if (stopping_) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        EngineEvent done;
        if (job.reset) {
            backend_.reset();
            done.kind = EngineEvent::Kind::ResetDone;
        } else {
            done.kind = EngineEvent::Kind::Done;
            try {
                done.result = backend_.run_turn(job.conv, cancel_, sink);
            } catch (const std::exception& e) {  // the UI shows it and stays up
                done.result.finish_reason = "error";
                done.result.error = e.what();
            }
        }
        done.time = monotonic_seconds();
        push(std::move(done));
    }
}

}  // namespace ascent::ui
