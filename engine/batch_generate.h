#pragma once
// Many requests on one session's sequences at once (continuous batching, as vLLM's scheduler):
// waiting requests take the free sequences and their prompts are prefilled together
// (Session::prefill), then they join the decode steps, which give every running request one
// token in a single forward pass, so the weights are read once per step rather than once per
// request. A finished request frees its sequence for the next one waiting. Used by
// `ascent bench` for --batch-size.
#include <atomic>
#include <functional>
#include <string>
#include <vector>
#include "engine/sampler.h"
#include "engine/session.h"

namespace ascent {

struct BatchRequest {
    std::vector<int32_t> prompt;  // fed into an emptied sequence
    int max_tokens = -1;          // -1: until EOS or the sequence's context is full
    std::vector<int32_t> eos_ids;
    bool ignore_eos = false;
};

struct BatchOutput {
    std::vector<int32_t> tokens;  // generated ids
    std::string finish_reason;    // "stop", "length" or "cancelled"
    double ttft_seconds = 0;      // from the start of the batch until its first token
    double end_seconds = 0;       // from the start of the batch until it finished
};

struct BatchStats {
    int64_t prompt_tokens = 0;
    int64_t generated_tokens = 0;
    double prefill_seconds = 0;   // feeding prompts and sampling their first tokens
    double decode_seconds = 0;    // the batched decode steps, sampling included
    int64_t decode_steps = 0;
    int64_t decode_tokens = 0;    // tokens the decode steps produced (first tokens come from prefill)
    int max_running = 0;          // most requests decoded in one step
    double total_seconds = 0;
    double mean_ttft_seconds = 0;
    double decode_tokens_per_second() const {
        return decode_seconds > 0 ? static_cast<double>(decode_tokens) / decode_seconds : 0;
    }
};

struct BatchResult {
    std::vector<BatchOutput> outputs;  // in the order of the requests
    BatchStats stats;
};

// Request i samples with `sampling` seeded with sampling.seed + i, so its tokens do not depend on
// what else runs beside it. `on_done(i)` is called when request i finishes. When `cancel` is set
// the requests still running end with "cancelled".
BatchResult generate_batch(Session& session, const SamplingParams& sampling, const std::vector<BatchRequest>& requests,
                           const std::atomic<bool>* cancel = nullptr,
                           const std::function<void(size_t)>& on_done = nullptr);

}  // namespace ascent
