#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ascent {

Sampler::Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) {}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> recent) {
    std::span<const float> l = logits;
    if (p_.repeat_penalty != 1.f && p_.repeat_last_n != 0) {
        penalized_.assign(logits.begin(), logits.end());
        const size_t n = p_.repeat_last_n < 0 ? recent.size()
                                              : std::min(recent.size(), static_cast<size_t>(p_.repeat_last_n));
        // Each distinct recent token is penalized once, however often it occurred (as HF does).
        window_.assign(recent.end() - static_cast<std::ptrdiff_t>(n), recent.end());
        std::sort(window_.begin(), window_.end());
        window_.erase(std::unique(window_.begin(), window_.end()), window_.end());
        for (int32_t t : window_) {
            if (t < 0 || static_cast<size_t>(t) >= penalized_.size()) continue;
            float& v = penalized_[static_cast<size_t>(t)];
            v = v > 0 ? v / p_.repeat_penalty : v * p_.repeat_penalty;
        }
        l = penalized_;
    }
    if (p_.temperature <= 0.f)
        return static_cast<int32_t>(argmax(l));

    cand_.resize(l.size());
    for (size_t i = 0; i < l.size(); ++i) cand_[i] = {static_cast<int32_t>(i), l[i]};
    auto by_value = [](const Candidate& a, const Candidate& b) { return a.value > b.value; };
    if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < cand_.size()) {
        std::partial_sort(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), by_value);
        cand_.resize(static_cast<size_t>(p_.top_k));
    } else {
        std::sort(cand_.begin(), cand_.end(), by_value);
    }
    // Softmax at the temperature; cand_ is sorted, so the first is the maximum.
    const float mx = cand_[0].value;
    double sum = 0;
    for (auto& c : cand_) {
        c.value = std::exp((c.value - mx) / p_.temperature);
        sum += c.value;
    }
    for (auto& c : cand_) c.value = static_cast<float>(c.value / sum);
    if (p_.top_p < 1.f) {
        double cum = 0;
        size_t keep = cand_.size();
        for (size_t i = 0; i < cand_.size(); ++i) {
            cum += cand_[i].value;
            if (cum >= p_.top_p) {
                keep = i + 1;
                break;
            }
        }
        cand_.resize(keep);
    }
    if (p_.min_p > 0.f) {
        const float floor = p_.min_p * cand_[0].value;
        size_t keep = 1;
        while (keep < cand_.size() && cand_[keep].value >= floor) ++keep;
        cand_.resize(keep);
    }
    double total = 0;
    for (const auto& c : cand_) total += c.value;
    std::uniform_real_distribution<double> uni(0.0, total);
    double r = uni(rng_);
    for (const auto& c : cand_) {
        r -= c.value;
        if (r <= 0) return c.id;
    }
    return cand_.back().id;
}

size_t argmax(std::span<const float> v) {
    // The maxima of chunks in a branch-free loop the compiler vectorizes, then the first index of
    // the largest in the first chunk holding it.
    constexpr size_t kChunk = 1024, kLanes = 16;
    float best = -std::numeric_limits<float>::infinity();
    size_t best_chunk = 0;
    for (size_t c0 = 0; c0 < v.size(); c0 += kChunk) {
        const size_t c1 = std::min(v.size(), c0 + kChunk);
        float lane[kLanes];
        std::fill(lane, lane + kLanes, -std::numeric_limits<float>::infinity());
        size_t i = c0;
        for (; i + kLanes <= c1; i += kLanes)
            for (size_t j = 0; j < kLanes; ++j) lane[j] = v[i + j] > lane[j] ? v[i + j] : lane[j];
        float m = -std::numeric_limits<float>::infinity();
        for (size_t j = 0; j < kLanes; ++j) m = lane[j] > m ? lane[j] : m;
        for (; i < c1; ++i) m = v[i] > m ? v[i] : m;
        if (m > best) {
            best = m;
            best_chunk = c0;
        }
    }
    for (size_t i = best_chunk; i < std::min(v.size(), best_chunk + kChunk); ++i)
        if (v[i] == best) return i;
    return 0;  // empty, or nothing above -inf: as std::max_element, the first element
}

void log_softmax(std::span<const float> logits, std::vector<float>& out) {
    const float mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float v : logits) sum += std::exp(static_cast<double>(v - mx));
    const float lse = mx + static_cast<float>(std::log(sum));
    out.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - lse;
}

}  // namespace ascent
