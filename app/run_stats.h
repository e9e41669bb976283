#pragma once
#include "engine/human_units.h"
#include "engine/generate.h"
#include "engine/sampler.h"
#include "engine/session.h"
#include "models/loader.h"

namespace ascent::app {

// The --stats block on stderr: the counts and timings people compare between engines.
void print_run_stats(const models::LoadedModel& m, const Session& s, const SamplingParams& p,
                     const GenerationResult& r);

using ascent::human_bytes;

}  // namespace ascent::app
