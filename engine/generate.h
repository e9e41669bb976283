#pragma once
// The generation loop: prefill the prompt, then sample, stream and stop. Used by `complete`,
// the chat UI and the benchmarks alike.
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include "engine/sampler.h"
#include "engine/session.h"
#include "engine/tokenizer/tokenizer.h"

namespace ascent {

struct GenerateRequest {
    std::vector<int32_t> prompt;        // fed after whatever the session already holds
    int max_tokens = -1;                // -1: until a stop condition or the context is full
    std::vector<std::string> stop;      // strings that end the output (not included in it)
    std::vector<int32_t> eos_ids;       // tokens that end the output
    bool ignore_eos = false;
    int logprobs = 0;                   // top-N alternatives reported per generated token
    bool echo = false;                  // also report logprobs of the prompt tokens
    bool skip_special = true;           // special tokens are not printed
    const std::atomic<bool>* cancel = nullptr;
    // Chat: keep the longest cached prefix shared with `prompt` (a whole conversation) and
    // feed only what follows it; stats.reused_tokens tells how much was reused.
    bool reuse_prefix = false;
    // Hooks for interactive front ends: prefill progress (tokens done of total), every token
    // as it is sampled (seconds since the request started), and a point between two forward
    // steps where the session may be changed (e.g. the execution mode switched).
    std::function<void(int64_t done, int64_t total)> on_prefill_progress;
    std::function<void(int32_t token, double seconds)> on_token;
    std::function<void(Session&)> between_steps;
};

struct TokenLogprob {
    int32_t id = 0;
    std::optional<float> logprob;                     // none for the very first prompt token
    std::vector<std::pair<int32_t, float>> top;       // best first
};

struct GenerationStats {
    int64_t prompt_tokens = 0;
    int64_t reused_tokens = 0;     // prompt tokens already in the cache
    int64_t generated_tokens = 0;
    double prefill_seconds = 0;    // feeding the prompt
    double ttft_seconds = 0;       // start until the first generated token is known
    double decode_seconds = 0;     // first generated token until the last
    double total_seconds = 0;
    std::vector<double> token_seconds;  // time of each generated token after the first
    double prefill_tokens_per_second() const;
    double decode_tokens_per_second() const;
    double mean_tpot_seconds() const;
};

struct GenerationResult {
    std::string text;                    // generated text (stop string excluded)
    std::vector<int32_t> tokens;         // generated ids
    std::string finish_reason;           // "stop", "length" or "cancelled"
    GenerationStats stats;
    std::vector<TokenLogprob> prompt_logprobs;  // with echo
    std::vector<TokenLogprob> token_logprobs;   // with logprobs > 0
};

// on_text receives text as it becomes final; returning false stops generation (e.g. the reader
// went away). The result holds everything generated.
GenerationResult generate(Session& session, const Tokenizer& tokenizer, Sampler& sampler,
                          const GenerateRequest& req,
                          const std::function<bool(std::string_view)>& on_text = nullptr);

}  // namespace ascent
