#pragma once
// One conversation's state on a backend: the KV cache, the tokens it holds, and the executor
// that runs the model. Prompts are fed in chunks (bounded activation memory, and a place to
// notice a cancel request); decode feeds one token at a time.
//
// A session can hold several independent sequences (SessionOptions::sequences), each with its
// own positions and its own part of the cache, so that a batch decodes them all in one forward
// step: the weights are read once for every sequence's token. The calls without a sequence
// argument work on sequence 0.
#include <atomic>
#include <functional>
#include <memory>
#include <span>
#include <vector>
#include "engine/backend.h"
#include "engine/executor.h"
#include "engine/model.h"

namespace ascent {

struct SessionOptions {
    int64_t context = 0;               // KV cache positions; 0 = the model's maximum
    DType kv_dtype = DType::F32;
    ExecMode mode = ExecMode::Eager;
    int64_t prefill_chunk = 512;       // tokens per forward call while prefilling
    int sequences = 1;                 // independent sequences, each with `context` positions
};

class Session {
public:
    Session(Backend& backend, const Model& model, const SessionOptions& opt);

    // Runs `tokens` after the ones already cached. False when cancelled between chunks (the
    // tokens fed so far stay cached). Logits: the last token's, or every token's with all_logits.
    bool feed(std::span<const int32_t> tokens, bool all_logits = false,
              const std::atomic<bool>* cancel = nullptr,
              const std::function<void(int64_t done, int64_t total)>& progress = nullptr) {
        return feed_sequence(0, tokens, all_logits, cancel, progress);
    }
    bool feed_sequence(int seq, std::span<const int32_t> tokens, bool all_logits = false,
                       const std::atomic<bool>* cancel = nullptr,
                       const std::function<void(int64_t done, int64_t total)>& progress = nullptr);
    // Feeds prompts[i] into sequence seqs[i] (no sequence twice), all in the same forward steps
    // (chunks of prefill_chunk tokens, which may hold several prompts): a batch of short prompts
    // runs as one product over all their tokens. logits() then holds the last token's logits of
    // each prompt, in order. False when cancelled between chunks; the chunks fed stay cached.
    bool prefill(std::span<const int32_t> seqs, std::span<const std::span<const int32_t>> prompts,
                 const std::atomic<bool>* cancel = nullptr);
    // One token for each sequence of `seqs` (no sequence twice), all in one forward step; logits()
    // then holds one row per sequence, in the order of `seqs`.
    void decode(std::span<const int32_t> seqs, std::span<const int32_t> tokens);
    const std::vector<float>& logits() const { return logits_; }

    int sequences() const { return static_cast<int>(histories_.size()); }
    int64_t n_past(int seq = 0) const { return static_cast<int64_t>(history(seq).size()); }
    int64_t capacity() const { return cache_->capacity; }  // per sequence
    const std::vector<int32_t>& history(int seq = 0) const { return histories_[checked(seq)]; }
    // Forgets the sequence's cached positions from n on (n = 0: a new conversation).
    void rewind(int64_t n, int seq = 0);

    ExecMode mode() const { return exec_->mode(); }
    // Legal between any two feed() calls: both modes share the cache and the weights, and each
    // keeps what it built (graph captures survive a round trip through eager).
    void set_mode(ExecMode mode);
    std::vector<GraphInfo> graphs() const;
    size_t arena_bytes() const;
    const KvCache& cache() const { return *cache_; }
    Backend& backend() { return backend_; }
    const Model& model() const { return model_; }

private:
    Backend& backend_;
    const Model& model_;
    SessionOptions opt_;
    std::unique_ptr<KvCache> cache_;
    std::unique_ptr<Executor> executors_[2];  // by ExecMode, created on first use
    Executor* exec_ = nullptr;
    size_t checked(int seq) const;
    void check_tokens(std::span<const int32_t> tokens) const;
    void check_distinct(std::span<const int32_t> seqs) const;

    std::vector<std::vector<int32_t>> histories_;  // per sequence
    std::vector<float> logits_;
    std::vector<float> chunk_logits_;
    std::vector<int32_t> positions_;
    std::vector<int32_t> seqs_;
    std::vector<int32_t> tokens_;       // prefill(): every prompt's tokens, one after another
    std::vector<int64_t> ends_;
};

}  // namespace ascent
