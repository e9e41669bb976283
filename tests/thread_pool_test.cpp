// The CPU backend's thread pool: every task of every job runs exactly once, on any thread count,
// and a thread that is held up does not hold the job up (its range is taken over).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "engine/cpu/thread_pool.h"

using ascent::cpu::ThreadPool;

TEST(ThreadPool, EveryTaskRunsOnceAcrossManyJobs) {
    for (int threads : {1, 2, 3, 5}) {
        ThreadPool pool(threads);
        std::mt19937 rng(static_cast<unsigned>(threads));
        for (int job = 0; job < 1000; ++job) {
            const int64_t n = std::uniform_int_distribution<int64_t>(1, 300)(rng);
            std::vector<std::atomic<int>> runs(static_cast<size_t>(n));
            std::atomic<int> bad_thread{0};
            pool.run(n, [&](int64_t task, int thread) {
                if (thread < 0 || thread >= threads) bad_thread.fetch_add(1);
                // Uneven task lengths make threads finish their ranges at different times.
                if (task % 7 == 0) std::this_thread::yield();
                runs[static_cast<size_t>(task)].fetch_add(1);
            });
            for (int64_t t = 0; t < n; ++t)
                ASSERT_EQ(runs[static_cast<size_t>(t)].load(), 1) << threads << " threads, job " << job << " task " << t;
            ASSERT_EQ(bad_thread.load(), 0);
        }
    }
}

// Workers idle for longer than their spin go to sleep; the caller wakes them only when one is
// counted asleep. A lost wake-up would not hang a job (the caller takes the sleeper's range over)
// but would leave the worker out: every worker must still take part after every pause.
TEST(ThreadPool, SleepingWorkersWakeForTheNextJob) {
    ThreadPool pool(3);
    int jobs_all_took_part = 0;
    constexpr int kJobs = 10;
    for (int job = 0; job < kJobs; ++job) {
        std::this_thread::sleep_for(std::chrono::milliseconds(3));  // far past the 200 us spin
        std::vector<std::atomic<int>> by_thread(3);
        pool.run(6, [&](int64_t, int thread) {
            by_thread[static_cast<size_t>(thread)].fetch_add(1);
            std::this_thread::sleep_for(std::chrono::milliseconds(4));
        });
        bool all = true;
        for (auto& n : by_thread) all &= n.load() > 0;
        jobs_all_took_part += all ? 1 : 0;
    }
    // A loaded machine may wake a worker too late for a job now and then, never for most.
    EXPECT_GE(jobs_all_took_part, kJobs / 2);
}

TEST(ThreadPool, CallerStartsAtTheFrontAndRangesStayContiguous) {
    ThreadPool pool(2);
    constexpr int64_t kTasks = 64;
    std::vector<int> owner(kTasks, -1);
    std::vector<int64_t> order_of_caller;
    pool.run(kTasks, [&](int64_t task, int thread) {
        owner[static_cast<size_t>(task)] = thread;
        if (thread == 0) order_of_caller.push_back(task);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    });
    ASSERT_FALSE(order_of_caller.empty());
    EXPECT_EQ(order_of_caller.front(), 0);
    // The caller's own range is [0, 32): it walks it upwards before taking anything else.
    for (size_t i = 1; i < order_of_caller.size() && order_of_caller[i] < kTasks / 2; ++i)
        EXPECT_EQ(order_of_caller[i], order_of_caller[i - 1] + 1);
    for (int o : owner) EXPECT_GE(o, 0);
}

TEST(ThreadPool, AHeldUpThreadsRangeIsTakenOver) {
    ThreadPool pool(2);
    constexpr int64_t kTasks = 40;
    std::vector<int> owner(kTasks, -1);
    std::atomic<bool> held{false};
    pool.run(kTasks, [&](int64_t task, int thread) {
        // The worker's first task stalls (as if its core were taken by another process).
        if (thread == 1 && !held.exchange(true)) std::this_thread::sleep_for(std::chrono::milliseconds(300));
        owner[static_cast<size_t>(task)] = thread;
    });
    int by_caller_in_worker_range = 0;
    for (int64_t t = kTasks / 2; t < kTasks; ++t) by_caller_in_worker_range += owner[static_cast<size_t>(t)] == 0;
    // The worker may not have woken at all; either way the caller did most of the second half.
    EXPECT_GE(by_caller_in_worker_range, kTasks / 2 - 1);
}

TEST(ThreadPool, ChunksCoverEveryUnitOnceAndNeverExceedTheMaximum) {
    for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        std::mt19937 rng(static_cast<unsigned>(threads) + 7);
        for (int job = 0; job < 500; ++job) {
            const int64_t n = std::uniform_int_distribution<int64_t>(1, 400)(rng);
            const int64_t max_chunk = std::uniform_int_distribution<int64_t>(1, 40)(rng);
            std::vector<std::atomic<int>> runs(static_cast<size_t>(n));
            std::atomic<int> bad_chunk{0};
            pool.run_chunks(n, max_chunk, [&](int64_t begin, int64_t end, int) {
                if (begin >= end || end - begin > max_chunk) bad_chunk.fetch_add(1);
                if (begin % 5 == 0) std::this_thread::yield();
                for (int64_t u = begin; u < end; ++u) runs[static_cast<size_t>(u)].fetch_add(1);
            });
            for (int64_t u = 0; u < n; ++u)
                ASSERT_EQ(runs[static_cast<size_t>(u)].load(), 1) << threads << " threads, job " << job << " unit " << u;
            ASSERT_EQ(bad_chunk.load(), 0) << threads << " threads, job " << job;
        }
    }
}

