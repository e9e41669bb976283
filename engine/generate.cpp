#include "engine/generate.h"

#include <algorithm>
#include <chrono>

#include "engine/error.h"

namespace ascent {

using Clock = std::chrono::steady_clock;

double GenerationStats::prefill_tokens_per_second() const {
    const auto fed = prompt_tokens - reused_tokens;
    return prefill_seconds > 0 ? static_cast<double>(fed) / prefill_seconds : 0;
}
double GenerationStats::decode_tokens_per_second() const {
    return decode_seconds > 0 ? static_cast<double>(generated_tokens - 1) / decode_seconds : 0;
}
double GenerationStats::mean_tpot_seconds() const {
    return generated_tokens > 1 ? decode_seconds / static_cast<double>(generated_tokens - 1) : 0;
}

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Holds back the tail of the text that could still become a stop string, and cuts the text
// where one appears.
class StopFilter {
public:
    explicit StopFilter(const std::vector<std::string>& stops) : stops_(stops) {
        for (const auto& s : stops_) longest_ = std::max(longest_, s.size());
    }
    // Appends text; returns what is now safe to show. Sets stopped() when a stop string matched.
    std::string push(std::string_view piece) {
        text_ += piece;
        if (stops_.empty()) return take(text_.size());
        const size_t from = emitted_ > longest_ ? emitted_ - longest_ : 0;
        size_t cut = std::string::npos;
        for (const auto& s : stops_) {
            if (s.empty()) continue;
            size_t at = text_.find(s, from);
            if (at != std::string::npos) cut = std::min(cut, at);
        }
        if (cut != std::string::npos) {
            stopped_ = true;
            text_.resize(cut);
            return take(cut);
        }
        size_t keep = 0;  // longest suffix that is a proper prefix of some stop string
        for (const auto& s : stops_)
            for (size_t k = std::min(s.size() - 1, text_.size() - emitted_); k > keep; --k)
                if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
                    keep = k;
                    break;
                }
        return take(text_.size() - keep);
    }
    std::string finish() { return take(text_.size()); }
    bool stopped() const { return stopped_; }
    const std::string& text() const { return text_; }

private:
    std::string take(size_t upto) {
        std::string out = text_.substr(emitted_, upto - emitted_);
        emitted_ = upto;
        return out;
    }
    const std::vector<std::string>& stops_;
    size_t longest_ = 0;
    std::string text_;
    size_t emitted_ = 0;
    bool stopped_ = false;
};

TokenLogprob logprob_entry(std::span<const float> row, int32_t id, int top_n, std::vector<float>& scratch) {
    log_softmax(row, scratch);
    TokenLogprob e;
    e.id = id;
    e.logprob = scratch[static_cast<size_t>(id)];
    if (top_n > 0) {
        std::vector<int32_t> idx(scratch.size());
        for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int32_t>(i);
        const auto n = std::min(idx.size(), static_cast<size_t>(top_n));
        std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n), idx.end(),
                          [&](int32_t a, int32_t b) { return scratch[static_cast<size_t>(a)] > scratch[static_cast<size_t>(b)]; });
        for (size_t i = 0; i < n; ++i) e.top.emplace_back(idx[i], scratch[static_cast<size_t>(idx[i])]);
    }
    return e;
}

}  // namespace

