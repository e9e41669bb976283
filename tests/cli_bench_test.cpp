// `ascent bench` and dummy weights through the real binary.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/support/run_process.h"
#include "tests/support/tiny_model.h"

using namespace ascent::test;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;

TEST(CliBench, LatencySweepComparesModesWithTheRoofline) {
    auto r = run_ascent({"bench", "latency", "--load-format", "dummy", "--input-len", "8,20", "--output-len", "5",
                         "--modes", "eager,graph", "--num-iters", "2", "--num-iters-warmup", "1", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["command"], "latency");
    EXPECT_GT(j["machine"]["read_bandwidth_bytes_per_s"].get<double>(), 1e8);
    EXPECT_GT(j["machine"]["read_bandwidth_one_thread_bytes_per_s"].get<double>(), 1e8);
    EXPECT_GT(j["machine"]["bf16_peak_flops_per_s"].get<double>(), 1e8);
    EXPECT_GT(j["memory"]["weights_bytes"].get<double>(), 0);
    EXPECT_GT(j["memory"]["kv_cache_bytes"].get<double>(), 0);
    EXPECT_GT(j["memory"]["arena_bytes"].get<double>(), 0);  // graph mode ran
    ASSERT_EQ(j["rows"].size(), 4u);
    std::set<std::string> modes;
    for (const auto& row : j["rows"]) {
        modes.insert(row["mode"]);
        EXPECT_EQ(row["num_iters"], 2);
        EXPECT_EQ(row["latencies_s"].size(), 2u);
        for (const char* k : {"avg_latency_s", "ttft_s", "prompt_tokens_per_s", "generation_tokens_per_s",
                              "decode_bytes_per_token", "decode_bytes_per_s", "decode_side_read_bytes_per_s",
                              "decode_roof_share", "prefill_flops_per_s"})
            EXPECT_GT(row[k].get<double>(), 0) << k;
        EXPECT_GT(row["decode_probe_share"].get<double>(), 0);
        // Roof pairs continue after the prompt until the context (in + out, the largest pair, so
        // 25 positions) is full, 32 at most. The two modes take turns pair by pair, each with an
        // untimed step after switching: two positions per pair.
        EXPECT_EQ(row["decode_roof_pairs"].get<int>(), std::min(32, (25 - row["input_len"].get<int>()) / 2));
        EXPECT_TRUE(row["percentile_latency_s"].contains("90"));
        // The demo model's shape (models/demo/stories260K/config.json): per token the products of
        // 5 layers (q, o 64x64; k, v 32x64; gate, up, down 172x64), once per prompt the tied LM
        // head (512x64), and causal attention over 8 heads of 8 in each layer.
        const double n = row["input_len"].get<double>();
        const double per_token = 2.0 * 5 * (2 * 64 * 64 + 2 * 32 * 64 + 3 * 172 * 64);
        const double expected = per_token * n + 2.0 * 512 * 64 + n * (n + 1) / 2 * 4 * 5 * 64;
        EXPECT_DOUBLE_EQ(row["prefill_flops"].get<double>(), expected) << "input_len " << n;
    }
    EXPECT_EQ(modes, (std::set<std::string>{"eager", "graph"}));
}

// --modes: each mode after the first against the first, pair by pair. The figures the JSON gives
// are recomputed here from the rows' per-iteration values and pair counts.
TEST(CliBench, ModesAreComparedPairByPair) {
    auto r = run_ascent({"bench", "latency", "--load-format", "dummy", "--input-len", "6,9", "--output-len", "4",
                         "--modes", "eager,graph", "--num-iters", "3", "--num-iters-warmup", "0", "--roof-pairs", "2",
                         "--peak-pairs", "2", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    const auto row_of = [&](const std::string& mode, int in) {
        for (const auto& row : j["rows"])
            if (row["mode"] == mode && row["input_len"] == in) return row;
        ADD_FAILURE() << "no row " << mode << " " << in;
        return json();
    };
    // Median, lowest, highest and wins of ratio(base[i], mode[i]) over the pairs.
    const auto expect_speedup = [](const json& got, const std::vector<double>& base, const std::vector<double>& mode,
                                   bool times, const std::string& what) {
        ASSERT_EQ(base.size(), mode.size()) << what;
        std::vector<double> ratios;
        for (size_t i = 0; i < base.size(); ++i) ratios.push_back(times ? base[i] / mode[i] : mode[i] / base[i]);
        std::sort(ratios.begin(), ratios.end());
        const size_t n = ratios.size();
        ASSERT_GT(n, 0u) << what;
        const double median = n % 2 ? ratios[n / 2] : (ratios[n / 2 - 1] + ratios[n / 2]) / 2;
        EXPECT_EQ(got["pairs"], static_cast<int>(n)) << what;
        EXPECT_DOUBLE_EQ(got["median"].get<double>(), median) << what;
        EXPECT_DOUBLE_EQ(got["lowest"].get<double>(), ratios.front()) << what;
        EXPECT_DOUBLE_EQ(got["highest"].get<double>(), ratios.back()) << what;
        EXPECT_EQ(got["wins"], std::count_if(ratios.begin(), ratios.end(), [](double x) { return x > 1; })) << what;
    };
    ASSERT_EQ(j["comparisons"].size(), 2u) << r.out;
    std::set<int> cells;
    for (const auto& c : j["comparisons"]) {
        EXPECT_EQ(c["mode"], "graph");
        EXPECT_EQ(c["baseline"], "eager");
        EXPECT_EQ(c["output_len"], 4);
        const int in = c["input_len"];
        cells.insert(in);
        const json eager = row_of("eager", in), graph = row_of("graph", in);
        ASSERT_EQ(eager["latencies_s"].size(), 3u);
        expect_speedup(c["latency_speedup"], eager["latencies_s"], graph["latencies_s"], true, "latency");
        expect_speedup(c["ttft_speedup"], eager["ttfts_s"], graph["ttfts_s"], true, "ttft");
        expect_speedup(c["generation_speedup"], eager["generation_tokens_per_s_by_iter"],
                       graph["generation_tokens_per_s_by_iter"], false, "generation");
        // The per-iteration figures are the ones the row's means are of.
        double ttft = 0;
        for (double t : graph["ttfts_s"]) ttft += t;
        EXPECT_NEAR(ttft / 3, graph["ttft_s"].get<double>(), 1e-12);
        // Roof and peak pairs: as many ratios as the rows have pairs.
        EXPECT_EQ(c["decode_roof_share_ratio"]["pairs"], 2);
        EXPECT_EQ(c["prefill_peak_share_ratio"]["pairs"], 2);
        for (const char* k : {"decode_roof_share_ratio", "prefill_peak_share_ratio"}) {
            EXPECT_LE(c[k]["lowest"].get<double>(), c[k]["median"].get<double>()) << k;
            EXPECT_LE(c[k]["median"].get<double>(), c[k]["highest"].get<double>()) << k;
            EXPECT_GT(c[k]["lowest"].get<double>(), 0) << k;
        }
    }
    EXPECT_EQ(cells, (std::set<int>{6, 9}));

    // The text report: one table of both cells, whose cells carry the JSON's figures.
    auto t = run_ascent({"bench", "latency", "--load-format", "dummy", "--input-len", "6", "--output-len", "1",
                         "--modes", "eager,graph", "--num-iters", "2", "--num-iters-warmup", "0", "--peak-pairs", "0"});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    const size_t at = t.out.find("graph vs eager, pair by pair");
    ASSERT_NE(at, std::string::npos) << t.out;
    const size_t row_at = t.out.find("\n|    6 |    1 | ", at);
    ASSERT_NE(row_at, std::string::npos) << t.out;
    const std::string line = t.out.substr(row_at + 1, t.out.find('\n', row_at + 1) - row_at - 1);
    EXPECT_NE(line.find("x ["), std::string::npos) << line;
    EXPECT_NE(line.find("] "), std::string::npos) << line;
    EXPECT_NE(line.find("/2 "), std::string::npos) << line;  // latency and TTFT: 2 pairs
    // One token generated: no decode steps, so no generation or roof pairs; no peak pairs asked.
    EXPECT_EQ(std::count(line.begin(), line.end(), '-'), 3 + 2) << line;  // three "-" cells, two ranges

    // One mode: nothing to compare.
    auto one = run_ascent({"bench", "latency", "--load-format", "dummy", "--input-len", "4", "--output-len", "2",
                           "--num-iters", "1", "--json"});
    ASSERT_EQ(one.exit_code, 0) << one.err;
    EXPECT_TRUE(json::parse(one.out)["comparisons"].empty());
}

// --threads: by default one per CPU the process may run on (its affinity, as taskset or a
// container's cpuset sets it), not per CPU of the machine; more than that is allowed with a warning.
TEST(CliBench, ThreadsFollowTheCpusTheProcessMayUse) {
    const std::vector<std::string> args{"bench", "latency", "--load-format", "dummy", "--input-len", "4",
                                        "--output-len", "2", "--num-iters", "1", "--roof-pairs", "0", "--json"};
    RunOptions one_cpu;
    one_cpu.only_cpus = 1;
    auto r = run_ascent(args, one_cpu);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["threads"], 1);
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;

    auto more = args;
    more.insert(more.end(), {"--threads", "3"});
    r = run_ascent(more, one_cpu);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["threads"], 3);
    EXPECT_NE(r.err.find("warning: --threads 3 is more than the 1 CPU this process may run on"), std::string::npos)
        << r.err;
}

// The report names the kernels that ran: attention's BF16 products go to AMX tiles exactly where
// the matrix products do, and ASCENT_SIMD=avx512bf16 keeps both on the vector unit.
TEST(CliBench, ReportNamesTheKernelsAndAscentSimdChoosesThem) {
    const std::vector<std::string> args{"bench", "latency", "--load-format", "dummy", "--input-len", "20",
                                        "--output-len", "2", "--num-iters", "1", "--roof-pairs", "0", "--json"};
    auto r = run_ascent(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string best = json::parse(r.out)["backend"];
    EXPECT_EQ(best.find("+amx matmul") != std::string::npos, best.find("+amx-attention kernels") != std::string::npos)
        << best;

    RunOptions vector_unit;
    vector_unit.env = {{"ASCENT_SIMD", "avx512bf16"}};
    r = run_ascent(args, vector_unit);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string chosen = json::parse(r.out)["backend"];
    EXPECT_EQ(chosen.find("amx"), std::string::npos) << chosen;
}

// --peak-pairs: the prefill's share of the peak is measured in pairs, each prefill beside a probe of
// the peak of the unit that ran it: AMX tiles for BF16 weights where the matrix products use them,
// the vector unit where ASCENT_SIMD keeps them there.
TEST(CliBench, PrefillPeakIsPairedWithTheUnitPrefillRanOn) {
    const std::string model = qwen3_tiny_chat_model("bench_peak_pairs").string();
    const std::vector<std::string> args{"bench", "latency", "-m", model, "--input-len", "40", "--output-len", "1",
                                        "--num-iters", "1", "--roof-pairs", "0", "--peak-pairs", "2", "--json"};
    for (const bool vector_only : {false, true}) {
        RunOptions o;
        if (vector_only) o.env = {{"ASCENT_SIMD", "avx512bf16"}};
        auto r = run_ascent(args, o);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const json j = json::parse(r.out);
        const json& machine = j["machine"];
        const json& row = j["rows"][0];
        const bool amx = j["backend"].get<std::string>().find("+amx matmul") != std::string::npos;
        EXPECT_TRUE(!vector_only || !amx) << j["backend"];
        EXPECT_EQ(machine["prefill_on_matrix_unit"].get<bool>(), amx) << j["backend"];
        EXPECT_EQ(row["prefill_peak_pairs"], 2);
        EXPECT_GT(row["prefill_pair_peak_share"].get<double>(), 0);
        // The AMX peak is tens of times the vector unit's: the probe measured the right one.
        const double side = row["prefill_side_peak_flops_per_s"].get<double>();
        const double vector_peak = machine["bf16_peak_flops_per_s"].get<double>();
        const double matrix_peak = machine["matrix_bf16_peak_flops_per_s"].get<double>();
        if (amx) {
            EXPECT_GT(side, 4 * vector_peak) << r.out;
        } else {
            EXPECT_GT(side, vector_peak / 4) << r.out;
            EXPECT_LT(side, 4 * vector_peak) << r.out;
            if (matrix_peak > 0) {
                EXPECT_LT(side, matrix_peak / 4) << r.out;
            }
        }
    }
    // The text names the pairs in the header; without them, it does not.
    auto text = run_ascent({"bench", "latency", "-m", model, "--input-len", "40", "--output-len", "1", "--num-iters",
                            "1", "--roof-pairs", "0", "--peak-pairs", "2"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("prefill peak: 2 prefills per row, each followed by a probe of the "), std::string::npos)
        << text.out;
    text = run_ascent({"bench", "latency", "-m", model, "--input-len", "40", "--output-len", "1", "--num-iters", "1",
                       "--roof-pairs", "0", "--peak-pairs", "0", "--json"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_EQ(json::parse(text.out)["rows"][0]["prefill_peak_pairs"], 0);
    EXPECT_EQ(json::parse(text.out)["rows"][0]["prefill_pair_peak_share"].get<double>(), 0);
    auto bad = run_ascent({"bench", "latency", "-m", model, "--peak-pairs", "-1"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("--peak-pairs"), std::string::npos) << bad.err;
}

// --roof-pairs: how many decode steps measure the roof; 0 leaves the roof out, and says so.
TEST(CliBench, RoofPairsCanBeChosenOrLeftOut) {
    auto r = run_ascent({"bench", "latency", "--load-format", "dummy", "--input-len", "4", "--output-len", "12",
                         "--num-iters", "1", "--roof-pairs", "3", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json row = json::parse(r.out)["rows"][0];
    EXPECT_EQ(row["decode_roof_pairs"], 3);
    EXPECT_GT(row["decode_roof_share"].get<double>(), 0);
    EXPECT_GT(row["decode_side_read_bytes_per_s"].get<double>(), 0);

    r = run_ascent({"bench", "latency", "--load-format", "dummy", "--input-len", "4", "--output-len", "12",
                    "--num-iters", "1", "--roof-pairs", "0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find("decode roof:"), std::string::npos) << r.out;
    r = run_ascent({"bench", "latency", "--load-format", "dummy", "--input-len", "4", "--output-len", "12",
                    "--num-iters", "1", "--roof-pairs", "0", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    row = json::parse(r.out)["rows"][0];
    EXPECT_EQ(row["decode_roof_pairs"], 0);
    EXPECT_EQ(row["decode_roof_share"].get<double>(), 0);

    r = run_ascent({"bench", "latency", "--load-format", "dummy", "--roof-pairs", "-1"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--roof-pairs"), std::string::npos) << r.err;
}

// One Ctrl-C stops a bench at its next decode step: exit 130, no half-made report on stdout and
// no empty trace file.
TEST(CliBench, CtrlCStopsTheBench) {
    RunOptions opt;
    opt.sigint_after_ms = 1500;
    opt.timeout_ms = 60000;
    const fs::path trace = fs::temp_directory_path() / ("ascent_ctrlc_trace_" + std::to_string(getpid()) + ".json");
    const auto t0 = std::chrono::steady_clock::now();
    // Far more work than the test waits for: thousands of iterations of a 64-token request.
    auto r = run_ascent({"bench", "latency", "--load-format", "dummy", "--input-len", "16", "--output-len", "48",
                         "--num-iters", "100000", "--trace", trace.string(), "--json"},
                        opt);
    EXPECT_FALSE(fs::exists(trace));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 130) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r.err;
    EXPECT_LT(seconds, 30.0);
}

// --profile: where each mode's step time goes. Every kernel the executor dispatched is counted:
// eager runs each recorded op and allocates each output, graph mode runs its fused kernels only.
TEST(CliBench, ProfileCountsEveryDispatchOfEachMode) {
    auto r = run_ascent({"bench", "latency", "--load-format", "dummy", "--input-len", "6", "--output-len", "4",
                         "--modes", "eager,graph", "--num-iters", "1", "--profile", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    int recorded = 0, fused = 0;
    for (const auto& g : j["graphs"])
        if (g["tokens"] == 1) {
            recorded = g["nodes_recorded"];
            fused = g["nodes_fused"];
        }
    ASSERT_GT(recorded, fused);
    ASSERT_EQ(j["profile"].size(), 4u);  // two modes x (prefill, decode)
    for (const auto& p : j["profile"]) {
        EXPECT_EQ(p["steps"], p["phase"] == "decode" ? 3 : 1);
        EXPECT_GT(p["wall_s_per_step"].get<double>(), 0);
        // Each backend thread's share of the wall time in kernel work; the caller always works.
        ASSERT_EQ(p["thread_busy_share"].size(), j["threads"].get<size_t>()) << p.dump();
        EXPECT_GT(p["thread_busy_share"][0].get<double>(), 0) << p.dump();
        for (const auto& share : p["thread_busy_share"]) {
            EXPECT_GE(share.get<double>(), 0) << p.dump();
            EXPECT_LE(share.get<double>(), 1.0) << p.dump();
        }
        if (p["phase"] != "decode") continue;
        double kernel_calls = 0, allocs = 0, kernel_seconds = 0;
        std::set<std::string> kinds;
        for (const auto& k : p["kernels"]) {
            kinds.insert(k["kernel"]);
            if (k["kernel"] == "alloc/free") {
                allocs = k["calls_per_step"];
                continue;
            }
            kernel_calls += k["calls_per_step"].get<double>();
            kernel_seconds += k["s_per_step"].get<double>();
        }
        EXPECT_LE(kernel_seconds, p["wall_s_per_step"].get<double>());
        // The node that picks the last row of logits is a copy, not a kernel.
        if (p["mode"] == "eager") {
            EXPECT_EQ(kernel_calls, recorded - 1);
            EXPECT_EQ(allocs, recorded);
            EXPECT_TRUE(kinds.count("rope") && kinds.count("swiglu") && kinds.count("add"));
        } else {
            EXPECT_EQ(kernel_calls, fused - 1);
            EXPECT_EQ(allocs, 0);
            EXPECT_TRUE(kinds.count("linear x3 +norm +rope") && kinds.count("linear x3 +norm +swiglu +residual") &&
                        kinds.count("linear +residual") && kinds.count("linear +norm") && !kinds.count("rms_norm"))
                << p.dump();
        }
    }
    auto t = run_ascent({"bench", "latency", "--input-len", "4", "--output-len", "3", "--num-iters", "1", "--profile"});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_NE(t.out.find("profile: decode of in=4 out=3"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("| outside kernels"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("| threads busy, % of wall"), std::string::npos) << t.out;
}

// --trace FILE: the profiled requests' timelines as a Chrome trace: per request a process whose
// first track holds the traced steps (the prefill, then the first 8 decode steps) with the kernel
// calls inside them, and one track per thread with its tasks, each named by its kernel.
TEST(CliBench, TraceWritesEachProfiledRequestsTimeline) {
    const fs::path dir = fs::temp_directory_path() / ("ascent_trace_" + std::to_string(getpid()));
    fs::create_directories(dir);
    const std::string file = (dir / "trace.json").string();
    // 64 tokens: the prefill's products are large enough to be handed out to both threads.
    auto r = run_ascent({"bench", "latency", "--load-format", "dummy", "--input-len", "64", "--output-len", "12",
                         "--modes", "eager,graph", "--num-iters", "1", "--num-iters-warmup", "0", "--roof-pairs", "0",
                         "--threads", "2", "--trace", file, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["profile"].size(), 4u);  // --trace implies --profile
    EXPECT_NE(r.err.find("written to " + file), std::string::npos) << r.err;
    std::ifstream in(file);
    const json trace = json::parse(in);
    std::map<int, std::string> processes;
    std::map<int, int> thread_tracks;
    struct Span {
        double begin, end;
        std::string name;
    };
    std::map<std::pair<int, int>, std::vector<Span>> tracks;  // (pid, tid)
    std::map<int, std::vector<Span>> steps, kernels;
    for (const auto& e : trace["traceEvents"]) {
        if (e["ph"] == "M") {
            if (e["name"] == "process_name") processes[e["pid"]] = e["args"]["name"];
            if (e["name"] == "thread_name") ++thread_tracks[e["pid"]];
            continue;
        }
        ASSERT_EQ(e["ph"], "X") << e.dump();
        const Span s{e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>(), e["name"]};
        EXPECT_GE(s.end, s.begin) << e.dump();
        if (e["cat"] == "step") steps[e["pid"]].push_back(s);
        else if (e["cat"] == "kernel") kernels[e["pid"]].push_back(s);
        else tracks[{e["pid"], e["tid"]}].push_back(s);
    }
    ASSERT_EQ(processes.size(), 2u);
    std::set<std::string> names;
    for (const auto& [pid, name] : processes) names.insert(name);
    EXPECT_EQ(names, (std::set<std::string>{"eager in=64 out=12", "graph in=64 out=12"}));
    for (const auto& [pid, name] : processes) {
        std::vector<std::string> step_names;
        for (const Span& s : steps[pid]) step_names.push_back(s.name);
        std::vector<std::string> want{"prefill (64 tokens)"};
        for (int i = 1; i <= 8; ++i) want.push_back("decode step " + std::to_string(i));  // of 11
        EXPECT_EQ(step_names, want) << name;
        // Every kernel call lies inside a step, and every task inside a call of the kernel it is named by.
        std::set<std::string> kinds;
        for (const Span& k : kernels[pid]) {
            kinds.insert(k.name);
            EXPECT_TRUE(std::any_of(steps[pid].begin(), steps[pid].end(),
                                    [&](const Span& s) { return s.begin <= k.begin && k.end <= s.end; }))
                << name << " " << k.name << " at " << k.begin;
        }
        EXPECT_TRUE(kinds.count("attention")) << name;
        EXPECT_EQ(kinds.count("linear x3 +norm +rope"), name.starts_with("graph") ? 1u : 0u) << name;
        // The caller always runs tasks of its own; the other thread, on a loaded machine, may
        // wake too late for the short jobs of this tiny model.
        EXPECT_FALSE((tracks[{pid, 1}].empty())) << name;
        EXPECT_EQ(thread_tracks[pid], 3) << name;  // steps and kernels, then one per thread
        for (int tid : {1, 2}) {
            const auto& tasks = tracks[{pid, tid}];
            for (size_t i = 0; i < tasks.size(); ++i) {
                // One thread runs one task at a time (1 ns of rounding to microseconds allowed).
                if (i > 0) {
                    EXPECT_GE(tasks[i].begin, tasks[i - 1].end - 1e-3) << name << " thread " << tid - 1;
                }
                EXPECT_TRUE(std::any_of(kernels[pid].begin(), kernels[pid].end(), [&](const Span& k) {
                    return k.name == tasks[i].name && k.begin <= tasks[i].begin + 1e-3 && tasks[i].end <= k.end + 1e-3;
                })) << name << " thread " << tid - 1 << " task " << tasks[i].name << " at " << tasks[i].begin;
            }
        }
    }
    fs::remove_all(dir);

    // A file that cannot be written is named before any benchmarking.
    r = run_ascent({"bench", "latency", "--load-format", "dummy", "--trace", "/nonexistent-dir/trace.json"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--trace /nonexistent-dir/trace.json: cannot write this file"), std::string::npos) << r.err;
    r = run_ascent({"bench", "latency", "--load-format", "dummy", "--trace", ""});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("needs a file name"), std::string::npos) << r.err;
}

TEST(CliBench, ThroughputAndTextReport) {
    auto r = run_ascent({"bench", "throughput", "--load-format", "dummy", "--input-len", "6", "--output-len", "3",
                         "--num-prompts", "3", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    ASSERT_EQ(j["rows"].size(), 1u);
    EXPECT_EQ(j["rows"][0]["output_tokens"], 9);
    EXPECT_EQ(j["rows"][0]["prompt_tokens"], 18);
    EXPECT_GT(j["rows"][0]["requests_per_s"].get<double>(), 0);
    // Without peak pairs, the shares are of the peaks this header line gives.
    auto t = run_ascent({"bench", "latency", "--input-len", "4", "--output-len", "3", "--num-iters", "1", "--threads", "2",
                         "--peak-pairs", "0"});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_NE(t.out.find("Avg latency:"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("90% percentile latency:"), std::string::npos);
    // Beside the threads' read bandwidth, one thread's: whether a waiting core costs bandwidth.
    const size_t at = t.out.find("roofline: read bandwidth ");
    ASSERT_NE(at, std::string::npos) << t.out;
    const std::string line = t.out.substr(at, t.out.find('\n', at) - at);
    const std::string one_alone = " GB/s (probe, 2 threads; one alone ";
    const size_t one_at = line.find(one_alone);
    ASSERT_NE(one_at, std::string::npos) << line;
    EXPECT_GT(std::stod(line.substr(one_at + one_alone.size())), 0.0) << line;
    EXPECT_NE(line.find(" GB/s); BF16 peak "), std::string::npos) << line;
    // The row's prefill share is of the AMX tiles' peak where the line marks it as the prefill
    // peak (BF16 weights on an AMX machine), else of the vector peak.
    const std::string marked = " GFLOP/s (the prefill peak)";
    const size_t marked_at = line.find(marked);
    const double peak = marked_at != std::string::npos
                            ? std::stod(line.substr(line.rfind(' ', marked_at - 1) + 1))
                            : std::stod(line.substr(line.find("BF16 peak ") + 10));
    size_t row_at = t.out.find("\n| graph |");
    if (row_at == std::string::npos) row_at = t.out.find("\n| eager |");
    ASSERT_NE(row_at, std::string::npos) << t.out;
    std::vector<std::string> cells;
    for (size_t b = row_at + 2, e; (e = t.out.find('|', b)) != std::string::npos && t.out[b] != '\n'; b = e + 1)
        cells.push_back(t.out.substr(b, e - b));
    ASSERT_GE(cells.size(), 14u) << t.out;
    const std::string& prefill = cells[11];  // "  GFLOP/s ( share%)"
    ASSERT_NE(prefill.find('('), std::string::npos) << t.out;
    EXPECT_NEAR(std::stod(cells[12]), peak, 0.051) << t.out;  // the peak column: the header's
    const double gflops = std::stod(prefill), pct = std::stod(prefill.substr(prefill.find('(') + 1));
    // Both cells are rounded to 0.1: GFLOP/s that small (a sanitizer build's, against its peak of
    // ~15) move the share by up to 5/peak points.
    EXPECT_NEAR(pct, 100.0 * gflops / peak, 0.06 + (5.1 + 0.06 * pct) / peak) << line << "\n" << prefill;
    auto one = run_ascent({"bench", "latency", "--input-len", "4", "--output-len", "3", "--num-iters", "1", "--threads", "1"});
    ASSERT_EQ(one.exit_code, 0) << one.err;
    EXPECT_NE(one.out.find("(probe, 1 thread); BF16 peak"), std::string::npos) << one.out;
}

// --batch-size: requests decoded together in one forward step per token, each in its own
// sequence of the cache; throughput keeps several in flight by default.
TEST(CliBench, BatchesDecodeSeveralRequestsPerStep) {
    auto latency = [](const char* batch) {
        auto r = run_ascent({"bench", "latency", "--load-format", "dummy", "--input-len", "6", "--output-len", "5",
                             "--modes", "eager,graph", "--num-iters", "1", "--num-iters-warmup", "0", "--roof-pairs", "2",
                             "--batch-size", batch, "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return json::parse(r.out);
    };
    const json one = latency("1"), three = latency("3");
    EXPECT_EQ(three["batch_size"], 3);
    // A sequence of 11 positions per request.
    EXPECT_EQ(three["memory"]["kv_cache_bytes"].get<double>(), 3 * one["memory"]["kv_cache_bytes"].get<double>());
    bool batched_graph = false;
    for (const auto& g : three["graphs"]) batched_graph |= g["tokens"] == 4 && g["logits"] == "all";
    EXPECT_TRUE(batched_graph) << three["graphs"].dump();  // three rows replay the 4-token bucket
    ASSERT_EQ(three["rows"].size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        const json& row = three["rows"][i];
        EXPECT_GT(row["generation_tokens_per_s"].get<double>(), 0);
        EXPECT_EQ(row["decode_roof_pairs"], 2);
        EXPECT_GT(row["decode_roof_share"].get<double>(), 0);
        // The weights are read once per step for three tokens.
        EXPECT_LT(row["decode_bytes_per_token"].get<double>(), 0.5 * one["rows"][i]["decode_bytes_per_token"].get<double>());
    }

    auto t = run_ascent({"bench", "throughput", "--load-format", "dummy", "--input-len", "6", "--output-len", "4",
                         "--num-prompts", "5", "--batch-size", "2", "--json"});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    json j = json::parse(t.out);
    EXPECT_EQ(j["batch_size"], 2);
    EXPECT_EQ(j["rows"][0]["output_tokens"], 20);
    EXPECT_EQ(j["rows"][0]["prompt_tokens"], 30);
    EXPECT_EQ(j["rows"][0]["max_running"], 2);
    t = run_ascent({"bench", "throughput", "--load-format", "dummy", "--input-len", "6", "--output-len", "4",
                    "--num-prompts", "3"});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_NE(t.out.find("3 prompts per row, at most 3 decoded together"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("Most requests per decode step: 3"), std::string::npos) << t.out;
}

TEST(CliBench, BadArguments) {
    for (const char* batch : {"0", "257", "x"}) {
        auto r = run_ascent({"bench", "latency", "--batch-size", batch, "--num-iters", "1"});
        EXPECT_EQ(r.exit_code, 2) << batch;
        EXPECT_NE(r.err.find("--batch-size"), std::string::npos) << r.err;
    }
    auto r = run_ascent({"bench", "latency", "--input-len", "4x"});
    EXPECT_EQ(r.exit_code, 2);
    r = run_ascent({"bench", "latency", "--input-len", "600", "--output-len", "10", "--ctx", "512"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("context"), std::string::npos) << r.err;
    // Each bad length is named on its own, not blamed on the context.
    r = run_ascent({"bench", "latency", "--input-len", "16", "--output-len", "0"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--output-len 0: a request generates at least 1 token"), std::string::npos) << r.err;
    r = run_ascent({"bench", "throughput", "--input-len", "8,0", "--num-prompts", "2"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--input-len 0: a prompt needs at least 1 token"), std::string::npos) << r.err;
    r = run_ascent({"bench"});
    EXPECT_EQ(r.exit_code, 2);
}

TEST(DummyWeights, EveryCardRunsAtItsTrueSize) {
    int cards = 0;
    for (const auto& e : fs::directory_iterator(fs::path(ASCENT_SOURCE_DIR) / "models/cards")) {
        if (!e.is_directory()) continue;
        auto info = run_ascent({"info", "-m", e.path().string(), "--load-format", "dummy", "--json"});
        ASSERT_EQ(info.exit_code, 0) << e.path() << info.err;
        json j = json::parse(info.out);
        EXPECT_GT(j["parameters"].get<int64_t>(), 100'000'000) << e.path();
        auto run = run_ascent({"complete", "-m", e.path().string(), "--load-format", "dummy", "--ignore-eos", "-n", "3",
                               "--temperature", "0", "--json", "def fib(n):"});
        ASSERT_EQ(run.exit_code, 0) << e.path() << run.err;
        EXPECT_EQ(json::parse(run.out)["usage"]["completion_tokens"], 3);
        ++cards;
    }
    EXPECT_GE(cards, 2);
    auto q = run_ascent({"info", "-m", (fs::path(ASCENT_SOURCE_DIR) / "models/cards/qwen2-0.5b").string(),
                         "--load-format", "dummy", "--json"});
    EXPECT_EQ(json::parse(q.out)["parameters"], 494032768);  // Qwen2-0.5B's published count
}

TEST(DummyWeights, SameSeedSameWeights) {
    auto a = run_ascent({"complete", "--load-format", "dummy", "-n", "6", "--temperature", "0", "--json", "--ignore-eos", "hi"});
    auto b = run_ascent({"complete", "--load-format", "dummy", "-n", "6", "--temperature", "0", "--json", "--ignore-eos", "hi"});
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(json::parse(a.out)["choices"][0]["text"], json::parse(b.out)["choices"][0]["text"]);
}

}  // namespace
