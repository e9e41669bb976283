#include "engine/session.h"

#include <algorithm>

#include "engine/error.h"

namespace ascent {

Session::Session(Backend& backend, const Model& model, const SessionOptions& opt)
    : backend_(backend), model_(model), opt_(opt) {
    if (opt_.context <= 0) input_error("context size must be positive, got {}", opt_.context);
    if (opt_.prefill_chunk <= 0) opt_.prefill_chunk = 512;
    cache_ = backend_.create_kv_cache(model.n_layers(), opt_.context, model.kv_dim(), opt_.kv_dtype);
    set_mode(opt_.mode);
}

void Session::set_mode(ExecMode mode) {
    auto& slot = executors_[static_cast<int>(mode)];
    if (!slot) slot = make_executor(mode, backend_);
    if (exec_ && exec_ != slot.get()) exec_->release_memory();
    exec_ = slot.get();
}

std::vector<GraphInfo> Session::graphs() const {
    const auto& g = executors_[static_cast<int>(ExecMode::Graph)];
    return g ? g->graphs() : std::vector<GraphInfo>{};
}

size_t Session::arena_bytes() const {
    const auto& g = executors_[static_cast<int>(ExecMode::Graph)];
    return g ? g->arena_bytes() : 0;
}

void Session::rewind(int64_t n) {
    if (n < 0 || n > n_past()) runtime_error("cannot rewind to position {} of {}", n, n_past());
    history_.resize(static_cast<size_t>(n));
}

bool Session::feed(std::span<const int32_t> tokens, bool all_logits, const std::atomic<bool>* cancel,
                   const std::function<void(int64_t, int64_t)>& progress) {
    if (tokens.empty()) runtime_error("feed() needs at least one token");
    const int64_t vocab = model_.vocab_size();
    for (int32_t t : tokens)
        if (t < 0 || t >= vocab) input_error("token id {} is outside the model's vocabulary (0..{})", t, vocab - 1);
    if (n_past() + static_cast<int64_t>(tokens.size()) > capacity())
        input_error("{} tokens do not fit in the context: {} of {} positions are used (raise --ctx)",
                    tokens.size(), n_past(), capacity());
    if (all_logits) logits_.clear();
    size_t done = 0;
    while (done < tokens.size()) {
        if (cancel && cancel->load(std::memory_order_relaxed)) return false;
        const size_t n = std::min(tokens.size() - done, static_cast<size_t>(opt_.prefill_chunk));
        auto chunk = tokens.subspan(done, n);
        positions_.resize(n);
        for (size_t i = 0; i < n; ++i) positions_[i] = static_cast<int32_t>(n_past() + static_cast<int64_t>(i));
        const bool last_chunk = done + n == tokens.size();
        const LogitRows rows = all_logits ? LogitRows::All : last_chunk ? LogitRows::Last : LogitRows::None;
        StepInput in{chunk, positions_, rows};
        exec_->run(model_, in, *cache_, all_logits ? chunk_logits_ : logits_);
        if (all_logits) logits_.insert(logits_.end(), chunk_logits_.begin(), chunk_logits_.end());
        history_.insert(history_.end(), chunk.begin(), chunk.end());
        done += n;
        if (progress) progress(static_cast<int64_t>(done), static_cast<int64_t>(tokens.size()));
    }
    return true;
}

}  // namespace ascent
