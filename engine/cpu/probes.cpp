#include "engine/cpu/probes.h"

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "engine/cpu/matmul_path.h"
#include "engine/cpu/thread_pool.h"
#include "engine/huge_pages.h"

namespace ascent::cpu {

thread_local float peak_loop_sum = 0;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The probes measure the machine, so they use the best path whatever ASCENT_SIMD says.
const MatmulPath& best_path() { return matmul_path_for(nullptr); }

constexpr size_t kSliceAlign = 256;  // read_sum reads multiples of 256 bytes

}  // namespace

size_t default_bandwidth_buffer_bytes() {
    constexpr size_t kMiB = size_t{1} << 20;
    size_t bytes = 256 * kMiB;
#ifdef _SC_LEVEL3_CACHE_SIZE
    const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (l3 > 0) bytes = std::max(bytes, 2 * static_cast<size_t>(l3));
#endif
    bytes = std::min(bytes, 1024 * kMiB);
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) bytes = std::min(bytes, static_cast<size_t>(pages) * static_cast<size_t>(page) / 8);
    return std::max(bytes, 16 * kMiB);
}

double measure_read_bandwidth(ThreadPool& pool, double seconds_budget) {
    return measure_read_bandwidth(pool, seconds_budget, default_bandwidth_buffer_bytes());
}

namespace {

// Which threads read: all of the pool's, or the calling thread alone.
enum class Readers { All, Caller };

// The best rate of timed passes of read_sum over `slices` with all threads: at most max_passes,
// and no more once min_passes are done and `budget` seconds have gone.
double best_read_rate(ThreadPool& pool, const std::vector<MemoryRegion>& slices, int min_passes, int max_passes,
                      double budget, Readers readers = Readers::All) {
    const MatmulPath& path = best_path();
    size_t total = 0;
    for (const MemoryRegion& s : slices) total += s.bytes;
    std::vector<float> sink(slices.size());
    double best = 0;
    const auto start = Clock::now();
    for (int pass = 0; pass < max_passes; ++pass) {
        const auto t0 = Clock::now();
        auto read = [&](int64_t s, int) {
            const MemoryRegion& slice = slices[static_cast<size_t>(s)];
            sink[static_cast<size_t>(s)] = path.read_sum(slice.data, slice.bytes);
        };
        const auto n = static_cast<int64_t>(slices.size());
        if (readers == Readers::All)
            pool.run(n, read);
        else
            for (int64_t s = 0; s < n; ++s) read(s, 0);
        const double t = seconds_since(t0);
        if (t > 0) best = std::max(best, static_cast<double>(total) / t);
        if (pass + 1 >= min_passes && seconds_since(start) > budget) break;
    }
    volatile float keep = sink.empty() ? 0.f : sink[0];
    (void)keep;
    return best;
}

// A probe buffer of about `buffer_bytes` in slices, several per thread: a thread slowed down by
// another process then reads less, instead of holding the whole pass up.
class ProbeBuffer {
public:
    ProbeBuffer(ThreadPool& pool, size_t buffer_bytes)
        : n_slices_(int64_t{pool.size()} * 4),
          slice_(std::max(kSliceAlign, buffer_bytes / static_cast<size_t>(n_slices_) / kSliceAlign * kSliceAlign)),
          // On large pages, as the weights the probe stands for are (a mapped file's page cache,
          // or dummy weights): with 4 KiB pages it would measure TLB misses as well as memory.
          buffer_(slice_ * static_cast<size_t>(n_slices_)) {
        std::byte* base = buffer_.data();
        // First touch on the threads that will read, so the pages are really mapped (an
        // untouched anonymous page reads as the shared zero page, which sits in cache).
        pool.run(n_slices_, [&](int64_t s, int) { std::memset(base + static_cast<size_t>(s) * slice_, 0x3c, slice_); });
        for (int64_t s = 0; s < n_slices_; ++s) slices_.push_back({base + static_cast<size_t>(s) * slice_, slice_});
    }
    const std::vector<MemoryRegion>& slices() const { return slices_; }

private:
    int64_t n_slices_;
    size_t slice_;
    HugePageRegion buffer_;
    std::vector<MemoryRegion> slices_;
};

}  // namespace

