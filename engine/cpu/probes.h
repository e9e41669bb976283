#pragma once
// Machine probes for the roofline that `ascent bench` and the micro-benchmarks compare the matmul
// kernels against: how fast this machine can read memory, and how fast it can multiply-add BF16.
#include <cstddef>
#include <span>
#include <string>

namespace ascent::cpu {

class ThreadPool;

// Read bandwidth of the machine with all of the pool's threads (STREAM-like sum over a buffer much
// larger than the caches, best of a few passes), bytes per second. The budget covers the timed
// passes; filling the buffer once comes on top.
double measure_read_bandwidth(ThreadPool& pool, double seconds_budget = 0.3);
// The same over a buffer of the given size (rounded down to whole cache lines per thread).
double measure_read_bandwidth(ThreadPool& pool, double seconds_budget, size_t buffer_bytes);
// The default buffer: twice the last-level cache, at least 256 MiB, at most 1 GiB and 1/8 of RAM.
size_t default_bandwidth_buffer_bytes();
// Both rates over the default buffer: all of the pool's threads, then its calling thread alone.
// Their ratio says whether bandwidth is the memory's (one core nearly saturates it, and a core
// that waits costs the others little) or each core's own (the rates add up, and every moment a
// core does not stream is lost).
struct ReadBandwidth {
    double all_threads = 0;
    double one_thread = 0;
};
ReadBandwidth measure_read_scaling(ThreadPool& pool, double seconds_budget = 0.3);

// Read bandwidth over memory that already exists (the model's weights), with all threads, best of
// `passes` passes: no buffer to allocate or fill, so it is cheap enough to run beside every timed
// request. Each region is read from its first 64-byte boundary in whole 256-byte blocks; 0 when
// that leaves nothing to read.
struct MemoryRegion {
    const void* data;
    size_t bytes;
};
double measure_read_bandwidth_of(ThreadPool& pool, std::span<const MemoryRegion> regions, int passes);

// Peak BF16 dot-product FLOP/s with all threads: a register-resident vdpbf16ps loop, or the best
// available equivalent on this CPU (`kernel` says which), FLOP counted as 2 per multiply-add.
struct PeakFlops {
    double flops_per_second;
    std::string kernel;
};
PeakFlops measure_bf16_peak(ThreadPool& pool, double seconds_budget = 0.2);
// The same for AMX tiles (TDPBF16PS), which the BF16 prefill kernels use where present;
// {0, "none"} on CPUs without AMX.
PeakFlops measure_amx_bf16_peak(ThreadPool& pool, double seconds_budget = 0.2);

}  // namespace ascent::cpu