// Chunks are as large as allowed while much of a range is left and halve towards its end, so the
// threads finish within a unit of each other; a thread out of work takes half of another's rest.
TEST(ThreadPool, ChunksShrinkTowardsTheEndOfARange) {
    ThreadPool pool(2);
    std::vector<std::pair<int64_t, int64_t>> caller_chunks;
    std::atomic<bool> held{false};
    pool.run_chunks(64, 8, [&](int64_t begin, int64_t end, int thread) {
        // The worker's first chunk stalls, so the caller works through its own range [0, 32)
        // alone and then takes over the worker's.
        if (thread == 1 && !held.exchange(true)) std::this_thread::sleep_for(std::chrono::milliseconds(300));
        if (thread == 0) caller_chunks.emplace_back(begin, end);
    });
    const std::vector<std::pair<int64_t, int64_t>> own{{0, 8}, {8, 16}, {16, 24}, {24, 28}, {28, 30}, {30, 31}, {31, 32}};
    ASSERT_GE(caller_chunks.size(), own.size());
    EXPECT_EQ(std::vector(caller_chunks.begin(), caller_chunks.begin() + static_cast<std::ptrdiff_t>(own.size())), own);
    // Then from the back of the worker's range: half of its rest, at most 8 units at a time.
    int64_t previous_begin = 64;
    for (size_t i = own.size(); i < caller_chunks.size(); ++i) {
        const auto [begin, end] = caller_chunks[i];
        EXPECT_EQ(end, previous_begin) << "chunk " << i;
        EXPECT_LE(end - begin, 8);
        previous_begin = begin;
    }
    EXPECT_GT(caller_chunks.size(), own.size());  // the worker was held up for 300 ms
}

TEST(ThreadPool, SmallWorkRunsOnTheCaller) {
    ThreadPool pool(3);
    std::vector<int> owner(10, -1);
    pool.run(10, [&](int64_t task, int thread) { owner[static_cast<size_t>(task)] = thread; }, 100);
    for (int o : owner) EXPECT_EQ(o, 0);
}

// Busy time: counted only while accounting is on, per thread, for the tasks each thread ran (the
// caller's inline runs included), and never more than the wall time of the jobs.
TEST(ThreadPool, AccountsEachThreadsTimeInTasks) {
    using Clock = std::chrono::steady_clock;
    constexpr auto kSpin = std::chrono::milliseconds(3);
    auto spin = [&] {
        const auto until = Clock::now() + kSpin;
        while (Clock::now() < until) {
        }
    };
    ThreadPool pool(2);
    std::vector<std::atomic<int>> ran(2);
    auto job = [&](int64_t, int thread) {
        spin();
        ran[static_cast<size_t>(thread)].fetch_add(1);
    };
    pool.run(4, job);
    for (double b : pool.busy_seconds()) EXPECT_EQ(b, 0.0) << "counted while off";

    pool.set_accounting(true);
    const auto t0 = Clock::now();
    for (int i = 0; i < 3; ++i) pool.run(4, job);
    const std::vector<double> before_inline = pool.busy_seconds();
    pool.run(2, job, 10);  // small work: the caller runs both tasks inline
    const std::vector<double> after_inline = pool.busy_seconds();
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    pool.set_accounting(false);
    pool.run(4, job);

    const std::vector<double> busy = pool.busy_seconds();
    ASSERT_EQ(busy.size(), 2u);
    const double spin_s = std::chrono::duration<double>(kSpin).count();
    // Tasks counted while on: the 4 of the first run, then 14.
    const int on_first = ran[0].load() + ran[1].load() - 4 - 4;
    ASSERT_EQ(on_first, 14);
    double total = 0;
    for (double b : busy) {
        EXPECT_LE(b, wall) << "a thread cannot be busy for longer than the jobs took";
        total += b;
    }
    EXPECT_GE(total, 14 * spin_s);
    EXPECT_GE(after_inline[0] - before_inline[0], 2 * spin_s) << "the caller's inline tasks count for thread 0";
    EXPECT_EQ(after_inline[1], before_inline[1]);
}

// Tracing: each task a thread ran while it was on, as one span on that thread's list, spans of one
// thread one after the other; take_spans() hands them over once.
TEST(ThreadPool, TracesEachTaskOnItsThread) {
    ThreadPool pool(2);
    std::vector<std::atomic<int>> ran(2);
    auto job = [&](int64_t, int thread) {
        ran[static_cast<size_t>(thread)].fetch_add(1);
        std::this_thread::sleep_for(std::chrono::microseconds(300));
    };
    pool.run(8, job);  // before tracing: not recorded
    for (auto& r : ran) r.store(0);
    pool.set_tracing(true);
    for (int i = 0; i < 5; ++i) pool.run(8, job);
    pool.set_tracing(false);
    pool.run(8, job);  // after: not recorded either
    const auto spans = pool.take_spans();
    ASSERT_EQ(spans.size(), 2u);
    size_t total = 0;
    for (size_t t = 0; t < 2; ++t) {
        for (size_t i = 0; i < spans[t].size(); ++i) {
            EXPECT_GE(spans[t][i].end_ns - spans[t][i].begin_ns, 300'000) << "a span covers its task";
            if (i > 0) {
                EXPECT_GE(spans[t][i].begin_ns, spans[t][i - 1].end_ns);
            }
        }
        total += spans[t].size();
    }
    EXPECT_EQ(total, 40u);
    EXPECT_EQ(static_cast<int>(total) + 8, ran[0].load() + ran[1].load());
    for (const auto& s : pool.take_spans()) EXPECT_TRUE(s.empty());
}
