#include "engine/batch_generate.h"

#include <algorithm>
#include <chrono>
#include <deque>

#include "engine/error.h"

namespace ascent {

namespace {

using Clock = std::chrono::steady_clock;

struct Running {
    size_t request;
    int seq;
    int32_t next;  // sampled, to be fed by the next decode step
    Sampler sampler;
};

}  // namespace

BatchResult generate_batch(Session& session, const SamplingParams& sampling, const std::vector<BatchRequest>& requests,
                           const std::atomic<bool>* cancel, const std::function<void(size_t)>& on_done) {
    for (size_t i = 0; i < requests.size(); ++i) {
        const auto n = static_cast<int64_t>(requests[i].prompt.size());
        if (n == 0) input_error("request {}: the prompt is empty", i);
        if (n > session.capacity())
            input_error("request {}: the prompt is {} tokens but a sequence holds {} (raise --ctx or shorten the prompt)",
                        i, n, session.capacity());
    }
    const auto t0 = Clock::now();
    auto since_start = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
    const auto vocab = static_cast<size_t>(session.model().vocab_size());
    BatchResult res;
    res.outputs.resize(requests.size());
    BatchStats& st = res.stats;

    std::deque<size_t> waiting;
    for (size_t i = 0; i < requests.size(); ++i) waiting.push_back(i);
    std::vector<int> free_seqs;
    for (int s = session.sequences() - 1; s >= 0; --s) free_seqs.push_back(s);
    std::vector<Running> running;
    auto cancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };
    // seq < 0: the request never took a sequence.
    auto finish = [&](size_t request, int seq, const char* reason) {
        BatchOutput& o = res.outputs[request];
        o.finish_reason = reason;
        o.end_seconds = since_start();
        if (seq >= 0) free_seqs.push_back(seq);
        if (on_done) on_done(request);
    };
    // Takes the token sampled for a request; false when the request is finished by it.
    auto accept = [&](size_t request, int seq, int32_t token) {
        const BatchRequest& q = requests[request];
        BatchOutput& o = res.outputs[request];
        if (o.tokens.empty()) o.ttft_seconds = since_start();
        const bool eos = std::find(q.eos_ids.begin(), q.eos_ids.end(), token) != q.eos_ids.end();
        if (eos && !q.ignore_eos) {
            finish(request, seq, "stop");
            return false;
        }
        o.tokens.push_back(token);
        ++st.generated_tokens;
        if ((q.max_tokens >= 0 && static_cast<int64_t>(o.tokens.size()) >= q.max_tokens) ||
            session.n_past(seq) >= session.capacity()) {
            finish(request, seq, "length");
            return false;
        }
        return true;
    };

    std::vector<int32_t> seqs, tokens;
    std::vector<size_t> admitted;
    std::vector<std::span<const int32_t>> prompts;
    while (!waiting.empty() || !running.empty()) {
        // Admit waiting requests into the free sequences, and prefill them all together.
        admitted.clear();
        seqs.clear();
        prompts.clear();
        while (!waiting.empty() && !free_seqs.empty() && !cancelled()) {
            const size_t request = waiting.front();
            waiting.pop_front();
            const BatchRequest& q = requests[request];
            st.prompt_tokens += static_cast<int64_t>(q.prompt.size());
            if (q.max_tokens == 0) {
                finish(request, -1, "length");
                continue;
            }
            admitted.push_back(request);
            seqs.push_back(free_seqs.back());
            free_seqs.pop_back();
            session.rewind(0, seqs.back());
            prompts.emplace_back(q.prompt);
        }
        if (!admitted.empty()) {
            const auto p0 = Clock::now();
            if (!session.prefill(seqs, prompts, cancel)) {
                for (size_t i = 0; i < admitted.size(); ++i) finish(admitted[i], seqs[i], "cancelled");
            } else {
                const std::vector<float>& logits = session.logits();
                for (size_t i = 0; i < admitted.size(); ++i) {
                    SamplingParams sp = sampling;
                    sp.seed = sampling.seed + admitted[i];
                    Sampler sampler(sp);
                    const int32_t token =
                        sampler.sample(std::span<const float>(logits.data() + i * vocab, vocab), session.history(seqs[i]));
                    if (accept(admitted[i], seqs[i], token)) running.push_back({admitted[i], seqs[i], token, std::move(sampler)});
                }
            }
            st.prefill_seconds += std::chrono::duration<double>(Clock::now() - p0).count();
        }
        if (cancelled()) {
            for (const Running& r : running) finish(r.request, r.seq, "cancelled");
            running.clear();
            for (size_t request : waiting) {
                res.outputs[request].finish_reason = "cancelled";
                if (on_done) on_done(request);
            }
            waiting.clear();
            break;
        }
        if (running.empty()) continue;

        const auto d0 = Clock::now();
        seqs.clear();
        tokens.clear();
        for (const Running& r : running) {
            seqs.push_back(r.seq);
            tokens.push_back(r.next);
        }
        session.decode(seqs, tokens);
        st.max_running = std::max(st.max_running, static_cast<int>(running.size()));
        ++st.decode_steps;
        const std::vector<float>& logits = session.logits();
        size_t kept = 0;  // the requests that go on move to the front, in order
        for (size_t i = 0; i < running.size(); ++i) {
            Running& r = running[i];
            r.next = r.sampler.sample(std::span<const float>(logits.data() + i * vocab, vocab), session.history(r.seq));
            ++st.decode_tokens;
            if (!accept(r.request, r.seq, r.next)) continue;
            if (kept != i) running[kept] = std::move(r);
            ++kept;
        }
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(kept), running.end());
        st.decode_seconds += std::chrono::duration<double>(Clock::now() - d0).count();
    }
    st.total_seconds = since_start();
    double ttft = 0;
    for (const BatchOutput& o : res.outputs) ttft += o.ttft_seconds;
    st.mean_ttft_seconds = requests.empty() ? 0 : ttft / static_cast<double>(requests.size());
    return res;
}

}  // namespace ascent
