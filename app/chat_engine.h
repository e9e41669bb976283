#pragma once
// The chat UI's backend on the real engine: a loaded model, one Session whose KV cache lives
// across turns, the model's chat template (or none: a completion pad), and the reasoning split.
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include "chat_templates/chat_template.h"
#include "engine/reasoning.h"
#include "engine/session.h"
#include "models/loader.h"
#include "ui/chat_backend.h"

namespace ascent::app {

class EngineChatBackend : public ui::ChatBackend {
public:
    // tmpl: nullopt for a base model. kwargs: extra template variables (--chat-template-kwargs).
    EngineChatBackend(std::unique_ptr<models::LoadedModel> model, const SessionOptions& session,
                      std::optional<templates::FoundTemplate> tmpl, nlohmann::ordered_json kwargs,
                      ui::GenerationSettings defaults);

    ui::ModelInfo info() const override;
    ui::GenerationSettings default_settings() const override { return defaults_; }
    ui::TurnResult run_turn(const ui::Conversation& conv, const std::atomic<bool>& cancel, ui::TurnSink& sink) override;
    void reset() override;
    void request_mode(ExecMode mode) override { requested_ = mode; }
    ExecMode requested_mode() const override { return requested_.load(); }
    ui::EngineStatus status() const override;

    // The prompt text of a conversation: the rendered template, or the document of a pad.
    std::string prompt_text(const ui::Conversation& conv, ReasoningFormat* reasoning = nullptr,
                            std::vector<int32_t>* stop_ids = nullptr) const;

private:
    void publish_status();
    void maybe_publish_status();

    std::unique_ptr<models::LoadedModel> m_;
    Session session_;
    std::optional<templates::FoundTemplate> tmpl_;
    nlohmann::ordered_json kwargs_;
    ui::GenerationSettings defaults_;
    std::atomic<ExecMode> requested_;
    mutable std::mutex status_mu_;
    ui::EngineStatus status_;
    double last_publish_ = 0;
};

}  // namespace ascent::app
