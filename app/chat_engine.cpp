#include "app/chat_engine.h"

#include <random>

#include "app/chat_prompt.h"
#include "engine/error.h"
#include "engine/generate.h"
#include "engine/reasoning.h"
#include "ui/stats.h"

namespace ascent::app {

namespace {
constexpr double kPublishSeconds = 0.05;  // the UI samples at 5 Hz; fresher than that is waste
}

EngineChatBackend::EngineChatBackend(std::unique_ptr<models::LoadedModel> model, const SessionOptions& session,
                                     std::optional<templates::FoundTemplate> tmpl, nlohmann::ordered_json kwargs,
                                     ui::GenerationSettings defaults)
    : m_(std::move(model)),
      session_(*m_->backend, *m_->model, session),
      tmpl_(std::move(tmpl)),
      kwargs_(std::move(kwargs)),
      defaults_(defaults),
      requested_(session.mode) {
    publish_status();
}

ui::ModelInfo EngineChatBackend::info() const {
    ui::ModelInfo i;
    i.name = m_->folder.filename().string();
    i.architecture = m_->config.architecture;
    i.backend = m_->backend->describe();
    i.memory_label = m_->backend->memory_label();
    i.threads = m_->backend->threads();
    i.dtype = m_->weight_dtypes();
    i.context = session_.capacity();
    i.weight_bytes = m_->weight_bytes();
    i.chat = tmpl_.has_value();
    i.template_origin = tmpl_ ? tmpl_->origin : "";
    i.load_seconds = m_->load_seconds;
    return i;
}

std::string EngineChatBackend::prompt_text(const ui::Conversation& conv, ReasoningFormat* reasoning,
                                           std::vector<int32_t>* stop_ids) const {
    if (!tmpl_) {
        // A base model continues one document: the system text (if any) and every piece so far.
        std::string doc = conv.system.empty() ? "" : conv.system + "\n\n";
        for (const auto& m : conv.messages) doc += m.content;
        return doc;
    }
    const auto messages = ui::conversation_messages(conv);
    ChatPrompt p = build_chat_prompt(*m_, *tmpl_, messages, kwargs_);
    if (reasoning) *reasoning = p.reasoning;
    if (stop_ids) *stop_ids = p.stop_ids;
    return p.text;
}

ui::TurnResult EngineChatBackend::run_turn(const ui::Conversation& conv, const std::atomic<bool>& cancel,
                                           ui::TurnSink& sink) {
    ui::TurnResult out;
    ReasoningFormat format = ReasoningFormat::None;
    std::vector<int32_t> stop_ids;
    const std::string text = prompt_text(conv, &format, &stop_ids);
    EncodeOptions enc;
    enc.add_special_tokens = !tmpl_;  // a template writes BOS itself where its model wants one

    GenerateRequest req;
    req.prompt = m_->tokenizer->encode(text, enc);
    req.eos_ids = m_->eos_ids();
    req.eos_ids.insert(req.eos_ids.end(), stop_ids.begin(), stop_ids.end());
    req.max_tokens = conv.settings.max_tokens;
    req.reuse_prefix = true;
    req.cancel = &cancel;
    ReasoningSplitter splitter(format, text);
    req.skip_special = !splitter.needs_special_tokens();

    SamplingParams sp;
    sp.temperature = conv.settings.temperature;
    sp.top_k = conv.settings.top_k;
    sp.top_p = conv.settings.top_p;
    sp.min_p = conv.settings.min_p;
    sp.repeat_penalty = conv.settings.repeat_penalty;
    sp.seed = conv.settings.seed ? *conv.settings.seed : std::random_device{}();
    Sampler sampler(sp);

    if (session_.mode() != requested_.load()) session_.set_mode(requested_.load());
    std::string modes = mode_name(session_.mode());
    req.on_prefill_progress = [&](int64_t done, int64_t total) {
        sink.prefill_progress(done, total);
        maybe_publish_status();
    };
    req.on_token = [&](int32_t, double) { sink.token(); };
    req.between_steps = [&](Session& s) {
        const ExecMode want = requested_.load();
        if (s.mode() != want) {  // F2 mid-answer: the next token already runs in the other mode
            s.set_mode(want);
            modes += "→" + mode_name(want);
            publish_status();
        }
        maybe_publish_status();
    };
    auto emit = [&](const SplitText& part) {
        out.content += part.content;
        out.reasoning += part.reasoning;
        sink.text(part.content, part.reasoning);
    };
    GenerationResult r;
    try {
        r = generate(session_, *m_->tokenizer, sampler, req, [&](std::string_view piece) {
            emit(splitter.push(piece));
            return true;
        });
    } catch (const Error& e) {
        publish_status();
        out.finish_reason = "error";
        out.error = std::string(e.what()) + " — /clear starts a new conversation";
        return out;
    }
    emit(splitter.finish());
    publish_status();
    out.finish_reason = r.finish_reason;
    out.prompt_tokens = r.stats.prompt_tokens;
    out.reused_tokens = r.stats.reused_tokens;
    out.generated_tokens = r.stats.generated_tokens;
    out.ttft_seconds = r.stats.ttft_seconds;
    out.prefill_seconds = r.stats.prefill_seconds;
    out.decode_seconds = r.stats.decode_seconds;
    out.mode = modes;
    return out;
}

void EngineChatBackend::reset() {
    session_.rewind(0);
    publish_status();
}

void EngineChatBackend::maybe_publish_status() {
    if (ui::monotonic_seconds() - last_publish_ >= kPublishSeconds) publish_status();
}

void EngineChatBackend::publish_status() {
    ui::EngineStatus s;
    s.mode = session_.mode();
    s.context_used = session_.n_past();
    s.context_size = session_.capacity();
    const BackendMemory mem = m_->backend->memory();
    s.kv_allocated = session_.cache().bytes();
    s.kv_used = s.context_size > 0 ? static_cast<size_t>(static_cast<double>(s.kv_allocated) *
                                                         static_cast<double>(s.context_used) /
                                                         static_cast<double>(s.context_size))
                                   : 0;
    s.arena_bytes = session_.arena_bytes();
    s.activations_peak = mem.activations_peak;
    s.graphs = session_.graphs();
    last_publish_ = ui::monotonic_seconds();
    std::lock_guard lock(status_mu_);
    status_ = std::move(s);
}

ui::EngineStatus EngineChatBackend::status() const {
    std::lock_guard lock(status_mu_);
    return status_;
}

}  // namespace ascent::app
