#pragma once
// How far ahead of its reads a decode product prefetches its weight stream (the decode rows of
// the x86 and Highway paths, matmul_x86.cpp and matmul_hwy.cpp). The best distance is about what
// one core reads while a line comes from memory (its own read bandwidth times the memory
// latency), so it differs between machines, and a distance a machine does not suit costs several
// percent of decode speed:
// - Zen 4 (about 30 GB/s per core in its fast state): 4 KiB. 1 and 2 KiB did less, 8 KiB was
//   slower than no prefetch.
// - An Intel Xeon with AMX under KVM (16 GB/s per core): 2.5-3.5 KiB. `ascent bench latency`
//   128/128 read at 98-100% of the roof with them, at 96-97% with 2 KiB, 93-95% with 4 KiB and
//   90-92% with 5-6 KiB (alternating runs).
// - Zen 3 under KVM (AVX2, the Highway path; about 17-22 GB/s per core): 1-3 KiB read 2-5% faster
//   than 4 KiB in alternating passes over all of Qwen2-0.5B's decode products, one thread or two;
//   then, each pass paired with a plain read of the same weights, 1.5 KiB read at 1.01-1.08x
//   2 KiB's share of that read (five runs, 6-20 pairs each) and 1 KiB at 0.97-1.07x. In the
//   whole `ascent bench latency` 128/128 the two were within its noise (roof 0.82-0.93 with
//   1.5 KiB and 0.81-0.91 with 2 KiB over 7 alternating runs each).
// So AMD CPUs with AVX-512 (Zen 4 on) get 4 KiB, older AMD CPUs 1.5 KiB and the others 3 KiB;
// ASCENT_DECODE_PREFETCH sets it for a machine measured otherwise
// (`bench_matmul --benchmark_filter=BM_DecodePrefetch` sweeps it).
//
// Tiles that read several weight rows side by side (a few tokens on targets with 16 vector
// registers, matmul_hwy.cpp) prefetch further ahead: twice the distance ASCENT_DECODE_PREFETCH or
// set_decode_prefetch_bytes() gives, else the CPU's own tile distance, which is twice its decode
// distance except on the older AMD CPUs: there 4 KiB. On Zen 3, against 4 KiB, 4, 8 and 16
// tokens took 13%, 5% and 3.5% more time with 3 KiB (4 KiB won 29 of 30 alternating passes),
// 9% and 4% more (4 and 16 tokens) with 2 KiB, and the same with 6 KiB.
#include <cstddef>

namespace ascent::cpu {

inline constexpr size_t kMaxDecodePrefetchBytes = size_t{64} << 10;

// The distance in bytes, a multiple of 64; 0 means no software prefetch. The first call reads
// ASCENT_DECODE_PREFETCH and fails with input_error on a value that is not a multiple of 64 up to
// kMaxDecodePrefetchBytes; the CPU backend makes that call when it is created.
size_t decode_prefetch_bytes();
// This CPU's default (above), whatever the environment says.
size_t default_decode_prefetch_bytes();
// The tiles' distance (above): a multiple of 64, 0 when decode's is 0.
size_t tile_prefetch_bytes();
size_t default_tile_prefetch_bytes();
// Parses an ASCENT_DECODE_PREFETCH value (nullptr or "": the default).
size_t parse_decode_prefetch_bytes(const char* value);
// Benchmarks and tests: other distances from now on, as ASCENT_DECODE_PREFETCH=bytes would give
// (the tiles' twice that), or both given. No kernel may be running.
void set_decode_prefetch_bytes(size_t bytes);
void set_decode_prefetch_bytes(size_t decode_bytes, size_t tile_bytes);

}  // namespace ascent::cpu
