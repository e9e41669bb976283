#pragma once
// A persistent pool of worker threads. Work is split into tasks that threads claim from a shared
// counter, so a slow or descheduled core does not hold the others back: the caller waits for the
// tasks to be done, not for every worker to show up. Workers spin briefly between jobs (a decode
// step issues hundreds of small jobs) and then sleep.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace ascent::cpu {

class ThreadPool {
public:
    explicit ThreadPool(int n_threads);  // total threads, the caller included
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Calls fn(task, thread_index) for every task in [0, n_tasks); returns when all are done.
    // `work` estimates the whole job's cost in multiply-adds: below a few tens of thousands,
    // waking other threads costs more than it saves and the caller runs it alone.
    template <typename F>
    void run(int64_t n_tasks, F&& fn, int64_t work = INT64_MAX) {
        if (n_tasks <= 0) return;
        if (n_threads_ == 1 || n_tasks == 1 || work < kMinParallelWork) {
            for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
            return;
        }
        auto thunk = [](void* ctx, int64_t task, int thread) { (*static_cast<F*>(ctx))(task, thread); };
        dispatch(n_tasks, thunk, &fn);
    }

    static constexpr int64_t kMinParallelWork = 64 * 1024;
    static constexpr int64_t kMaxTasks = (int64_t{1} << 20) - 1;

private:
    using Thunk = void (*)(void*, int64_t, int);
    void dispatch(int64_t n_tasks, Thunk thunk, void* ctx);
    void worker(int index);
    // Claims and runs tasks of the job published in claim_ until none are left.
    void work_on_job(int thread);

    int n_threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    // The current job's code; written by the caller before the job is published in claim_.
    Thunk thunk_ = nullptr;
    void* ctx_ = nullptr;
    // [job number : 24][task count : 20][next task : 20]. Claiming a task is a CAS on the whole
    // word, so a worker that wakes late can never take a task of a newer job by mistake.
    alignas(64) std::atomic<uint64_t> claim_{0};
    alignas(64) std::atomic<int64_t> done_{0};
    alignas(64) std::atomic<uint64_t> sleepers_generation_{0};
    std::atomic<bool> stop_{false};
    uint64_t job_ = 0;
};

}  // namespace ascent::cpu
