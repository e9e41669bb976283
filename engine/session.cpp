#include "engine/session.h"

#include <algorithm>

#include "engine/error.h"

namespace ascent {

Session::Session(Backend& backend, const Model& model, const SessionOptions& opt)
    : backend_(backend), model_(model), opt_(opt) {
    if (opt_.context <= 0) input_error("context size must be positive, got {}", opt_.context);
    if (opt_.prefill_chunk <= 0) opt_.prefill_chunk = 512;
    if (opt_.sequences < 1) input_error("a session needs at least one sequence, got {}", opt_.sequences);
    cache_ = backend_.create_kv_cache(model.n_layers(), opt_.context, model.kv_dim(), opt_.kv_dtype, opt_.sequences);
    histories_.resize(static_cast<size_t>(opt_.sequences));
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

size_t Session::checked(int seq) const {
    if (seq < 0 || seq >= static_cast<int>(histories_.size()))
        runtime_error("sequence {} does not exist (the session has {})", seq, histories_.size());
    return static_cast<size_t>(seq);
}

void Session::rewind(int64_t n, int seq) {
    auto& h = histories_[checked(seq)];
    if (n < 0 || n > static_cast<int64_t>(h.size())) runtime_error("cannot rewind to position {} of {}", n, h.size());
    h.resize(static_cast<size_t>(n));
}

void Session::check_tokens(std::span<const int32_t> tokens) const {
    const int64_t vocab = model_.vocab_size();
    for (int32_t t : tokens)
        if (t < 0 || t >= vocab) input_error("token id {} is outside the model's vocabulary (0..{})", t, vocab - 1);
}

void Session::check_distinct(std::span<const int32_t> seqs) const {
    for (size_t i = 0; i < seqs.size(); ++i) {
        checked(seqs[i]);
        if (std::find(seqs.begin(), seqs.begin() + static_cast<std::ptrdiff_t>(i), seqs[i]) != seqs.begin() + static_cast<std::ptrdiff_t>(i))
            runtime_error("sequence {} is given twice in one step", seqs[i]);
    }
}

bool Session::prefill(std::span<const int32_t> seqs, std::span<const std::span<const int32_t>> prompts,
                      const std::atomic<bool>* cancel) {
    if (seqs.empty() || seqs.size() != prompts.size())
        runtime_error("prefill() needs one prompt per sequence, got {} sequences and {} prompts", seqs.size(), prompts.size());
    if (seqs.size() == 1) return feed_sequence(seqs[0], prompts[0], false, cancel);
    check_distinct(seqs);
    tokens_.clear();
    positions_.clear();
    seqs_.clear();
    for (size_t i = 0; i < seqs.size(); ++i) {
        const auto& h = histories_[static_cast<size_t>(seqs[i])];
        if (prompts[i].empty()) runtime_error("prefill(): the prompt of sequence {} is empty", seqs[i]);
        check_tokens(prompts[i]);
        if (static_cast<int64_t>(h.size() + prompts[i].size()) > capacity())
            input_error("{} tokens do not fit in the context of sequence {}: {} of {} positions are used (raise --ctx)",
                        prompts[i].size(), seqs[i], h.size(), capacity());
        tokens_.insert(tokens_.end(), prompts[i].begin(), prompts[i].end());
        for (size_t t = 0; t < prompts[i].size(); ++t) {
            positions_.push_back(static_cast<int32_t>(h.size() + t));
            seqs_.push_back(seqs[i]);
        }
    }
    const auto vocab = static_cast<size_t>(model_.vocab_size());
    logits_.assign(seqs.size() * vocab, 0.f);
    size_t prompt = 0, prompt_end = prompts[0].size();  // the prompt the chunk's next end belongs to
    for (size_t done = 0; done < tokens_.size();) {
        if (cancel && cancel->load(std::memory_order_relaxed)) return false;
        const size_t n = std::min(tokens_.size() - done, static_cast<size_t>(opt_.prefill_chunk));
        const auto at = [&](const auto& v) { return std::span(v).subspan(done, n); };
        StepInput in{at(tokens_), at(positions_), at(seqs_), LogitRows::LastOfEach};
        exec_->run(model_, in, *cache_, chunk_logits_);
        // A run cut by the chunk's end also gets a row; only each prompt's last token is kept.
        sequence_ends(in.seqs, static_cast<int64_t>(n), ends_);
        for (size_t e = 0; e < ends_.size(); ++e) {
            const size_t row = done + static_cast<size_t>(ends_[e]);
            while (row >= prompt_end) prompt_end += prompts[++prompt].size();
            if (row + 1 == prompt_end)
                std::copy_n(chunk_logits_.begin() + static_cast<std::ptrdiff_t>(e * vocab), vocab,
                            logits_.begin() + static_cast<std::ptrdiff_t>(prompt * vocab));
        }
        for (size_t r = done; r < done + n; ++r) histories_[static_cast<size_t>(seqs_[r])].push_back(tokens_[r]);
        done += n;
    }
    return true;
}

void Session::decode(std::span<const int32_t> seqs, std::span<const int32_t> tokens) {
    if (seqs.empty() || seqs.size() != tokens.size())
        runtime_error("decode() needs one token per sequence, got {} sequences and {} tokens", seqs.size(), tokens.size());
    check_tokens(tokens);
    check_distinct(seqs);
    positions_.clear();
    for (size_t i = 0; i < seqs.size(); ++i) {
        const auto& h = histories_[static_cast<size_t>(seqs[i])];
        if (static_cast<int64_t>(h.size()) >= capacity())
            input_error("sequence {} is full: all {} positions of its context are used (raise --ctx)", seqs[i], capacity());
        positions_.push_back(static_cast<int32_t>(h.size()));
    }
    StepInput in{tokens, positions_, seqs, LogitRows::All};
    exec_->run(model_, in, *cache_, logits_);
    for (size_t i = 0; i < seqs.size(); ++i) histories_[static_cast<size_t>(seqs[i])].push_back(tokens[i]);
}

bool Session::feed_sequence(int seq, std::span<const int32_t> tokens, bool all_logits, const std::atomic<bool>* cancel,
                            const std::function<void(int64_t, int64_t)>& progress) {
    if (tokens.empty()) runtime_error("feed() needs at least one token");
    auto& history = histories_[checked(seq)];
    check_tokens(tokens);
    if (n_past(seq) + static_cast<int64_t>(tokens.size()) > capacity())
        input_error("{} tokens do not fit in the context: {} of {} positions are used (raise --ctx)",
                    tokens.size(), n_past(seq), capacity());
    if (all_logits) logits_.clear();
    size_t done = 0;
    while (done < tokens.size()) {
        if (cancel && cancel->load(std::memory_order_relaxed)) return false;
        const size_t n = std::min(tokens.size() - done, static_cast<size_t>(opt_.prefill_chunk));
        auto chunk = tokens.subspan(done, n);
        positions_.resize(n);
        for (size_t i = 0; i < n; ++i) positions_[i] = static_cast<int32_t>(history.size() + i);
        seqs_.assign(seq == 0 ? 0 : n, seq);  // empty for sequence 0
        const bool last_chunk = done + n == tokens.size();
        const LogitRows rows = all_logits ? LogitRows::All : last_chunk ? LogitRows::Last : LogitRows::None;
        StepInput in{chunk, positions_, seqs_, rows};
        exec_->run(model_, in, *cache_, all_logits ? chunk_logits_ : logits_);
        if (all_logits) logits_.insert(logits_.end(), chunk_logits_.begin(), chunk_logits_.end());
        history.insert(history.end(), chunk.begin(), chunk.end());
        done += n;
        if (progress) progress(static_cast<int64_t>(done), static_cast<int64_t>(tokens.size()));
    }
    return true;
}

}  // namespace ascent