double measure_read_bandwidth(ThreadPool& pool, double seconds_budget, size_t buffer_bytes) {
    const ProbeBuffer buffer(pool, buffer_bytes);
    return best_read_rate(pool, buffer.slices(), 3, 50, seconds_budget);
}

ReadBandwidth measure_read_scaling(ThreadPool& pool, double seconds_budget) {
    const ProbeBuffer buffer(pool, default_bandwidth_buffer_bytes());
    ReadBandwidth r;
    r.all_threads = best_read_rate(pool, buffer.slices(), 3, 50, seconds_budget);
    // One thread reads a pass in about twice the time or more: three passes, whatever the budget.
    r.one_thread = best_read_rate(pool, buffer.slices(), 3, 3, 0.0, Readers::Caller);
    return r;
}

double measure_read_bandwidth_of(ThreadPool& pool, std::span<const MemoryRegion> regions, int passes) {
    // Slices of at most 4 MiB, so the threads get even shares of regions of any sizes.
    constexpr size_t kSliceMax = size_t{4} << 20;
    std::vector<MemoryRegion> slices;
    for (const MemoryRegion& r : regions) {
        const auto begin = (reinterpret_cast<uintptr_t>(r.data) + 63) / 64 * 64;
        const auto end = reinterpret_cast<uintptr_t>(r.data) + r.bytes;
        if (end < begin + kSliceAlign) continue;
        const size_t usable = (end - begin) / kSliceAlign * kSliceAlign;
        for (size_t off = 0; off < usable; off += kSliceMax)
            slices.push_back({reinterpret_cast<const void*>(begin + off), std::min(kSliceMax, usable - off)});
    }
    if (slices.empty()) return 0;
    const int n = std::max(1, passes);
    return best_read_rate(pool, slices, n, n, 0.0);
}

namespace {

// Runs `loop` on every thread, passes of about a fifth of the budget, and keeps the best rate.
double measure_peak(ThreadPool& pool, double seconds_budget, double (*loop)(int64_t)) {
    const int threads = pool.size();
    // Calibrate on one thread.
    int64_t iterations = 1000;
    for (;;) {
        const auto t0 = Clock::now();
        loop(iterations);
        const double t = seconds_since(t0);
        if (t > 2e-3 || iterations > (int64_t{1} << 40)) {
            iterations = std::max<int64_t>(1000, static_cast<int64_t>(iterations * (seconds_budget / 5) / t));
            break;
        }
        iterations *= 4;
    }
    double best = 0;
    const auto start = Clock::now();
    for (int pass = 0; pass < 20; ++pass) {
        std::vector<double> flops(static_cast<size_t>(threads));
        const auto t0 = Clock::now();
        pool.run(threads, [&](int64_t task, int) { flops[static_cast<size_t>(task)] = loop(iterations); });
        const double t = seconds_since(t0);
        double sum = 0;
        for (double f : flops) sum += f;
        if (t > 0) best = std::max(best, sum / t);
        if (pass >= 2 && seconds_since(start) > seconds_budget) break;
    }
    return best;
}

}  // namespace

PeakFlops measure_bf16_peak(ThreadPool& pool, double seconds_budget) {
    const MatmulPath* path = &best_path();
    if (!path->peak_loop) path = &hwy_matmul_path();
    return {measure_peak(pool, seconds_budget, path->peak_loop), path->peak_kernel};
}

PeakFlops measure_amx_bf16_peak(ThreadPool& pool, double seconds_budget) {
    if (!amx_matmul_path()) return {0.0, "none"};
    return {measure_peak(pool, seconds_budget, amx_peak_loop), "tdpbf16ps (AMX)"};
}

}  // namespace ascent::cpu
