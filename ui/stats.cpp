#include "ui/stats.h"

#include <algorithm>
#include <cmath>

namespace ascent::ui {

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const double pos = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, values.size() - 1);
    const double frac = pos - static_cast<double>(lo);
    return values[lo] + (values[hi] - values[lo]) * frac;
}

std::string sparkline(const std::vector<double>& values, int width) {
    static const char* const kLevels[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    if (width <= 0) return {};
    const size_t shown = std::min(values.size(), static_cast<size_t>(width));
    const auto first = values.end() - static_cast<std::ptrdiff_t>(shown);
    double top = 0;
    for (auto it = first; it != values.end(); ++it) top = std::max(top, *it);
    std::string out(static_cast<size_t>(width) - shown, ' ');
    for (auto it = first; it != values.end(); ++it) {
        if (*it <= 0 || top <= 0) {
            out += ' ';
            continue;
        }
        const int level = std::clamp(static_cast<int>(std::ceil(*it / top * 8.0)), 1, 8);
        out += kLevels[level - 1];
    }
    return out;
}

std::string fill_bar(double fraction, int width) {
    if (width <= 0) return {};
    const int filled = std::clamp(static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * width)), 0, width);
    std::string out;
    for (int i = 0; i < width; ++i) out += i < filled ? "█" : "░";
    return out;
}

void LiveStats::begin_turn(double now) {
    active_ = true;
    turn_start_ = now;
    prefill_done_ = prefill_total_ = 0;
    prefill_last_at_ = now;
    tokens_.clear();
    sampled_this_turn_ = false;
}

void LiveStats::prefill_progress(int64_t done, int64_t total, double now) {
    prefill_done_ = done;
    prefill_total_ = total;
    prefill_last_at_ = now;
}

void LiveStats::token(double now) { tokens_.push_back(now); }

std::vector<double> LiveStats::intervals() const {
    std::vector<double> out;
    for (size_t i = 1; i < tokens_.size(); ++i) out.push_back(tokens_[i] - tokens_[i - 1]);
    return out;
}

void LiveStats::end_turn(const TurnTotals& t, double) {
    TurnRecord r;
    r.number = ++turn_counter_;
    r.prompt_tokens = t.prompt_tokens;
    r.reused_tokens = t.reused_tokens;
    r.generated_tokens = t.generated_tokens;
    r.ttft_seconds = t.ttft_seconds;
    const auto fed = t.prompt_tokens - t.reused_tokens;
    r.prefill_tokens_per_second = t.prefill_seconds > 0 ? static_cast<double>(fed) / t.prefill_seconds : 0;
    r.decode_tokens_per_second =
        t.decode_seconds > 0 && t.generated_tokens > 1 ? static_cast<double>(t.generated_tokens - 1) / t.decode_seconds : 0;
    const auto iv = intervals();
    r.tpot_p50_seconds = percentile(iv, 50);
    r.tpot_p90_seconds = percentile(iv, 90);
    r.mode = t.mode;
    r.finish_reason = t.finish_reason;
    turns_.push_back(r);
    total_in_ += fed;
    total_out_ += t.generated_tokens;
    // A turn shorter than one sample interval still leaves its mark on the sparkline.
    if (!sampled_this_turn_ && r.decode_tokens_per_second > 0) samples_.push_back(r.decode_tokens_per_second);
    if (samples_.size() > kMaxSamples) samples_.erase(samples_.begin(), samples_.end() - kMaxSamples);
    active_ = false;
}

void LiveStats::tick(double now) {
    if (!active_ || tokens_.size() < 2 || now - last_sample_at_ < kSampleInterval) return;
    samples_.push_back(decode_rate(now));
    if (samples_.size() > kMaxSamples) samples_.erase(samples_.begin());
    last_sample_at_ = now;
    sampled_this_turn_ = true;
}

void LiveStats::clear_history() {
    turns_.clear();
    samples_.clear();
    total_in_ = total_out_ = 0;
    turn_counter_ = 0;
    if (!active_) tokens_.clear();
}

double LiveStats::decode_rate(double now) const {
    if (!active_) return turns_.empty() ? 0 : turns_.back().decode_tokens_per_second;
    if (tokens_.size() < 2) return 0;
    if (now - tokens_.front() < kRateWindow) {
        const double span = tokens_.back() - tokens_.front();
        return span > 0 ? static_cast<double>(tokens_.size() - 1) / span : 0;
    }
    const double from = now - kRateWindow;
    const auto first = std::upper_bound(tokens_.begin(), tokens_.end(), from);
    return static_cast<double>(tokens_.end() - first) / kRateWindow;
}

double LiveStats::prefill_rate(double) const {
    if (active_ && prefill_total_ > 0) {
        const double span = prefill_last_at_ - turn_start_;
        return span > 0 ? static_cast<double>(prefill_done_) / span : 0;
    }
    return turns_.empty() ? 0 : turns_.back().prefill_tokens_per_second;
}

std::optional<double> LiveStats::ttft_last() const {
    for (auto it = turns_.rbegin(); it != turns_.rend(); ++it)
        if (it->generated_tokens > 0) return it->ttft_seconds;
    return std::nullopt;
}

std::optional<double> LiveStats::ttft_current() const {
    if (active_ && !tokens_.empty()) return tokens_.front() - turn_start_;
    return ttft_last();
}

std::optional<double> LiveStats::ttft_mean() const {
    double sum = 0;
    int n = 0;
    for (const auto& t : turns_)
        if (t.generated_tokens > 0) {
            sum += t.ttft_seconds;
            ++n;
        }
    if (n == 0) return std::nullopt;
    return sum / n;
}

double LiveStats::tpot_p50() const { return percentile(intervals(), 50); }
double LiveStats::tpot_p90() const { return percentile(intervals(), 90); }

}  // namespace ascent::ui
