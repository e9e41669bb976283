// `ascent bench latency|throughput`: benchmarks in the shape of `vllm bench`, against the roofline.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "app/commands.h"
#include "app/model_options.h"
#include "app/terminal_io.h"
#include "bench/runner.h"
#include "bench/trace_file.h"
#include "engine/error.h"

namespace ascent::app {

namespace {

constexpr int kDefaultThroughputBatch = 16;

struct BenchOptions {
    ModelOptions model;
    std::string input_lens = "32", output_lens = "128", modes;
    int batch_size = 0, num_iters = 5, warmup = 1, num_prompts = 8, roof_pairs = 32, peak_pairs = 3;
    bool ignore_eos = true, json = false, profile = false;
    std::string trace;  // latency: --trace FILE
    uint64_t seed = 0;
};

std::vector<int64_t> int_list(const std::string& s, const char* flag) {
    std::vector<int64_t> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
        try {
            size_t used = 0;
            out.push_back(std::stoll(item, &used));
            if (used != item.size()) throw std::invalid_argument(item);
        } catch (const std::exception&) {
            input_error("{} {}: expected a number or a comma-separated list of numbers", flag, s);
        }
    }
    if (out.empty()) input_error("{} needs at least one value", flag);
    return out;
}

int run_bench(const BenchOptions& o, bool latency) {
    install_signal_handlers();
    bench::BenchConfig c;
    c.input_lens = int_list(o.input_lens, "--input-len");
    c.output_lens = int_list(o.output_lens, "--output-len");
    std::stringstream ss(o.modes.empty() ? o.model.mode : o.modes);
    c.modes.clear();
    for (std::string m; std::getline(ss, m, ',');) c.modes.push_back(parse_mode(m));
    // Unset: latency times one request; throughput keeps all its prompts in flight, as vLLM's
    // scheduler does, up to a batch whose KV caches stay small.
    c.batch_size = o.batch_size != 0 ? o.batch_size : latency ? 1 : std::min(o.num_prompts, kDefaultThroughputBatch);
    c.num_iters = o.num_iters;
    c.num_iters_warmup = o.warmup;
    c.num_prompts = o.num_prompts;
    c.ignore_eos = o.ignore_eos;
    c.profile = o.profile || !o.trace.empty();
    c.trace = !o.trace.empty();
    // Before minutes of benchmarking, not after.
    if (c.trace && !std::ofstream(o.trace, std::ios::trunc))
        input_error("--trace {}: cannot write this file ({})", o.trace, std::strerror(errno));
    c.roof_pairs = o.roof_pairs;
    c.peak_pairs = o.peak_pairs;
    c.seed = o.seed;
    ModelOptions mo = o.model;
    int64_t need = 0;
    for (auto in : c.input_lens)
        for (auto out : c.output_lens) need = std::max(need, in + out);
    if (mo.ctx == 0) mo.ctx = need;  // per sequence: each of a batch's requests has its own
    auto m = load(mo);
    c.session = session_options(mo, *m);
    c.cancel = &interrupted();
    bench::Report report;
    try {
        report = latency ? bench::run_latency(*m, c) : bench::run_throughput(*m, c);
    } catch (const bench::Interrupted&) {
        std::fputs("ascent: bench interrupted (Ctrl-C); no results\n", stderr);
        if (c.trace) std::remove(o.trace.c_str());  // the empty file the check above left
        return 130;
    }
    if (c.trace) {
        const nlohmann::json trace = bench::chrome_trace(report);
        std::ofstream f(o.trace, std::ios::trunc);
        f << trace.dump() << '\n';
        if (!f.flush()) runtime_error("--trace {}: writing the trace failed ({})", o.trace, std::strerror(errno));
        std::fprintf(stderr, "ascent: trace of %zu events written to %s (open it in ui.perfetto.dev or chrome://tracing)\n",
                     trace["traceEvents"].size(), o.trace.c_str());
    }
    write_stdout(o.json ? bench::to_json(report).dump(2) + "\n" : bench::format_text(report));
    return 0;
}

void add_bench_options(CLI::App* cmd, BenchOptions& o) {
    add_model_options(*cmd, o.model);
    cmd->add_option("--input-len", o.input_lens, "Prompt length(s), comma-separated for a sweep (default 32)");
    cmd->add_option("--output-len", o.output_lens, "Tokens to generate, comma-separated for a sweep (default 128)");
    cmd->add_option("--modes", o.modes, "Modes to compare side by side, e.g. eager,graph (default: --mode)");
    cmd->add_option("--batch-size", o.batch_size,
                    "Requests decoded together, one token each per forward step (latency: per iteration, default 1; "
                    "throughput: at most in flight, default all prompts up to 16)")
        ->check(CLI::Range(1, bench::kMaxBatch));
    cmd->add_flag("--ignore-eos,!--no-ignore-eos", o.ignore_eos, "Generate exactly --output-len tokens (default on)");
    cmd->add_flag("--json", o.json, "Print one JSON object (stable snake_case names) instead of the table");
    cmd->add_option("--seed", o.seed, "Seed of the random prompts");
}

}  // namespace

Runner add_bench_command(CLI::App& root) {
    auto o = std::make_shared<BenchOptions>();
    auto which = std::make_shared<bool>(true);
    CLI::App* bench = root.add_subcommand("bench", "Benchmark a model: latency or throughput, with the roofline");
    bench->require_subcommand(1);
    CLI::App* lat = bench->add_subcommand("latency", "Latency of one request (as vllm bench latency)");
    add_bench_options(lat, *o);
    lat->add_option("--num-iters", o->num_iters, "Timed iterations per row (default 5)")->check(CLI::Range(1, 100000));
    lat->add_option("--num-iters-warmup", o->warmup, "Untimed iterations first (default 1)")->check(CLI::Range(0, 100000));
    lat->add_option("--roof-pairs", o->roof_pairs,
                    "Decode steps per row and mode, each followed by a read of the weights: the decode roof (default 32, 0: none)")
        ->check(CLI::Range(0, 100000));
    lat->add_option("--peak-pairs", o->peak_pairs,
                    "Prefills per row and mode, each followed by a probe of the prefill unit's BF16 peak: the prefill peak "
                    "share (default 3, 0: against the probes before and after the run)")
        ->check(CLI::Range(0, 1000));
    lat->add_flag("--profile", o->profile,
                  "One more request per row and mode, timed kernel by kernel: where prefill and decode time goes");
    lat->add_option("--trace", o->trace,
                    "With --profile (implied), write the profiled requests' timelines (prefill, the first 8 decode "
                    "steps: kernels and each thread's tasks) to FILE as a Chrome trace (ui.perfetto.dev)")
        ->check([](const std::string& file) { return file.empty() ? std::string("needs a file name") : std::string(); });
    lat->callback([which] { *which = true; });
    CLI::App* thr = bench->add_subcommand("throughput", "Requests per second over many prompts (as vllm bench throughput)");
    add_bench_options(thr, *o);
    thr->add_option("--num-prompts", o->num_prompts, "Requests per row (default 8)")->check(CLI::Range(1, 100000));
    thr->callback([which] { *which = false; });
    return [o, which] { return run_bench(*o, *which); };
}

}  // namespace ascent::app