GenerationResult generate(Session& session, const Tokenizer& tokenizer, Sampler& sampler,
                          const GenerateRequest& req, const std::function<bool(std::string_view)>& on_text) {
    const auto t0 = Clock::now();
    GenerationResult res;
    auto& st = res.stats;
    std::span<const int32_t> prompt = req.prompt;
    if (req.reuse_prefix) {
        // Keep what the cache already holds of this prompt; at least the last token is fed again
        // so there are logits to sample from.
        const auto& h = session.history();
        size_t common = 0;
        while (common < h.size() && common < prompt.size() && h[common] == prompt[common]) ++common;
        if (common == prompt.size() && common > 0) --common;
        session.rewind(static_cast<int64_t>(common));
        st.reused_tokens = static_cast<int64_t>(common);
        prompt = prompt.subspan(common);
    }
    if (prompt.empty() && session.n_past() == 0)
        input_error("the prompt is empty (it encodes to no tokens)");
    const int64_t room = session.capacity() - session.n_past();
    if (static_cast<int64_t>(prompt.size()) > room)
        input_error("the prompt is {} tokens but only {} of the {}-token context are free (raise --ctx or shorten the prompt)",
                    prompt.size(), room, session.capacity());
    st.prompt_tokens = static_cast<int64_t>(req.prompt.size());
    const int vocab_rows = static_cast<int>(session.model().vocab_size());
    std::vector<float> scratch;

    if (!prompt.empty() && !session.feed(prompt, req.echo, req.cancel, req.on_prefill_progress)) {
        res.finish_reason = "cancelled";
        st.prefill_seconds = st.total_seconds = since(t0);
        return res;
    }
    st.prefill_seconds = since(t0);
    std::vector<float> last(session.logits().end() - vocab_rows, session.logits().end());
    if (req.echo) {
        const auto& all = session.logits();
        for (size_t i = 0; i < req.prompt.size(); ++i) {
            if (i == 0) {
                res.prompt_logprobs.push_back(TokenLogprob{req.prompt[0], std::nullopt, {}});
                continue;
            }
            std::span<const float> row(all.data() + (i - 1) * static_cast<size_t>(vocab_rows), static_cast<size_t>(vocab_rows));
            res.prompt_logprobs.push_back(logprob_entry(row, req.prompt[i], req.logprobs, scratch));
        }
    }

    StreamingDecoder decoder(tokenizer, session.history(), req.skip_special);
    StopFilter stop(req.stop);
    bool reader_gone = false;
    auto emit = [&](const std::string& s) {
        if (s.empty() || reader_gone || !on_text) return;
        if (!on_text(s)) reader_gone = true;
    };
    Clock::time_point first_token_at{};
    for (;;) {
        if (req.max_tokens >= 0 && st.generated_tokens >= req.max_tokens) {
            res.finish_reason = "length";
            break;
        }
        const int32_t tok = sampler.sample(last, session.history());
        if (st.generated_tokens == 0) {
            first_token_at = Clock::now();
            st.ttft_seconds = std::chrono::duration<double>(first_token_at - t0).count();
        } else {
            st.token_seconds.push_back(since(first_token_at) - st.decode_seconds);
            st.decode_seconds = since(first_token_at);
        }
        if (req.on_token) req.on_token(tok, since(t0));
        const bool is_eos = std::find(req.eos_ids.begin(), req.eos_ids.end(), tok) != req.eos_ids.end();
        if (is_eos && !req.ignore_eos) {
            res.finish_reason = "stop";
            break;
        }
        if (req.logprobs > 0) res.token_logprobs.push_back(logprob_entry(last, tok, req.logprobs, scratch));
        res.tokens.push_back(tok);
        ++st.generated_tokens;
        emit(stop.push(decoder.push(tok)));
        if (stop.stopped()) {
            res.finish_reason = "stop";
            break;
        }
        if (reader_gone || (req.cancel && req.cancel->load(std::memory_order_relaxed))) {
            res.finish_reason = reader_gone ? "stop" : "cancelled";
            break;
        }
        if (session.n_past() >= session.capacity() ||
            (req.max_tokens >= 0 && st.generated_tokens >= req.max_tokens)) {
            res.finish_reason = "length";
            break;
        }
        if (req.between_steps) req.between_steps(session);
        if (!session.feed(std::span<const int32_t>(&tok, 1), false, req.cancel)) {
            res.finish_reason = "cancelled";
            break;
        }
        last.assign(session.logits().begin(), session.logits().end());
    }
    if (!stop.stopped()) emit(stop.push(decoder.finish()));
    if (!stop.stopped()) emit(stop.finish());
    res.text = stop.text();
    st.total_seconds = since(t0);
    return res;
}

}  // namespace ascent
