#pragma once
// What the chat UI needs from whoever runs the model. ui/ knows the engine's public types but
// not models, chat templates or the command line; app/ implements this interface with them.
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include "engine/executor.h"
#include "ui/conversation.h"

namespace ascent::ui {

struct ModelInfo {
    std::string name;           // the model folder's name
    std::string architecture;
    std::string backend;        // Backend::describe()
    std::string memory_label;   // "RAM" on the host, "HBM" on a device
    int threads = 0;
    std::string dtype;          // weight storage type(s)
    int64_t context = 0;        // KV cache positions
    size_t weight_bytes = 0;
    bool chat = false;          // has a chat template; false: the UI is a completion pad
    std::string template_origin;
    double load_seconds = 0;
};

// The engine's state for the stats pane, refreshed by the backend at safe points.
struct EngineStatus {
    ExecMode mode = ExecMode::Eager;
    int64_t context_used = 0;   // positions the KV cache holds
    int64_t context_size = 0;
    size_t kv_allocated = 0;
    size_t kv_used = 0;
    size_t arena_bytes = 0;     // graph mode's static activation arena
    size_t activations_peak = 0;
    std::vector<GraphInfo> graphs;
};

// How a running turn reports back. Called on the engine thread; implementations must be cheap
// (they run between tokens) and thread-safe with respect to the UI.
class TurnSink {
public:
    virtual ~TurnSink() = default;
    virtual void prefill_progress(int64_t done, int64_t total) = 0;
    virtual void token() = 0;
    virtual void text(std::string_view content, std::string_view reasoning) = 0;
};

struct TurnResult {
    std::string content;
    std::string reasoning;
    std::string finish_reason;  // "stop", "length", "cancelled", or "error"
    std::string error;          // set with finish_reason "error", e.g. the context is full
    int64_t prompt_tokens = 0;
    int64_t reused_tokens = 0;
    int64_t generated_tokens = 0;
    double ttft_seconds = 0;
    double prefill_seconds = 0;
    double decode_seconds = 0;
    std::string mode;           // "eager", "graph", or "eager→graph" after a switch mid-answer
};

class ChatBackend {
public:
    virtual ~ChatBackend() = default;
    virtual ModelInfo info() const = 0;
    // The model's recommended sampling (generation_config.json) and the command line's choices.
    virtual GenerationSettings default_settings() const = 0;

    // Engine thread only. Chat models answer the last user message of `conv`; base models
    // continue the text formed by all messages. The KV cache keeps whatever prefix the new
    // prompt shares with the previous one, so only new tokens are prefilled.
    virtual TurnResult run_turn(const Conversation& conv, const std::atomic<bool>& cancel, TurnSink& sink) = 0;
    // Engine thread only: forget the cached conversation.
    virtual void reset() = 0;

    // Any thread. The switch happens between two forward steps (mid-answer too).
    virtual void request_mode(ExecMode mode) = 0;
    virtual ExecMode requested_mode() const = 0;
    // Any thread: the last status the engine thread published.
    virtual EngineStatus status() const = 0;
};

}  // namespace ascent::ui
