#pragma once
// The sampling flags `complete` and `chat` share, and how they combine with the model's
// generation_config.json.
#include <CLI/CLI.hpp>
#include <optional>
#include "engine/sampler.h"
#include "models/loader.h"

namespace ascent::app {

struct SamplingFlags {
    std::optional<float> temperature, top_p, min_p, repeat_penalty;
    std::optional<int> top_k;
};

void add_sampling_options(CLI::App& cmd, SamplingFlags& f);

// Flags win; then generation_config.json (Hugging Face semantics: without do_sample the model
// card asks for greedy decoding); then the engine's defaults (llama.cpp's). Seed not set here.
SamplingParams resolve_sampling(const SamplingFlags& f, const models::LoadedModel& m);

}  // namespace ascent::app
