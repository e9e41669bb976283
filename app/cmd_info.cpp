// `ascent info`: what a model folder holds and what running it costs.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "app/chat_prompt.h"
#include "app/commands.h"
#include "app/model_options.h"
#include "app/run_stats.h"
#include "app/terminal_io.h"
#include "chat_templates/chat_template.h"

namespace ascent::app {

namespace {

struct InfoOptions {
    ModelOptions model;
    bool json = false;
};

int run_info(const InfoOptions& o) {
    auto m = load(o.model);
    const auto& c = m->config;
    const int64_t ctx = context_size(o.model, *m);
    const DType kv_dtype = session_options(o.model, *m).kv_dtype;
    const size_t kv_bytes = 2 * static_cast<size_t>(m->model->n_layers()) * static_cast<size_t>(ctx) *
                            static_cast<size_t>(m->model->kv_dim()) * dtype_size(kv_dtype);
    const auto tmpl = templates::find_model_template(m->folder, false);
    nlohmann::ordered_json j;
    j["model"] = m->folder.string();
    j["architecture"] = c.architecture;
    j["parameters"] = m->model->parameter_count();
    j["dtypes"] = m->weight_dtypes();
    j["layers"] = c.num_hidden_layers;
    j["hidden_size"] = c.hidden_size;
    j["attention_heads"] = c.num_attention_heads;
    j["kv_heads"] = c.num_key_value_heads;
    j["head_dim"] = c.head_dim;
    j["vocab_size"] = c.vocab_size;
    j["max_context"] = c.max_position_embeddings;
    j["context"] = ctx;
    j["weight_bytes"] = m->weight_bytes();
    j["kv_cache_bytes"] = kv_bytes;
    j["kv_cache_dtype"] = dtype_name(kv_dtype);
    j["tokenizer"] = m->tokenizer->family();
    j["tokenizer_vocab"] = m->tokenizer->vocab_size();
    j["chat_template"] = tmpl.has_value();
    nlohmann::ordered_json stops = nlohmann::ordered_json::array();
    std::vector<int32_t> stop_ids = m->eos_ids();
    if (tmpl) {
        j["chat_template_origin"] = tmpl->origin;
        for (int32_t id : template_traits(*m, *tmpl).stop_ids)
            if (std::find(stop_ids.begin(), stop_ids.end(), id) == stop_ids.end()) stop_ids.push_back(id);
    }
    for (int32_t id : stop_ids) stops.push_back({{"id", id}, {"text", m->tokenizer->token_text(id)}});
    j["stop_tokens"] = stops;
    if (o.json) {
        write_stdout(j.dump(2) + "\n");
        return 0;
    }
    std::string out;
    auto line = [&](std::string_view k, const std::string& v) { out += fmt::format("{:<16} {}\n", k, v); };
    line("model:", m->folder.string());
    line("architecture:", c.architecture);
    line("parameters:", fmt::format("{} ({:.2f} M)", m->model->parameter_count(),
                                    static_cast<double>(m->model->parameter_count()) / 1e6));
    line("dtypes:", m->weight_dtypes());
    line("shape:", fmt::format("{} layers, hidden {}, {} heads ({} KV) x {}, vocab {}", c.num_hidden_layers,
                               c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.vocab_size));
    line("context:", fmt::format("{} (model maximum {})", ctx, c.max_position_embeddings));
    line("weights:", human_bytes(m->weight_bytes()));
    line("KV cache:", fmt::format("{} at {} tokens ({})", human_bytes(kv_bytes), ctx, dtype_name(kv_dtype)));
    line("tokenizer:", fmt::format("{}, {} tokens", m->tokenizer->family(), m->tokenizer->vocab_size()));
    line("chat template:", tmpl ? "yes (" + tmpl->origin + ")" : "none (base model: completion mode)");
    std::string stop_list;
    for (const auto& s : stops) stop_list += fmt::format("{}{} {}", stop_list.empty() ? "" : ", ", s["id"].get<int>(), s["text"].get<std::string>());
    line("stop tokens:", stop_list.empty() ? "none" : stop_list);
    write_stdout(out);
    return 0;
}

}  // namespace

Runner add_info_command(CLI::App& root) {
    auto o = std::make_shared<InfoOptions>();
    CLI::App* cmd = root.add_subcommand("info", "Describe a model: architecture, size, memory, tokenizer, template");
    add_model_options(*cmd, o->model);
    cmd->add_flag("--json", o->json, "Print one JSON object");
    return [o] { return run_info(*o); };
}

}  // namespace ascent::app
