#include "app/run_stats.h"

#include <fmt/format.h>

#include <cstdio>

#include "engine/process_memory.h"

namespace ascent::app {

void print_run_stats(const models::LoadedModel& m, const Session& s, const SamplingParams& p,
                     const GenerationResult& r) {
    const auto& st = r.stats;
    auto mem = m.backend->memory();
    std::string out;
    auto line = [&](std::string_view k, const std::string& v) { out += fmt::format("{:<18} {}\n", k, v); };
    out += "\n";
    line("model:", fmt::format("{} ({}, {})", m.folder.filename().string(), m.config.architecture, m.weight_dtypes()));
    line("backend:", fmt::format("{}, mode {}", m.backend->describe(), mode_name(s.mode())));
    line("prompt tokens:", std::to_string(st.prompt_tokens));
    line("generated tokens:", fmt::format("{} (finish: {})", st.generated_tokens, r.finish_reason));
    line("load time:", fmt::format("{:.2f} ms", m.load_seconds * 1e3));
    line("TTFT:", fmt::format("{:.2f} ms", st.ttft_seconds * 1e3));
    line("prefill:", fmt::format("{:.1f} tokens/s ({:.2f} ms)", st.prefill_tokens_per_second(), st.prefill_seconds * 1e3));
    line("decode:", fmt::format("{:.1f} tokens/s", st.decode_tokens_per_second()));
    line("time per token:", fmt::format("{:.2f} ms (mean, after the first)", st.mean_tpot_seconds() * 1e3));
    line("context:", fmt::format("{} / {} tokens", s.n_past(), s.capacity()));
    line("sampling:", p.temperature <= 0 ? std::string("greedy")
                                         : fmt::format("temperature {} top-k {} top-p {} min-p {} repeat-penalty {} seed {}",
                                                       p.temperature, p.top_k, p.top_p, p.min_p, p.repeat_penalty, p.seed));
    line(fmt::format("memory ({}):", m.backend->memory_label()),
         fmt::format("weights {}, KV cache {}, activations peak {}", human_bytes(mem.weights),
                     human_bytes(mem.kv_cache), human_bytes(mem.activations_peak)));
    line("peak memory:", fmt::format("{} (process peak RSS)", human_bytes(process_peak_rss_bytes())));
    std::fputs(out.c_str(), stderr);
}

}  // namespace ascent::app
