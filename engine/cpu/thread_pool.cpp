#include "engine/cpu/thread_pool.h"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ASCENT_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define ASCENT_PAUSE() asm volatile("yield")
#else
#define ASCENT_PAUSE() ((void)0)
#endif

namespace ascent::cpu {

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::work_on_job(int thread) {
    for (;;) {
        int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
        if (task >= n_tasks_) break;
        thunk_(ctx_, task, thread);
    }
}

void ThreadPool::dispatch(int64_t n_tasks, Thunk thunk, void* ctx) {
    thunk_ = thunk;
    ctx_ = ctx;
    n_tasks_ = n_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    busy_workers_.store(n_threads_ - 1, std::memory_order_relaxed);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work_on_job(0);
    // Workers finish within microseconds on an idle machine; on a busy one, give the core away.
    for (int spins = 0; busy_workers_.load(std::memory_order_acquire) != 0; ++spins) {
        if (spins < 4096) ASCENT_PAUSE();
        else std::this_thread::yield();
    }
}

void ThreadPool::worker(int index) {
    uint64_t seen = 0;
    for (;;) {
        // Spin for a short while: consecutive jobs of one forward pass arrive microseconds apart.
        auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
        uint64_t gen;
        while ((gen = generation_.load(std::memory_order_acquire)) == seen) {
            if (std::chrono::steady_clock::now() > spin_until) {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            } else {
                ASCENT_PAUSE();
            }
        }
        seen = gen;
        if (stop_.load()) return;
        work_on_job(index);
        busy_workers_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

}  // namespace ascent::cpu
