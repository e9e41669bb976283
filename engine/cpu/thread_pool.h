#pragma once
// A persistent pool of worker threads. A job's tasks are dealt out as one contiguous range per
// thread, which each thread works through from the front; a thread whose range is empty takes
// tasks from the back of the fullest other range. Contiguous ranges keep each thread's memory
// stream sequential (a matrix product's blocks are adjacent rows, so the prefetchers carry on
// from one task to the next), and stealing means a slow or descheduled core does not hold the
// others back: the caller waits for the tasks to be done, not for every worker to show up.
// Workers spin briefly between jobs (a decode step issues hundreds of small jobs), then sleep.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>
#include "engine/steady_ns.h"

namespace ascent::cpu {

class ThreadPool {
public:
    explicit ThreadPool(int n_threads);  // total threads, the caller included
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Calls fn(task, thread_index) for every task in [0, n_tasks); returns when all are done.
    // Thread i starts at task i * n_tasks / size() and goes up.
    // `work` estimates the whole job's cost in multiply-adds: below a few tens of thousands,
    // waking other threads costs more than it saves and the caller runs it alone.
    template <typename F>
    void run(int64_t n_tasks, F&& fn, int64_t work = INT64_MAX) {
        run_chunks(n_tasks, 1, [&fn](int64_t begin, int64_t end, int thread) {
            for (int64_t t = begin; t < end; ++t) fn(t, thread);
        }, work);
    }

    // Calls fn(begin, end, thread_index) on chunks of consecutive units that together cover
    // [0, n_units) once. A thread takes at most max_chunk units at a time from its own range, and
    // half of what is left once that is less than 2 * max_chunk; a thread whose range is empty
    // takes half of the fullest other range's rest from its back (at most max_chunk). So a job
    // runs in large pieces, and the threads still finish within a unit of each other instead of
    // up to a whole piece apart. On Zen 4 (Qwen2-0.5B, steps alternating between this and fixed
    // pieces of max_chunk in one run), 512-token prefills took 0.6-1.5% less time and decode steps
    // 0.4-1.0% less with the cores' bandwidth adding up (a waiting core is bandwidth lost).
    template <typename F>
    void run_chunks(int64_t n_units, int64_t max_chunk, F&& fn, int64_t work = INT64_MAX) {
        if (n_units <= 0) return;
        max_chunk = std::max<int64_t>(1, max_chunk);
        if (n_threads_ == 1 || n_units == 1 || work < kMinParallelWork) {
            const auto since = accounting_start();
            for (int64_t begin = 0; begin < n_units; begin += max_chunk) fn(begin, std::min(n_units, begin + max_chunk), 0);
            account(0, since);
            return;
        }
        auto thunk = [](void* ctx, int64_t begin, int64_t end, int thread) {
            (*static_cast<std::remove_reference_t<F>*>(ctx))(begin, end, thread);
        };
        dispatch(n_units, max_chunk, thunk, &fn);
    }

    // Busy time: while accounting is on, each thread adds up the time it spends running tasks,
    // so a profile can show how much of a step each core worked and how much it waited. Off, it
    // costs one relaxed load per task.
    void set_accounting(bool on) { accounting_.store(on, std::memory_order_relaxed); }
    std::vector<double> busy_seconds() const;  // by thread index, the caller's first
    // A timeline: while tracing is on (accounting with it), each task's start and end on
    // steady_clock (ns since its epoch), by thread. Call these between jobs, from the caller.
    struct Span {
        int64_t begin_ns, end_ns;
    };
    void set_tracing(bool on);
    std::vector<std::vector<Span>> take_spans();  // by thread index; clears them

    static constexpr int64_t kMinParallelWork = 64 * 1024;
    static constexpr int64_t kMaxTasks = (int64_t{1} << 20) - 1;

private:
    using Clock = std::chrono::steady_clock;
    using Thunk = void (*)(void*, int64_t, int64_t, int);
    Clock::time_point accounting_start() const {
        return accounting_.load(std::memory_order_relaxed) ? Clock::now() : Clock::time_point{};
    }
    void account(int thread, Clock::time_point since) {
        if (since == Clock::time_point{}) return;
        const auto end = Clock::now();
        Busy& b = busy_[static_cast<size_t>(thread)];
        b.ns.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(end - since).count(), std::memory_order_relaxed);
        // Before the task is counted done, so the caller sees it once the job has finished.
        if (tracing_.load(std::memory_order_relaxed))
            b.spans.push_back({steady_ns(since), steady_ns(end)});
    }
    void dispatch(int64_t n_tasks, int64_t max_chunk, Thunk thunk, void* ctx);
    void worker(int index);
    // Claims and runs tasks of the current job until none are left in any range.
    void work_on_job(int thread, uint64_t job);
    bool claim_own(int thread, uint64_t job, int64_t& begin, int64_t& end);
    bool steal(int thread, uint64_t job, int64_t& begin, int64_t& end);

    // One thread's range of the current job, [job : 24][end : 20][next : 20], on its own cache
    // line. Claims are CASes on the whole word, so a worker that wakes late can never take a task
    // of a newer job by mistake.
    struct alignas(64) Range {
        std::atomic<uint64_t> word{0};
    };
    // Written by its own thread only.
    struct alignas(64) Busy {
        std::atomic<int64_t> ns{0};
        std::vector<Span> spans;  // while tracing
    };

    int n_threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    // The current job's code; written by the caller before the job is published.
    Thunk thunk_ = nullptr;
    void* ctx_ = nullptr;
    // Atomic because a worker late for a job may read it while the caller sets the next job's.
    std::atomic<uint64_t> max_chunk_{1};
    std::vector<Range> ranges_;
    std::vector<Busy> busy_;
    std::atomic<bool> accounting_{false};
    std::atomic<bool> tracing_{false};
    // The current job's number, published after its ranges.
    alignas(64) std::atomic<uint64_t> job_published_{0};
    alignas(64) std::atomic<int64_t> done_{0};
    alignas(64) std::atomic<uint64_t> sleepers_generation_{0};
    std::atomic<int> sleepers_{0};  // workers waiting on wake_ (or about to)
    std::atomic<bool> stop_{false};
    uint64_t job_ = 0;  // the caller's count; workers use the number they read from job_published_
};

}  // namespace ascent::cpu
