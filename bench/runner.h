#pragma once
// `ascent bench latency|throughput`: vLLM's benchmark shapes on one engine, with every figure set
// beside the machine's roofline.
#include <atomic>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>
#include "engine/executor.h"
#include "engine/profiling_backend.h"
#include "engine/session.h"
#include "models/loader.h"

namespace ascent::bench {

// Most sequences a bench runs side by side (each holds a KV cache of the whole context).
constexpr int kMaxBatch = 256;

struct BenchConfig {
    std::vector<int64_t> input_lens{32};
    std::vector<int64_t> output_lens{128};
    std::vector<ExecMode> modes{ExecMode::Eager};
    int batch_size = 1;            // requests decoded together (latency: per iteration; throughput: at most)
    int num_iters = 5;
    int num_iters_warmup = 1;
    int num_prompts = 8;           // throughput
    bool ignore_eos = true;
    bool progress = true;          // a bar on stderr when it is a terminal
    bool profile = false;          // latency: one more request per row and mode, timed kernel by kernel
    bool trace = false;            // and its timeline (prefill, the first decode steps) recorded too
    int roof_pairs = 32;           // latency: decode steps per row and mode each paired with a read of the weights
    int peak_pairs = 3;            // latency: prefills per row and mode each paired with a peak probe
    uint64_t seed = 0;
    SessionOptions session;        // context, KV dtype
    // Set (by Ctrl-C) to stop: the run throws Interrupted at the next decode step.
    const std::atomic<bool>* cancel = nullptr;
};

// A bench stopped through BenchConfig::cancel; it has no results to report.
struct Interrupted : std::exception {
    const char* what() const noexcept override { return "interrupted"; }
};

struct LatencyRow {
    ExecMode mode = ExecMode::Eager;
    int64_t input_len = 0, output_len = 0;
    std::vector<double> latencies;      // seconds per iteration
    std::vector<double> ttfts;          // per iteration: seconds, mean over the batch's requests
    std::vector<double> generation_rates;  // per iteration: decode tokens/s (0 when out is 1)
    double avg = 0, stddev = 0;
    std::vector<std::pair<int, double>> percentiles;  // (10, s), (25, s), ...
    double prefill_seconds = 0;         // means over iterations
    double ttft_seconds = 0;
    double decode_seconds = 0;
    int64_t generated = 0;              // tokens, every request of every iteration
    int64_t decode_tokens = 0;          // of those, the ones batched decode steps produced
    double prompt_tokens_per_second = 0;
    double generation_tokens_per_second = 0;
    double decode_bytes_per_token = 0;  // weights + mean KV read per decode step
    double decode_bytes_per_second = 0;
    // The decode roof, measured in pairs after the timed iterations: one decode step (greedy
    // sampling and the forward pass), then one read of all the weights with all threads, about as
    // long. Both halves of a pair see the machine in the same state, which on a machine whose
    // bandwidth swings by the second neither a probe taken earlier nor the best of several can
    // promise.
    struct RoofPair {
        double step_bytes_per_second = 0;  // the step's weight + KV bytes over its time
        double read_bytes_per_second = 0;
    };
    std::vector<RoofPair> roof_pairs;
    double side_read_bytes_per_second = 0;  // median read of the pairs
    double decode_roof_share = 0;           // median over pairs of step bytes/s over read bytes/s
    double prefill_flops = 0;
    double prefill_flops_per_second = 0;
    // The prefill peak, measured the same way: the row's prefill once more, then a probe of the
    // BF16 peak of the unit prefill runs on (RooflineProbe::prefill_on_matrix_unit). On a machine
    // whose cores a neighbour shares, that peak itself halves and recovers by the second.
    struct PeakPair {
        double prefill_flops_per_second = 0;
        double peak_flops_per_second = 0;
    };
    std::vector<PeakPair> peak_pairs;
    double side_peak_flops_per_second = 0;  // median probe of the pairs
    double prefill_pair_peak_share = 0;     // median over pairs of prefill FLOP/s over peak FLOP/s
    double capture_seconds = 0;         // graph mode: capture of the buckets this row used
};

// Decode steps of a profiled request whose timeline is recorded (--trace): enough to see the
// pattern of a step, which repeats, in a file of a few MB.
constexpr int64_t kTraceDecodeSteps = 8;

// Where the time of one phase of a request went, kernel kind by kind (--profile).
struct PhaseProfile {
    ExecMode mode = ExecMode::Eager;
    int64_t input_len = 0, output_len = 0;
    std::string phase;  // "prefill" (the whole prompt) or "decode" (per step)
    StepProfile profile;
    // --trace: the forward steps whose timeline was recorded, [begin, end) on steady_clock in ns.
    std::vector<std::pair<int64_t, int64_t>> traced_steps;
    // Per step of the phase.
    double wall_seconds() const { return profile.wall_seconds / static_cast<double>(profile.steps); }
    double outside_kernels_seconds() const {
        return (profile.wall_seconds - profile.kernel_seconds() - profile.alloc_seconds()) / static_cast<double>(profile.steps);
    }
    // Each backend thread's time in kernel work as a share of the phase's wall time.
    std::vector<double> thread_busy_shares() const {
        std::vector<double> s;
        for (double b : profile.thread_busy_seconds) s.push_back(profile.wall_seconds > 0 ? b / profile.wall_seconds : 0);
        return s;
    }
};

// One mode against the first of --modes on one (input, output) cell, pair by pair: iteration i of
// both ran back to back on the same prompts, as did their i-th roof and peak pairs, so a pair's
// ratio cancels what a shared machine did over the seconds between pairs, which the rows' means
// do not. A speedup is the baseline's time over the mode's, or the mode's rate (or share) over
// the baseline's: above 1, the mode was faster.
struct Speedup {
    double median = 0, lo = 0, hi = 0;
    int pairs = 0;
    int wins = 0;  // pairs in which the mode was faster
};
struct ModeComparison {
    ExecMode mode = ExecMode::Graph, baseline = ExecMode::Eager;
    int64_t input_len = 0, output_len = 0;
    Speedup latency, ttft, generation, decode_roof_share, prefill_peak_share;
};

struct ThroughputRow {
    ExecMode mode = ExecMode::Eager;
    int64_t input_len = 0, output_len = 0;
    int num_prompts = 0;
    int max_running = 0;                // most requests decoded in one step
    double seconds = 0;
    int64_t prompt_tokens = 0, output_tokens = 0;
    double requests_per_second() const { return num_prompts / seconds; }
    double total_tokens_per_second() const { return static_cast<double>(prompt_tokens + output_tokens) / seconds; }
    double output_tokens_per_second() const { return static_cast<double>(output_tokens) / seconds; }
};

struct Report {
    std::string command;  // "latency" or "throughput"
    std::string model, architecture, dtypes, backend;
    int threads = 0;
    RooflineProbe roof;
    size_t weight_bytes = 0, kv_cache_bytes = 0, arena_bytes = 0, peak_rss_bytes = 0;
    double load_seconds = 0;
    BenchConfig config;
    std::vector<GraphInfo> graphs;  // what graph mode captured, per bucket
    std::vector<LatencyRow> latency;
    std::vector<ModeComparison> comparisons;  // latency with several modes
    std::vector<ThroughputRow> throughput;
    std::vector<PhaseProfile> profiles;
};

Report run_latency(models::LoadedModel& m, const BenchConfig& c);
Report run_throughput(models::LoadedModel& m, const BenchConfig& c);

// BF16 weights where the backend runs BF16 prefill on a matrix unit (AMX), far past the vector
// unit's peak: that unit's peak is then the prefill's yardstick.
bool prefill_on_matrix_unit(const Report& r);

std::string format_text(const Report& r);
nlohmann::ordered_json to_json(const Report& r);

}  // namespace ascent::bench
