#pragma once
// Live generation statistics, aggregated on the UI thread from the engine's events: the rates
// and latencies the stats pane shows while tokens stream, and the per-turn history that lets a
// demo compare eager and graph turns side by side. Times are seconds on one steady clock, passed
// in by the caller, so the arithmetic is testable without sleeping.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ascent::ui {

// The one clock of the UI and of the engine events it aggregates.
inline double monotonic_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Linear interpolation between closest ranks (numpy's default); p in [0, 100]. 0 when empty.
double percentile(std::vector<double> values, double p);

// A bar of block characters (▁..█), one per value, right-aligned in `width` columns: the newest
// values when there are more than fit. Scaled from 0 to the largest value shown, so bars of
// different turns compare by height; 0 draws a space.
std::string sparkline(const std::vector<double>& values, int width);

// [████░░░░] of `width` columns for fraction in [0, 1].
std::string fill_bar(double fraction, int width);

// One finished turn, as the history table shows it.
struct TurnRecord {
    int number = 0;
    int64_t prompt_tokens = 0;      // the whole prompt
    int64_t reused_tokens = 0;      // of those, already in the KV cache
    int64_t generated_tokens = 0;
    double ttft_seconds = 0;
    double prefill_tokens_per_second = 0;
    double decode_tokens_per_second = 0;
    double tpot_p50_seconds = 0;
    double tpot_p90_seconds = 0;
    std::string mode;               // "eager", "graph", or "eager→graph" when switched mid-answer
    std::string finish_reason;
};

// What the engine reported at the end of a turn (its own clock, more precise than event times).
struct TurnTotals {
    int64_t prompt_tokens = 0;
    int64_t reused_tokens = 0;
    int64_t generated_tokens = 0;
    double ttft_seconds = 0;
    double prefill_seconds = 0;
    double decode_seconds = 0;
    std::string mode;
    std::string finish_reason;
};

class LiveStats {
public:
    static constexpr double kRateWindow = 1.0;       // seconds of tokens behind "tok/s now"
    static constexpr double kSampleInterval = 0.25;  // sparkline resolution
    static constexpr size_t kMaxSamples = 240;

    void begin_turn(double now);
    void prefill_progress(int64_t done, int64_t total, double now);
    void token(double now);
    void end_turn(const TurnTotals& totals, double now);
    // Called on every UI tick: adds a sparkline sample while decoding, at most every kSampleInterval.
    void tick(double now);
    void clear_history();  // a new conversation: turns and samples go

    bool generating() const { return active_; }
    bool prefilling() const { return active_ && tokens_.empty(); }
    int64_t prefill_done() const { return prefill_done_; }
    int64_t prefill_total() const { return prefill_total_; }
    // Tokens per second over the last kRateWindow while decoding; the last turn's mean when idle.
    double decode_rate(double now) const;
    // The running turn's once its prompt is (partly) fed, else the last turn's.
    double prefill_rate(double now) const;
    std::optional<double> ttft_last() const;
    // The running turn's, once its first token came; else ttft_last().
    std::optional<double> ttft_current() const;
    std::optional<double> ttft_mean() const;
    // Time per output token (between consecutive tokens) of the running or last turn.
    double tpot_p50() const;
    double tpot_p90() const;
    int64_t tokens_out_live() const { return static_cast<int64_t>(tokens_.size()); }
    int64_t total_tokens_in() const { return total_in_; }
    int64_t total_tokens_out() const { return total_out_; }
    const std::vector<double>& samples() const { return samples_; }
    const std::vector<TurnRecord>& turns() const { return turns_; }

private:
    std::vector<double> intervals() const;

    bool active_ = false;
    double turn_start_ = 0;
    int64_t prefill_done_ = 0, prefill_total_ = 0;
    double prefill_last_at_ = 0;
    std::vector<double> tokens_;  // arrival time of each token of the current (or last) turn
    double last_sample_at_ = -1;
    bool sampled_this_turn_ = false;
    std::vector<double> samples_;
    std::vector<TurnRecord> turns_;
    int64_t total_in_ = 0, total_out_ = 0;
    int turn_counter_ = 0;
};

}  // namespace ascent::ui
