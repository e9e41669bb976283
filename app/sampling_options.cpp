#include "app/sampling_options.h"

#include <filesystem>

namespace ascent::app {

void add_sampling_options(CLI::App& cmd, SamplingFlags& f) {
    cmd.add_option("--temperature,--temp", f.temperature, "Sampling temperature (0: greedy)")->check(CLI::Range(0.0, 100.0));
    cmd.add_option("--top-k", f.top_k, "Keep the K most likely tokens (0: off)")->check(CLI::Range(0, 1 << 30));
    cmd.add_option("--top-p", f.top_p, "Nucleus sampling mass (1: off)")->check(CLI::Range(0.0, 1.0));
    cmd.add_option("--min-p", f.min_p, "Drop tokens below P x the best one's probability (0: off)")
        ->check(CLI::Range(0.0, 1.0));
    cmd.add_option("--repeat-penalty", f.repeat_penalty, "Penalty for recently seen tokens (1: off)")
        ->check(CLI::Range(0.0, 100.0));
}

SamplingParams resolve_sampling(const SamplingFlags& f, const models::LoadedModel& m) {
    SamplingParams p;
    if (std::filesystem::exists(m.folder / "generation_config.json")) {
        const auto& g = m.generation;
        p.temperature = g.do_sample ? static_cast<float>(g.temperature.value_or(1.0)) : 0.f;
        p.top_k = g.top_k.value_or(50);
        p.top_p = static_cast<float>(g.top_p.value_or(1.0));
        p.min_p = static_cast<float>(g.min_p.value_or(0.0));
        p.repeat_penalty = static_cast<float>(g.repetition_penalty.value_or(1.0));
    }
    if (f.temperature) p.temperature = *f.temperature;
    if (f.top_k) p.top_k = *f.top_k;
    if (f.top_p) p.top_p = *f.top_p;
    if (f.min_p) p.min_p = *f.min_p;
    if (f.repeat_penalty) p.repeat_penalty = *f.repeat_penalty;
    return p;
}

}  // namespace ascent::app
