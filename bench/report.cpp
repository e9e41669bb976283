// How `ascent bench` shows its results: a header with the machine's roofline and memory, then
// one row per (mode, input length, output length), in the vocabulary of `vllm bench`.
#include <fmt/format.h>

#include <algorithm>

#include "bench/runner.h"
#include "engine/human_units.h"

namespace ascent::bench {

namespace {

std::string gb(double bytes_per_second) { return fmt::format("{:.1f}", bytes_per_second / 1e9); }
double share(double achieved, double roof) { return roof > 0 ? 100.0 * achieved / roof : 0; }

// The peak the table's prefill shares are of.
double prefill_peak(const Report& r) { return prefill_on_matrix_unit(r) ? r.roof.matrix_peak_flops : r.roof.peak_flops; }

// The lowest and highest probe of a kind of pairs over every row, and the most pairs a row has.
struct ProbeRange {
    double lo = 0, hi = 0;
    size_t pairs = 0;
};
template <class Pair>
ProbeRange probe_range(const Report& r, std::vector<Pair> LatencyRow::*pairs, double Pair::*probe) {
    ProbeRange out;
    for (const auto& row : r.latency) {
        out.pairs = std::max(out.pairs, (row.*pairs).size());
        for (const Pair& p : row.*pairs) {
            out.lo = out.lo == 0 ? p.*probe : std::min(out.lo, p.*probe);
            out.hi = std::max(out.hi, p.*probe);
        }
    }
    return out;
}

std::string header(const Report& r) {
    std::string s = fmt::format("ascent bench {}: {} ({}, {})\n", r.command, r.model, r.architecture, r.dtypes);
    s += fmt::format("backend:  {}\n", r.backend);
    s += fmt::format("roofline: read bandwidth {} GB/s (probe, {} thread{}", gb(r.roof.read_bytes_per_second), r.threads,
                     r.threads == 1 ? "" : "s");
    if (r.threads > 1 && r.roof.read_bytes_per_second_one_thread > 0)
        s += fmt::format("; one alone {} GB/s", gb(r.roof.read_bytes_per_second_one_thread));
    s += fmt::format("); BF16 peak {:.1f} GFLOP/s ({})", r.roof.peak_flops / 1e9, r.roof.peak_kernel);
    if (r.roof.matrix_peak_flops > 0)
        s += fmt::format("; AMX tiles {:.1f} GFLOP/s{}", r.roof.matrix_peak_flops / 1e9,
                         prefill_on_matrix_unit(r) ? " (the prefill peak)" : "");
    s += "\n";
    const ProbeRange peak = probe_range(r, &LatencyRow::peak_pairs, &LatencyRow::PeakPair::peak_flops_per_second);
    if (peak.hi > 0)
        s += fmt::format("          prefill peak: {} prefills per row, each followed by a probe of the {} peak "
                         "({:.1f}-{:.1f} GFLOP/s); peak % is the median of prefill FLOP/s over that probe's\n",
                         peak.pairs, prefill_on_matrix_unit(r) ? "AMX tiles'" : "vector BF16", peak.lo / 1e9,
                         peak.hi / 1e9);
    const ProbeRange roof = probe_range(r, &LatencyRow::roof_pairs, &LatencyRow::RoofPair::read_bytes_per_second);
    if (roof.hi > 0)
        s += fmt::format("          decode roof: {} decode steps per row, each followed by a read of all the weights "
                         "(all threads, {}-{} GB/s); roof % is the median of step bytes/s over that read's\n",
                         roof.pairs, gb(roof.lo), gb(roof.hi));
    s += fmt::format("memory:   weights {}, KV cache {} ({}), graph arena {}, peak RSS {}\n", human_bytes(r.weight_bytes),
                     human_bytes(r.kv_cache_bytes), dtype_name(r.config.session.kv_dtype), human_bytes(r.arena_bytes), human_bytes(r.peak_rss_bytes));
    return s;
}

// Each thread's share of the wall time in kernel work, the caller's first; a summary when there
// are too many threads to list in one cell.
std::string busy_cell(const PhaseProfile& c) {
    const std::vector<double> shares = c.thread_busy_shares();
    if (shares.empty()) return "-";
    if (shares.size() > 6) {
        double sum = 0;
        for (double x : shares) sum += x;
        const auto [lo, hi] = std::minmax_element(shares.begin(), shares.end());
        return fmt::format("mean {:.1f}, min {:.1f}, max {:.1f}", 100 * sum / static_cast<double>(shares.size()),
                           100 * *lo, 100 * *hi);
    }
    std::string s;
    for (double x : shares) s += fmt::format("{}{:.1f}", s.empty() ? "" : "  ", 100 * x);
    return s;
}

// The profiles of one (input, output) pair and phase, one column pair per mode.
std::string profile_table(const std::vector<const PhaseProfile*>& cols) {
    std::vector<std::string> kinds;
    auto worst = [&](const std::string& kind) {
        double w = 0;
        for (const auto* c : cols) {
            auto it = c->profile.ops.find(kind);
            if (it != c->profile.ops.end()) w = std::max(w, it->second.seconds / static_cast<double>(c->profile.steps));
        }
        return w;
    };
    for (const auto* c : cols)
        for (const auto& [kind, p] : c->profile.ops)
            if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
    std::stable_sort(kinds.begin(), kinds.end(), [&](const auto& a, const auto& b) { return worst(a) > worst(b); });

    const PhaseProfile& first = *cols[0];
    std::string s = fmt::format("\nprofile: {} of in={} out={} ({}), ms and calls per {}\n", first.phase, first.input_len,
                                first.output_len, first.phase == "decode" ? "mean over the decode steps" : "whole prompt",
                                first.phase == "decode" ? "step" : "prompt");
    size_t width = 26;  // the longest kernel name, fused kinds included
    for (const auto& kind : kinds) width = std::max(width, kind.size());
    s += fmt::format("| {:<{}} |", "kernel", width);
    for (const auto* c : cols) s += fmt::format(" {:>5} calls | {:>5} ms | {:>5} MiB out |", mode_name(c->mode), mode_name(c->mode), mode_name(c->mode));
    s += "\n|" + std::string(width + 2, '-') + "|";
    for (size_t i = 0; i < cols.size(); ++i) s += "-------------|----------|---------------|";
    s += "\n";
    auto line = [&](const std::string& label, auto&& cell) {
        s += fmt::format("| {:<{}} |", label, width);
        for (const auto* c : cols) s += cell(*c);
        s += "\n";
    };
    for (const auto& kind : kinds)
        line(kind, [&](const PhaseProfile& c) {
            auto it = c.profile.ops.find(kind);
            const double steps = static_cast<double>(c.profile.steps);
            if (it == c.profile.ops.end()) return fmt::format(" {:>11} | {:>8} | {:>13} |", "-", "-", "-");
            return fmt::format(" {:>11.1f} | {:>8.3f} | {:>13.2f} |", static_cast<double>(it->second.calls) / steps,
                               it->second.seconds / steps * 1e3, it->second.bytes_written / steps / (1 << 20));
        });
    line("outside kernels", [](const PhaseProfile& c) {
        return fmt::format(" {:>11} | {:>8.3f} | {:>13} |", "", c.outside_kernels_seconds() * 1e3, "");
    });
    line("step (wall)", [](const PhaseProfile& c) {
        return fmt::format(" {:>11} | {:>8.3f} | {:>13} |", "", c.wall_seconds() * 1e3, "");
    });
    line("threads busy, % of wall", [](const PhaseProfile& c) { return fmt::format(" {:>38} |", busy_cell(c)); });
    return s;
}

std::string speedup_cell(const Speedup& x) {
    if (x.pairs == 0) return "-";
    return fmt::format("{:.3f}x [{:.2f}-{:.2f}] {}/{}", x.median, x.lo, x.hi, x.wins, x.pairs);
}

// Each mode against the first of --modes, cell by cell (ModeComparison).
std::string format_comparisons(const Report& r) {
    std::string s;
    for (size_t i = 0; i < r.comparisons.size(); ++i) {
        const ModeComparison& c = r.comparisons[i];
        if (i == 0 || c.mode != r.comparisons[i - 1].mode || c.baseline != r.comparisons[i - 1].baseline) {
            s += fmt::format("\n{0} vs {1}, pair by pair (each pair ran back to back): median speedup "
                             "[lowest-highest], pairs {0} won; above 1x, {0} was faster\n",
                             mode_name(c.mode), mode_name(c.baseline));
            s += fmt::format("| {:>4} | {:>4} | {:<26} | {:<26} | {:<26} | {:<26} | {:<26} |\n", "in", "out", "latency",
                             "TTFT", "gen tok/s", "decode roof %", "prefill peak %");
            s += "|------|------|";
            for (int k = 0; k < 5; ++k) s += "----------------------------|";
            s += "\n";
        }
        s += fmt::format("| {:>4} | {:>4} | {:<26} | {:<26} | {:<26} | {:<26} | {:<26} |\n", c.input_len, c.output_len,
                         speedup_cell(c.latency), speedup_cell(c.ttft), speedup_cell(c.generation),
                         speedup_cell(c.decode_roof_share), speedup_cell(c.prefill_peak_share));
    }
    return s;
}

nlohmann::ordered_json speedup_json(const Speedup& x) {
    return {{"median", x.median}, {"lowest", x.lo}, {"highest", x.hi}, {"pairs", x.pairs}, {"wins", x.wins}};
}

std::string format_profiles(const Report& r) {
    std::string s;
    for (size_t i = 0; i < r.profiles.size();) {
        // Consecutive entries of one (input, output) pair: per mode, prefill then decode.
        const PhaseProfile& head = r.profiles[i];
        size_t end = i;
        while (end < r.profiles.size() && r.profiles[end].input_len == head.input_len &&
               r.profiles[end].output_len == head.output_len)
            ++end;
        for (const char* phase : {"prefill", "decode"}) {
            std::vector<const PhaseProfile*> cols;
            for (size_t k = i; k < end; ++k)
                if (r.profiles[k].phase == phase) cols.push_back(&r.profiles[k]);
            if (!cols.empty()) s += profile_table(cols);
        }
        i = end;
    }
    return s;
}

}  // namespace

std::string format_text(const Report& r) {
    std::string s = header(r);
    for (const auto& g : r.graphs)
        s += fmt::format("graph:    bucket {:>3} (logits: {}): {} ops recorded -> {} kernels, arena {}, captured in {:.2f} ms, {} replays\n",
                         g.tokens, logit_rows_name(g.logits),
                         g.nodes_recorded, g.nodes_fused, human_bytes(g.arena_bytes), g.capture_seconds * 1e3, g.replays);
    if (r.command == "latency") {
        s += fmt::format("batch size {}, {} iterations after {} warm-up, EOS {}\n\n", r.config.batch_size,
                         r.config.num_iters, r.config.num_iters_warmup, r.config.ignore_eos ? "ignored" : "honoured");
        s += "| mode  |   in |  out | avg lat s | p50 s  | p90 s  | TTFT ms | prompt tok/s | gen tok/s | decode GB/s (roof %) | roof GB/s | prefill GFLOP/s (peak %) | peak GFLOP/s | capture ms |\n";
        s += "|-------|------|------|-----------|--------|--------|---------|--------------|-----------|----------------------|-----------|--------------------------|--------------|------------|\n";
        for (const auto& row : r.latency) {
            auto pct = [&](int p) {
                for (auto& [k, v] : row.percentiles)
                    if (k == p) return v;
                return 0.0;
            };
            // Paired where the row measured its peak pairs, else of the run's probes.
            const bool paired = !row.peak_pairs.empty();
            const double peak = paired ? row.side_peak_flops_per_second : prefill_peak(r);
            const double prefill_share =
                paired ? 100.0 * row.prefill_pair_peak_share : share(row.prefill_flops_per_second, peak);
            s += fmt::format("| {:<5} | {:>4} | {:>4} | {:>9.3f} | {:>6.3f} | {:>6.3f} | {:>7.1f} | {:>12.1f} | {:>9.1f} | {:>9} ({:>5.1f}%)    | {:>9} | {:>11.1f} ({:>5.1f}%)      | {:>12.1f} | {:>10.1f} |\n",
                             mode_name(row.mode), row.input_len, row.output_len, row.avg, pct(50), pct(90),
                             row.ttft_seconds * 1e3, row.prompt_tokens_per_second, row.generation_tokens_per_second,
                             gb(row.decode_bytes_per_second), 100.0 * row.decode_roof_share, gb(row.side_read_bytes_per_second),
                             row.prefill_flops_per_second / 1e9, prefill_share, peak / 1e9, row.capture_seconds * 1e3);
        }
        s += format_comparisons(r);
        s += format_profiles(r);
        if (r.latency.size() == 1) {
            const auto& row = r.latency[0];
            s += fmt::format("\nAvg latency: {:.6f} seconds\nStd latency: {:.6f} seconds\n", row.avg, row.stddev);
            for (auto& [p, v] : row.percentiles) s += fmt::format("{}% percentile latency: {:.6f} seconds\n", p, v);
        }
    } else {
        s += fmt::format("{} prompts per row, at most {} decoded together\n\n", r.config.num_prompts, r.config.batch_size);
        for (const auto& row : r.throughput)
            s += fmt::format("[{} in={} out={}] Throughput: {:.2f} requests/s, {:.2f} total tokens/s, {:.2f} output tokens/s\n"
                             "  Total num prompt tokens:  {}\n  Total num output tokens:  {}\n  Most requests per decode step: {}\n",
                             mode_name(row.mode), row.input_len, row.output_len, row.requests_per_second(),
                             row.total_tokens_per_second(), row.output_tokens_per_second(), row.prompt_tokens,
                             row.output_tokens, row.max_running);
    }
    return s;
}

nlohmann::ordered_json to_json(const Report& r) {
    using nlohmann::ordered_json;
    ordered_json j;
    j["command"] = r.command;
    j["model"] = r.model;
    j["architecture"] = r.architecture;
    j["dtypes"] = r.dtypes;
    j["backend"] = r.backend;
    j["threads"] = r.threads;
    j["load_seconds"] = r.load_seconds;
    j["machine"] = {{"read_bandwidth_bytes_per_s", r.roof.read_bytes_per_second},
                    {"read_bandwidth_one_thread_bytes_per_s", r.roof.read_bytes_per_second_one_thread},
                    {"bf16_peak_flops_per_s", r.roof.peak_flops},
                    {"peak_kernel", r.roof.peak_kernel},
                    {"matrix_bf16_peak_flops_per_s", r.roof.matrix_peak_flops},
                    {"prefill_on_matrix_unit", prefill_on_matrix_unit(r)}};
    j["memory"] = {{"weights_bytes", r.weight_bytes},
                   {"kv_cache_bytes", r.kv_cache_bytes},
                   {"kv_cache_dtype", dtype_name(r.config.session.kv_dtype)},
                   {"arena_bytes", r.arena_bytes},
                   {"peak_rss_bytes", r.peak_rss_bytes}};
    ordered_json graphs = ordered_json::array();
    for (const auto& g : r.graphs)
        graphs.push_back({{"tokens", g.tokens},
                          {"logits", logit_rows_name(g.logits)},
                          {"nodes_recorded", g.nodes_recorded},
                          {"nodes_fused", g.nodes_fused},
                          {"arena_bytes", g.arena_bytes},
                          {"capture_s", g.capture_seconds},
                          {"replays", g.replays}});
    j["graphs"] = graphs;
    j["batch_size"] = r.config.batch_size;
    j["ignore_eos"] = r.config.ignore_eos;
    ordered_json rows = ordered_json::array();
    for (const auto& row : r.latency) {
        ordered_json p = ordered_json::object();
        for (auto& [k, v] : row.percentiles) p[std::to_string(k)] = v;
        rows.push_back({{"mode", mode_name(row.mode)},
                        {"input_len", row.input_len},
                        {"output_len", row.output_len},
                        {"num_iters", row.latencies.size()},
                        {"avg_latency_s", row.avg},
                        {"std_latency_s", row.stddev},
                        {"percentile_latency_s", p},
                        {"latencies_s", row.latencies},
                        {"ttfts_s", row.ttfts},
                        {"generation_tokens_per_s_by_iter", row.generation_rates},
                        {"ttft_s", row.ttft_seconds},
                        {"prefill_s", row.prefill_seconds},
                        {"prompt_tokens_per_s", row.prompt_tokens_per_second},
                        {"generation_tokens_per_s", row.generation_tokens_per_second},
                        {"decode_bytes_per_token", row.decode_bytes_per_token},
                        {"decode_bytes_per_s", row.decode_bytes_per_second},
                        {"decode_side_read_bytes_per_s", row.side_read_bytes_per_second},
                        {"decode_roof_share", row.decode_roof_share},
                        {"decode_roof_pairs", row.roof_pairs.size()},
                        {"decode_probe_share", r.roof.read_bytes_per_second > 0 ? row.decode_bytes_per_second / r.roof.read_bytes_per_second : 0},
                        {"prefill_flops", row.prefill_flops},
                        {"prefill_flops_per_s", row.prefill_flops_per_second},
                        {"prefill_peak_share", r.roof.peak_flops > 0 ? row.prefill_flops_per_second / r.roof.peak_flops : 0},
                        {"prefill_matrix_peak_share", r.roof.matrix_peak_flops > 0 ? row.prefill_flops_per_second / r.roof.matrix_peak_flops : 0},
                        {"prefill_peak_pairs", row.peak_pairs.size()},
                        {"prefill_side_peak_flops_per_s", row.side_peak_flops_per_second},
                        {"prefill_pair_peak_share", row.prefill_pair_peak_share},
                        {"capture_s", row.capture_seconds}});
    }
    for (const auto& row : r.throughput)
        rows.push_back({{"mode", mode_name(row.mode)},
                        {"input_len", row.input_len},
                        {"output_len", row.output_len},
                        {"num_prompts", row.num_prompts},
                        {"max_running", row.max_running},
                        {"elapsed_s", row.seconds},
                        {"requests_per_s", row.requests_per_second()},
                        {"total_tokens_per_s", row.total_tokens_per_second()},
                        {"output_tokens_per_s", row.output_tokens_per_second()},
                        {"prompt_tokens", row.prompt_tokens},
                        {"output_tokens", row.output_tokens}});
    j["rows"] = rows;
    if (r.command == "latency") {
        ordered_json comparisons = ordered_json::array();
        for (const auto& c : r.comparisons)
            comparisons.push_back({{"mode", mode_name(c.mode)},
                                   {"baseline", mode_name(c.baseline)},
                                   {"input_len", c.input_len},
                                   {"output_len", c.output_len},
                                   {"latency_speedup", speedup_json(c.latency)},
                                   {"ttft_speedup", speedup_json(c.ttft)},
                                   {"generation_speedup", speedup_json(c.generation)},
                                   {"decode_roof_share_ratio", speedup_json(c.decode_roof_share)},
                                   {"prefill_peak_share_ratio", speedup_json(c.prefill_peak_share)}});
        j["comparisons"] = comparisons;
    }
    if (!r.profiles.empty()) {
        ordered_json profiles = ordered_json::array();
        for (const auto& p : r.profiles) {
            const double steps = static_cast<double>(p.profile.steps);
            ordered_json kernels = ordered_json::array();
            for (const auto& [kind, op] : p.profile.ops)
                kernels.push_back({{"kernel", kind},
                                   {"calls_per_step", static_cast<double>(op.calls) / steps},
                                   {"s_per_step", op.seconds / steps},
                                   {"bytes_written_per_step", op.bytes_written / steps}});
            profiles.push_back({{"mode", mode_name(p.mode)},
                                {"input_len", p.input_len},
                                {"output_len", p.output_len},
                                {"phase", p.phase},
                                {"steps", p.profile.steps},
                                {"wall_s_per_step", p.wall_seconds()},
                                {"outside_kernels_s_per_step", p.outside_kernels_seconds()},
                                {"thread_busy_share", p.thread_busy_shares()},
                                {"kernels", kernels}});
        }
        j["profile"] = profiles;
    }
    return j;
}

}  // namespace ascent::bench
