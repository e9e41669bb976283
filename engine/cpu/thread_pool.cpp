#include "engine/cpu/thread_pool.h"

#include <chrono>
#include <utility>

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
constexpr uint64_t kJobMask = (uint64_t{1} << 24) - 1;
uint64_t job_of(uint64_t w) { return w >> 40; }
uint64_t end_of(uint64_t w) { return (w >> 20) & kField; }
uint64_t next_of(uint64_t w) { return w & kField; }
uint64_t range_word(uint64_t job, uint64_t begin, uint64_t end) { return (job << 40) | (end << 20) | begin; }

}  // namespace

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(n_threads < 1 ? 1 : n_threads), ranges_(static_cast<size_t>(n_threads_)), busy_(static_cast<size_t>(n_threads_)) {
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

bool ThreadPool::claim_own(int thread, uint64_t job, int64_t& begin, int64_t& end) {
    std::atomic<uint64_t>& word = ranges_[static_cast<size_t>(thread)].word;
    uint64_t w = word.load(std::memory_order_acquire);
    while (job_of(w) == job && next_of(w) < end_of(w)) {
        const uint64_t left = end_of(w) - next_of(w);
        const uint64_t take = std::min(max_chunk_.load(std::memory_order_relaxed), (left + 1) / 2);
        if (word.compare_exchange_weak(w, w + take, std::memory_order_acq_rel, std::memory_order_acquire)) {
            begin = static_cast<int64_t>(next_of(w));
            end = begin + static_cast<int64_t>(take);
            return true;
        }
    }
    return false;
}

bool ThreadPool::steal(int thread, uint64_t job, int64_t& begin, int64_t& end) {
    for (;;) {
        // The fullest other range: taking from its back leaves its owner the longest run.
        int victim = -1;
        uint64_t most = 0, seen = 0;
        for (int i = 0; i < n_threads_; ++i) {
            if (i == thread) continue;
            const uint64_t w = ranges_[static_cast<size_t>(i)].word.load(std::memory_order_acquire);
            if (job_of(w) != job || next_of(w) >= end_of(w)) continue;
            if (end_of(w) - next_of(w) > most) {
                most = end_of(w) - next_of(w);
                victim = i;
                seen = w;
            }
        }
        if (victim < 0) return false;
        const uint64_t take = std::min(max_chunk_.load(std::memory_order_relaxed), std::max<uint64_t>(1, most / 2));
        const uint64_t taken = seen - (take << 20);  // end - take
        if (ranges_[static_cast<size_t>(victim)].word.compare_exchange_strong(seen, taken, std::memory_order_acq_rel)) {
            begin = static_cast<int64_t>(end_of(taken));
            end = begin + static_cast<int64_t>(take);
            return true;
        }
    }
}

std::vector<double> ThreadPool::busy_seconds() const {
    std::vector<double> s;
    for (const Busy& b : busy_) s.push_back(static_cast<double>(b.ns.load(std::memory_order_relaxed)) * 1e-9);
    return s;
}

void ThreadPool::set_tracing(bool on) {
    // Room for a few decode steps' tasks up front, so that recording does not allocate in them.
    if (on)
        for (Busy& b : busy_) b.spans.reserve(1 << 14);
    tracing_.store(on, std::memory_order_relaxed);
    if (on) set_accounting(true);
}

std::vector<std::vector<ThreadPool::Span>> ThreadPool::take_spans() {
    std::vector<std::vector<Span>> out;
    for (Busy& b : busy_) out.push_back(std::exchange(b.spans, {}));
    return out;
}

void ThreadPool::work_on_job(int thread, uint64_t job) {
    int64_t begin = 0, end = 0;
    while (claim_own(thread, job, begin, end) || steal(thread, job, begin, end)) {
        // The job's code cannot change before these units are counted done, and the caller, once
        // it sees every unit done, sees their busy time too.
        const auto since = accounting_start();
        thunk_(ctx_, begin, end, thread);
        account(thread, since);
        done_.fetch_add(end - begin, std::memory_order_acq_rel);
    }
}

void ThreadPool::dispatch(int64_t n_tasks, int64_t max_chunk, Thunk thunk, void* ctx) {
    if (n_tasks > kMaxTasks) runtime_error("thread pool: {} tasks in one job (at most {})", n_tasks, kMaxTasks);
    thunk_ = thunk;
    ctx_ = ctx;
    max_chunk_.store(static_cast<uint64_t>(max_chunk), std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    job_ = (job_ + 1) & kJobMask;
    const auto n = static_cast<uint64_t>(n_tasks), threads = static_cast<uint64_t>(n_threads_);
    for (uint64_t i = 0; i < threads; ++i)
        ranges_[i].word.store(range_word(job_, i * n / threads, (i + 1) * n / threads), std::memory_order_release);
    // Sequentially consistent with the sleepers' count, so that a worker either is counted here
    // and woken, or, counted after this store, sees the job before it waits. Workers spinning
    // between the jobs of a forward pass cost the caller no lock and no wake-up.
    job_published_.store(job_, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            sleepers_generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
    }
    work_on_job(0, job_);
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
        uint64_t job;
        for (unsigned spins = 0; (job = job_published_.load(std::memory_order_acquire)) == seen_job; ++spins) {
            if (stop_.load()) return;
            if (spins % 64 == 63 && std::chrono::steady_clock::now() > spin_until) {
                std::unique_lock<std::mutex> lock(mutex_);
                sleepers_.fetch_add(1, std::memory_order_seq_cst);
                const uint64_t gen = sleepers_generation_.load(std::memory_order_acquire);
                wake_.wait(lock, [&] {
                    return stop_.load() || sleepers_generation_.load(std::memory_order_acquire) != gen ||
                           job_published_.load(std::memory_order_seq_cst) != seen_job;
                });
                sleepers_.fetch_sub(1, std::memory_order_relaxed);
            } else {
                ASCENT_PAUSE();
            }
        }
        seen_job = job;
        work_on_job(index, job);
    }
}

}  // namespace ascent::cpu
