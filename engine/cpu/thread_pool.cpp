#include "engine/cpu/thread_pool.h"

#include <chrono>

#include "engine/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ASCENT_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define ASCENT_PAUSE() asm volatile("yield")
#else
#define ASCENT_PAUSE() ((void)0)
#endif

namespace ascent::cpu {

namespace {

constexpr uint64_t kField = (uint64_t{1} << 20) - 1;
uint64_t job_of(uint64_t claim) { return claim >> 40; }
uint64_t count_of(uint64_t claim) { return (claim >> 20) & kField; }
uint64_t next_of(uint64_t claim) { return claim & kField; }

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
        sleepers_generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::work_on_job(int thread) {
    uint64_t c = claim_.load(std::memory_order_acquire);
    while (next_of(c) < count_of(c)) {
        if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
        // The job's code cannot change before this task is counted done.
        thunk_(ctx_, static_cast<int64_t>(next_of(c)), thread);
        done_.fetch_add(1, std::memory_order_acq_rel);
        c = claim_.load(std::memory_order_acquire);
    }
}

void ThreadPool::dispatch(int64_t n_tasks, Thunk thunk, void* ctx) {
    if (n_tasks > kMaxTasks) runtime_error("thread pool: {} tasks in one job (at most {})", n_tasks, kMaxTasks);
    thunk_ = thunk;
    ctx_ = ctx;
    done_.store(0, std::memory_order_relaxed);
    job_ = (job_ + 1) & ((uint64_t{1} << 24) - 1);
    claim_.store((job_ << 40) | (static_cast<uint64_t>(n_tasks) << 20), std::memory_order_release);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        sleepers_generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work_on_job(0);
    // The others may still be finishing their last tasks; on a busy machine, give the core away.
    for (int spins = 0; done_.load(std::memory_order_acquire) != n_tasks; ++spins) {
        if (spins < 4096) ASCENT_PAUSE();
        else std::this_thread::yield();
    }
}

void ThreadPool::worker(int index) {
    uint64_t seen_job = 0;
    for (;;) {
        // Spin for a short while: consecutive jobs of one forward pass arrive microseconds apart.
        const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
        uint64_t c;
        while (job_of(c = claim_.load(std::memory_order_acquire)) == seen_job || next_of(c) >= count_of(c)) {
            if (stop_.load()) return;
            if (job_of(c) != seen_job) seen_job = job_of(c);  // a job already finished: wait for the next
            if (std::chrono::steady_clock::now() > spin_until) {
                std::unique_lock<std::mutex> lock(mutex_);
                const uint64_t gen = sleepers_generation_.load(std::memory_order_acquire);
                wake_.wait(lock, [&] {
                    return stop_.load() || sleepers_generation_.load(std::memory_order_acquire) != gen ||
                           job_of(claim_.load(std::memory_order_acquire)) != seen_job;
                });
            } else {
                ASCENT_PAUSE();
            }
        }
        seen_job = job_of(c);
        work_on_job(index);
    }
}

}  // namespace ascent::cpu
