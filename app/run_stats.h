#pragma once
#include "engine/generate.h"
#include "engine/sampler.h"
#include "engine/session.h"
#include "models/loader.h"

namespace ascent::app {

// The --stats block on stderr: the counts and timings people compare between engines.
void print_run_stats(const models::LoadedModel& m, const Session& s, const SamplingParams& p,
                     const GenerationResult& r);

std::string human_bytes(size_t bytes);

}  // namespace ascent::app
