#include "bench/runner.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "bench/roofline.h"
#include "engine/batch_generate.h"
#include "engine/steady_ns.h"
#include "engine/error.h"
#include "engine/process_memory.h"

namespace ascent::bench {

bool prefill_on_matrix_unit(const Report& r) {
    return r.roof.prefill_on_matrix_unit && r.dtypes.find("BF16") != std::string::npos;
}

namespace {

class Progress {
public:
    Progress(bool enabled, int total, std::string label)
        : on_(enabled && isatty(STDERR_FILENO) == 1), total_(total), label_(std::move(label)) {
        draw();
    }
    void step() {
        ++done_;
        draw();
    }
    ~Progress() {
        if (on_) std::fputs("\r\033[K", stderr);
    }

private:
    void draw() {
        if (!on_) return;
        const int width = 30;
        const int filled = total_ ? done_ * width / total_ : width;
        std::string bar(static_cast<size_t>(filled), '#');
        bar.resize(width, '.');
        std::fprintf(stderr, "\r%s [%s] %d/%d", label_.c_str(), bar.c_str(), done_, total_);
        std::fflush(stderr);
    }
    bool on_;
    int total_, done_ = 0;
    std::string label_;
};

std::vector<int32_t> random_prompt(int64_t n, int64_t vocab, std::mt19937_64& rng) {
    std::uniform_int_distribution<int32_t> d(0, static_cast<int32_t>(vocab - 1));
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = d(rng);
    return t;
}

void stop_if_cancelled(const BenchConfig& c) {
    if (c.cancel && c.cancel->load()) throw Interrupted();
}

// Greedy requests for `prompts`, run together on the session's sequences (generate_batch).
BatchResult run_requests(Session& s, const models::LoadedModel& m, const std::vector<std::vector<int32_t>>& prompts,
                         int64_t output_len, const BenchConfig& c, const std::function<void(size_t)>& on_done = nullptr) {
    std::vector<BatchRequest> reqs(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
        reqs[i].prompt = prompts[i];
        reqs[i].max_tokens = static_cast<int>(output_len);
        reqs[i].eos_ids = m.eos_ids();
        reqs[i].ignore_eos = c.ignore_eos;
    }
    SamplingParams greedy;
    greedy.temperature = 0;
    BatchResult r = generate_batch(s, greedy, reqs, c.cancel, on_done);
    stop_if_cancelled(c);
    return r;
}

std::vector<std::vector<int32_t>> random_prompts(int n, int64_t len, const models::LoadedModel& m, std::mt19937_64& rng) {
    std::vector<std::vector<int32_t>> out;
    for (int i = 0; i < n; ++i)
        out.push_back(random_prompt(len, std::min<int64_t>(m.model->vocab_size(), m.tokenizer->vocab_size()), rng));
    return out;
}

// The session's options for a bench: one sequence per request that can run at once.
SessionOptions session_for(const BenchConfig& c, int sequences) {
    SessionOptions o = c.session;
    o.sequences = sequences;
    return o;
}

void check(const models::LoadedModel& m, const BenchConfig& c) {
    if (c.batch_size < 1 || c.batch_size > kMaxBatch)
        input_error("--batch-size {}: expected 1 to {}", c.batch_size, kMaxBatch);
    for (auto in : c.input_lens)
        if (in < 1) input_error("--input-len {}: a prompt needs at least 1 token", in);
    for (auto out : c.output_lens)
        if (out < 1) input_error("--output-len {}: a request generates at least 1 token", out);
    for (auto in : c.input_lens)
        for (auto out : c.output_lens)
            if (in + out > c.session.context)
                input_error("--input-len {} + --output-len {} do not fit the {}-token context (raise --ctx)", in, out,
                            c.session.context);
    if (c.num_iters < 1) input_error("--num-iters must be at least 1");
    (void)m;
}

Report base_report(models::LoadedModel& m, const BenchConfig& c, const char* command) {
    Report r;
    r.command = command;
    r.model = m.folder.string();
    r.architecture = m.config.architecture;
    r.dtypes = m.weight_dtypes();
    r.backend = m.backend->describe();
    r.threads = m.backend->threads();
    r.config = c;
    r.weight_bytes = m.weight_bytes();
    r.load_seconds = m.load_seconds;
    r.roof = m.backend->probe_roofline();
    reset_peak_rss();  // the probe's scratch buffer is gone: count only what the model uses
    return r;
}

// The machine is probed again after the run and the better reading kept: a probe that happened
// to run while something else loaded the machine would flatter every share.
void rerun_probe(models::LoadedModel& m, Report& r) {
    const RooflineProbe again = m.backend->probe_roofline();
    r.roof.read_bytes_per_second = std::max(r.roof.read_bytes_per_second, again.read_bytes_per_second);
    r.roof.read_bytes_per_second_one_thread =
        std::max(r.roof.read_bytes_per_second_one_thread, again.read_bytes_per_second_one_thread);
    r.roof.peak_flops = std::max(r.roof.peak_flops, again.peak_flops);
    r.roof.matrix_peak_flops = std::max(r.roof.matrix_peak_flops, again.matrix_peak_flops);
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(pos));
    const auto hi = std::min(v.size() - 1, lo + 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

namespace {

// Each pair's figure as a share of its own probe (0 where the probe read nothing).
template <class Pair>
std::vector<double> pair_shares(const std::vector<Pair>& pairs, double Pair::*figure, double Pair::*probe) {
    std::vector<double> out;
    for (const Pair& p : pairs) out.push_back(p.*probe > 0 ? p.*figure / p.*probe : 0);
    return out;
}
std::vector<double> roof_shares(const LatencyRow& r) {
    return pair_shares(r.roof_pairs, &LatencyRow::RoofPair::step_bytes_per_second,
                       &LatencyRow::RoofPair::read_bytes_per_second);
}
std::vector<double> peak_shares(const LatencyRow& r) {
    return pair_shares(r.peak_pairs, &LatencyRow::PeakPair::prefill_flops_per_second,
                       &LatencyRow::PeakPair::peak_flops_per_second);
}

// Over a row's pairs (a figure measured, then the probe of its roof): the median probe, and the
// median of `shares`, the figure's share in its own probe pair by pair. Medians: a pair during
// which the machine changed state is an outlier either way. Both stay 0 without pairs.
template <class Pair>
void pair_medians(const std::vector<Pair>& pairs, double Pair::*probe, const std::vector<double>& shares,
                  double& median_probe, double& median_share) {
    if (pairs.empty()) return;
    std::vector<double> probes;
    for (const Pair& p : pairs) probes.push_back(p.*probe);
    median_probe = percentile(probes, 50);
    median_share = percentile(shares, 50);
}

void finish_row(LatencyRow& row, int num_iters, int batch, const StepCost& cost, const Model& model, size_t kv_elem) {
    const double n = static_cast<double>(num_iters), b = static_cast<double>(batch);
    row.prefill_seconds /= n;
    row.ttft_seconds = std::accumulate(row.ttfts.begin(), row.ttfts.end(), 0.0) / n;
    row.decode_seconds /= n;
    row.avg = std::accumulate(row.latencies.begin(), row.latencies.end(), 0.0) / n;
    double var = 0;
    for (double l : row.latencies) var += (l - row.avg) * (l - row.avg);
    row.stddev = std::sqrt(var / n);
    for (int p : {10, 25, 50, 75, 90, 99}) row.percentiles.emplace_back(p, percentile(row.latencies, p));
    const double gen_per_request = static_cast<double>(row.generated) / n / b;
    row.prompt_tokens_per_second = b * static_cast<double>(row.input_len) / row.prefill_seconds;
    row.generation_tokens_per_second =
        row.decode_seconds > 0 ? static_cast<double>(row.decode_tokens) / n / row.decode_seconds : 0;
    // Decode steps run at contexts in+1 .. in+out-1: their mean KV read is at the middle. A step
    // of a batch reads the weights once for all its tokens, and each sequence's own KV.
    const double mean_ctx = static_cast<double>(row.input_len) + gen_per_request / 2.0;
    row.decode_bytes_per_token = cost.weight_bytes / b + kv_bytes_read(model, static_cast<int64_t>(mean_ctx), kv_elem);
    row.decode_bytes_per_second = row.decode_bytes_per_token * row.generation_tokens_per_second;
    pair_medians(row.roof_pairs, &LatencyRow::RoofPair::read_bytes_per_second, roof_shares(row),
                 row.side_read_bytes_per_second, row.decode_roof_share);
    row.prefill_flops = prefill_flops(cost, row.input_len);
    row.prefill_flops_per_second = b * row.prefill_flops / row.prefill_seconds;
    pair_medians(row.peak_pairs, &LatencyRow::PeakPair::peak_flops_per_second, peak_shares(row),
                 row.side_peak_flops_per_second, row.prefill_pair_peak_share);
}

// One more request outside the timed iterations, fed step by step so that prefill and decode are
// recorded apart. Greedy, like the timed requests.
void profile_request(Session& s, ProfilingBackend& prof, const std::vector<int32_t>& prompt, int64_t output_len,
                     ExecMode mode, const BenchConfig& c, std::vector<PhaseProfile>& out) {
    using Clock = std::chrono::steady_clock;
    auto greedy = [&] { return static_cast<int32_t>(argmax(s.logits())); };
    PhaseProfile prefill, decode;
    for (PhaseProfile* p : {&prefill, &decode}) {
        p->mode = mode;
        p->input_len = static_cast<int64_t>(prompt.size());
        p->output_len = output_len;
    }
    prefill.phase = "prefill";
    decode.phase = "decode";
    s.set_mode(mode);
    s.rewind(0);
    auto timed_feed = [&](std::span<const int32_t> tokens, PhaseProfile& into, bool trace) {
        prof.start(&into.profile, trace);
        const auto t0 = Clock::now();
        s.feed(tokens);
        const auto t1 = Clock::now();
        into.profile.wall_seconds += std::chrono::duration<double>(t1 - t0).count();
        ++into.profile.steps;
        prof.stop();
        if (trace) into.traced_steps.emplace_back(steady_ns(t0), steady_ns(t1));
    };
    timed_feed(prompt, prefill, c.trace);
    for (int64_t i = 1; i < output_len; ++i) {
        stop_if_cancelled(c);
        const int32_t token = greedy();
        timed_feed(std::span<const int32_t>(&token, 1), decode, c.trace && i <= kTraceDecodeSteps);
    }
    out.push_back(std::move(prefill));
    if (decode.profile.steps > 0) out.push_back(std::move(decode));
}

// Decode steps after the cell's prompt, each followed by one read of the weights (LatencyRow),
// for the cell's modes in turn: pair i of every mode runs at the same positions, seconds apart, so
// on a machine whose bandwidth swings the modes' roof shares compare like their timed iterations
// (pairs measured mode after mode once put a state change between eager's and graph's). The
// session's sequences still hold the prompts of the last timed iteration, so no prefill is needed.
// Each step decodes every sequence, as the timed iterations did.
void measure_roof_pairs(Session& s, Backend& backend, const Model& model, const StepCost& cost, size_t kv_elem,
                        int64_t prompt_len, const BenchConfig& c, std::vector<LatencyRow>& rows) {
    using Clock = std::chrono::steady_clock;
    std::vector<int32_t> seqs, tokens;
    for (int q = 0; q < s.sequences(); ++q) seqs.push_back(q);
    const auto vocab = static_cast<size_t>(model.vocab_size());
    const auto step = [&] {
        // Greedy on whatever logits are there: the token does not change the step's cost.
        const auto& logits = s.logits();
        tokens.clear();
        for (size_t q = 0; q < seqs.size(); ++q)
            tokens.push_back(static_cast<int32_t>(argmax(std::span<const float>(
                logits.data() + (logits.size() >= (q + 1) * vocab ? q * vocab : 0), vocab))));
        s.decode(seqs, tokens);
    };
    // A mode switch releases the other mode's working memory, so the first step after one
    // allocates and faults it in: with several modes, an untimed step precedes each timed one.
    const bool switching = rows.size() > 1;
    const int64_t steps_per_pair = switching ? 2 : 1;
    const auto pairs = std::min<int64_t>(c.roof_pairs, (s.capacity() - prompt_len) / steps_per_pair);
    for (int64_t i = 0; i < pairs; ++i)
        for (LatencyRow& row : rows) {
            stop_if_cancelled(c);
            s.set_mode(row.mode);
            for (int q = 0; q < s.sequences(); ++q) s.rewind(prompt_len + i * steps_per_pair, q);
            if (switching) step();
            const auto t0 = Clock::now();
            step();
            const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
            // Each sequence attended to every cached position, its own included.
            double bytes = cost.weight_bytes;
            for (int32_t q : seqs) bytes += kv_bytes_read(model, s.n_past(q), kv_elem);
            const double read = backend.probe_weight_read_bandwidth();
            if (seconds > 0) row.roof_pairs.push_back({bytes / seconds, read});
        }
}

// The cell's prompts prefilled once more per pair and mode, each followed by a probe of the
// prefill unit's peak; modes take turns pair by pair, as in measure_roof_pairs.
void measure_peak_pairs(Session& s, Backend& backend, const StepCost& cost, bool matrix_unit,
                        const std::vector<std::vector<int32_t>>& prompts, const BenchConfig& c,
                        std::vector<LatencyRow>& rows) {
    using Clock = std::chrono::steady_clock;
    std::vector<int32_t> seqs;
    std::vector<std::span<const int32_t>> spans;
    for (size_t q = 0; q < prompts.size(); ++q) {
        seqs.push_back(static_cast<int32_t>(q));
        spans.emplace_back(prompts[q]);
    }
    const double flops = static_cast<double>(prompts.size()) * prefill_flops(cost, static_cast<int64_t>(prompts[0].size()));
    for (int i = 0; i < c.peak_pairs; ++i)
        for (LatencyRow& row : rows) {
            stop_if_cancelled(c);
            s.set_mode(row.mode);
            for (int32_t q : seqs) s.rewind(0, q);
            const auto t0 = Clock::now();
            if (!s.prefill(seqs, spans, c.cancel)) throw Interrupted();
            const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
            const double peak = backend.probe_peak_flops(matrix_unit);
            if (seconds > 0) row.peak_pairs.push_back({flops / seconds, peak});
        }
}

// Ratios of the pairs (base[i], mode[i]) that both measured: base / mode for times, mode / base
// for rates and shares.
Speedup speedup(const std::vector<double>& base, const std::vector<double>& mode, bool times) {
    std::vector<double> ratios;
    for (size_t i = 0; i < std::min(base.size(), mode.size()); ++i)
        if (base[i] > 0 && mode[i] > 0) ratios.push_back(times ? base[i] / mode[i] : mode[i] / base[i]);
    Speedup out;
    if (ratios.empty()) return out;
    out.pairs = static_cast<int>(ratios.size());
    out.wins = static_cast<int>(std::count_if(ratios.begin(), ratios.end(), [](double x) { return x > 1; }));
    out.median = percentile(ratios, 50);
    const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
    out.lo = *lo;
    out.hi = *hi;
    return out;
}

// Every mode of a cell after the first against the first.
void compare_modes(const std::vector<LatencyRow>& rows, std::vector<ModeComparison>& out) {
    const LatencyRow& base = rows[0];
    for (size_t k = 1; k < rows.size(); ++k) {
        const LatencyRow& row = rows[k];
        ModeComparison c;
        c.mode = row.mode;
        c.baseline = base.mode;
        c.input_len = row.input_len;
        c.output_len = row.output_len;
        c.latency = speedup(base.latencies, row.latencies, true);
        c.ttft = speedup(base.ttfts, row.ttfts, true);
        c.generation = speedup(base.generation_rates, row.generation_rates, false);
        c.decode_roof_share = speedup(roof_shares(base), roof_shares(row), false);
        c.prefill_peak_share = speedup(peak_shares(base), peak_shares(row), false);
        out.push_back(c);
    }
}

double total_capture_seconds(const Session& s) {
    double t = 0;
    for (const auto& g : s.graphs()) t += g.capture_seconds;
    return t;
}

}  // namespace

Report run_latency(models::LoadedModel& m, const BenchConfig& c) {
    check(m, c);
    Report r = base_report(m, c, "latency");
    const StepCost cost = step_cost(*m.model);
    const size_t kv_elem = dtype_size(c.session.kv_dtype);
    // Forwards every call; it times kernels only while a profiled request runs.
    ProfilingBackend prof(*m.backend);
    Session s(prof, *m.model, session_for(c, c.batch_size));
    std::mt19937_64 rng(c.seed);
    const int per_row = c.num_iters + c.num_iters_warmup;
    int pair_cells = 0;  // pair measurements (decode roof, prefill peak): one step of the bar each per cell
    for (int64_t out : c.output_lens) pair_cells += (c.roof_pairs > 0 && out > 1 ? 1 : 0) + (c.peak_pairs > 0 ? 1 : 0);
    Progress bar(c.progress,
                 (per_row * static_cast<int>(c.output_lens.size() * c.modes.size()) + pair_cells) *
                     static_cast<int>(c.input_lens.size()),
                 "bench latency");
    for (int64_t in : c.input_lens)
        for (int64_t out : c.output_lens) {
            const auto prompts = random_prompts(c.batch_size, in, m, rng);
            std::vector<LatencyRow> rows(c.modes.size());
            // Modes take turns iteration by iteration, so a shared, noisy machine slows them alike
            // and their ratio means something.
            for (int it = 0; it < per_row; ++it)
                for (size_t k = 0; k < c.modes.size(); ++k) {
                    LatencyRow& row = rows[k];
                    row.mode = c.modes[k];
                    row.input_len = in;
                    row.output_len = out;
                    s.set_mode(c.modes[k]);
                    const double capture_before = total_capture_seconds(s);
                    const BatchStats st = run_requests(s, m, prompts, out, c).stats;
                    row.capture_seconds += total_capture_seconds(s) - capture_before;
                    bar.step();
                    if (it < c.num_iters_warmup) continue;
                    row.latencies.push_back(st.total_seconds);
                    row.ttfts.push_back(st.mean_ttft_seconds);
                    row.generation_rates.push_back(st.decode_tokens_per_second());
                    row.prefill_seconds += st.prefill_seconds;
                    row.decode_seconds += st.decode_seconds;
                    row.generated += st.generated_tokens;
                    row.decode_tokens += st.decode_tokens;
                }
            if (c.roof_pairs > 0 && out > 1) {
                measure_roof_pairs(s, *m.backend, *m.model, cost, kv_elem, in, c, rows);
                bar.step();
            }
            if (c.peak_pairs > 0) {
                measure_peak_pairs(s, *m.backend, cost, prefill_on_matrix_unit(r), prompts, c, rows);
                bar.step();
            }
            compare_modes(rows, r.comparisons);
            for (auto& row : rows) {
                finish_row(row, c.num_iters, c.batch_size, cost, *m.model, kv_elem);
                r.latency.push_back(std::move(row));
            }
            if (c.profile)
                for (ExecMode mode : c.modes) profile_request(s, prof, prompts[0], out, mode, c, r.profiles);
        }
    // Rows grouped by mode, as the table reads best.
    std::stable_sort(r.latency.begin(), r.latency.end(),
                     [](const LatencyRow& a, const LatencyRow& b) { return a.mode < b.mode; });
    r.kv_cache_bytes = s.cache().bytes();
    r.arena_bytes = s.arena_bytes();
    r.graphs = s.graphs();
    r.peak_rss_bytes = process_peak_rss_bytes();
    rerun_probe(m, r);
    return r;
}

Report run_throughput(models::LoadedModel& m, const BenchConfig& c) {
    check(m, c);
    Report r = base_report(m, c, "throughput");
    Session s(*m.backend, *m.model, session_for(c, std::min(c.batch_size, c.num_prompts)));
    std::mt19937_64 rng(c.seed);
    Progress bar(c.progress, c.num_prompts * static_cast<int>(c.modes.size() * c.input_lens.size() * c.output_lens.size()),
                 "bench throughput");
    // The modes of a row run one right after the other on the same prompts, so a shared, noisy
    // machine slows them alike and their ratio means something.
    for (int64_t in : c.input_lens)
        for (int64_t out : c.output_lens) {
            const auto prompts = random_prompts(c.num_prompts, in, m, rng);
            for (ExecMode mode : c.modes) {
                s.set_mode(mode);
                ThroughputRow row;
                row.mode = mode;
                row.input_len = in;
                row.output_len = out;
                row.num_prompts = c.num_prompts;
                // A warm-up outside the timed region (graph capture of the batch's buckets, page
                // faults): a few tokens of as many requests as will run at once.
                const std::vector<std::vector<int32_t>> warm(prompts.begin(),
                                                             prompts.begin() + std::min(c.batch_size, c.num_prompts));
                run_requests(s, m, warm, std::min<int64_t>(out, 4), c);
                const BatchResult res = run_requests(s, m, prompts, out, c, [&](size_t) { bar.step(); });
                row.seconds = res.stats.total_seconds;
                row.prompt_tokens = res.stats.prompt_tokens;
                row.output_tokens = res.stats.generated_tokens;
                row.max_running = res.stats.max_running;
                r.throughput.push_back(row);
            }
        }
    std::stable_sort(r.throughput.begin(), r.throughput.end(),
                     [](const ThroughputRow& a, const ThroughputRow& b) { return a.mode < b.mode; });
    r.kv_cache_bytes = s.cache().bytes();
    r.arena_bytes = s.arena_bytes();
    r.graphs = s.graphs();
    r.peak_rss_bytes = process_peak_rss_bytes();
    rerun_probe(m, r);
    return r;
}

}  // namespace ascent::bench
