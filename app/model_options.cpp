#include "app/model_options.h"

#include <algorithm>
#include <cstdio>

#include "app/data_dir.h"
#include "engine/error.h"
#include "engine/model_locator.h"
#include "engine/usable_cpus.h"

namespace ascent::app {

namespace {
constexpr int64_t kDefaultContext = 4096;
}

void add_model_options(CLI::App& cmd, ModelOptions& o, bool runs_model) {
    cmd.add_option("-m,--model", o.model,
                   "Model folder or id (ModelScope / Hugging Face cache); default: the bundled demo model");
    if (!runs_model) return;
    cmd.add_option("--threads,-t", o.threads, "Threads for the CPU backend (default: every core this process may use)")
        ->check(CLI::Range(0, 1024));
    cmd.add_option("--ctx,-c", o.ctx, "Context size in tokens (default: min(model maximum, 4096))")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
    cmd.add_option("--mode", o.mode, "Execution mode: eager or graph")->check(CLI::IsMember({"eager", "graph"}));
    cmd.add_option("--device", o.device, "Backend device (cpu)");
    cmd.add_option("--load-format", o.load_format,
                   "auto/safetensors: the folder's weights; dummy: seeded random weights from config.json alone")
        ->check(CLI::IsMember({"auto", "safetensors", "dummy"}));
    cmd.add_option("--kv-cache-dtype", o.kv_cache_dtype, "KV cache precision: auto (the weights' dtype), f32, bf16, f16")
        ->check(CLI::IsMember({"auto", "f32", "bf16", "f16"}));
}

std::filesystem::path model_folder(const ModelOptions& o) {
    return o.model.empty() ? demo_model_dir() : locate_model(o.model);
}

std::unique_ptr<models::LoadedModel> load(const ModelOptions& o) {
    // Allowed (llama.cpp allows it too), but a spinning thread pool on shared cores is slow enough
    // to look like a hang: 128 threads on 2 cores ran a short bench 8x longer than 2.
    const int cpus = usable_cpus();
    if (o.device == "cpu" && o.threads > cpus)
        std::fprintf(stderr,
                     "ascent: warning: --threads %d is more than the %d CPU%s this process may run on; the threads "
                     "will take turns on %s and every step will be slower (leave --threads out to use %d)\n",
                     o.threads, cpus, cpus == 1 ? "" : "s", cpus == 1 ? "it" : "them", cpus);
    BackendOptions b;
    b.device = o.device;
    b.threads = o.threads;
    return models::load_model(model_folder(o), b, models::parse_load_format(o.load_format), o.dummy_seed);
}

int64_t context_size(const ModelOptions& o, const models::LoadedModel& m) {
    const int64_t max = m.config.max_position_embeddings;
    if (o.ctx > 0) {
        if (o.ctx > max)
            input_error("--ctx {} is larger than the model's maximum context ({}, max_position_embeddings)", o.ctx, max);
        return o.ctx;
    }
    return std::min(max, kDefaultContext);
}

SessionOptions session_options(const ModelOptions& o, const models::LoadedModel& m) {
    SessionOptions s;
    s.context = context_size(o, m);
    s.mode = parse_mode(o.mode);
    if (o.kv_cache_dtype == "f32") s.kv_dtype = DType::F32;
    else if (o.kv_cache_dtype == "bf16") s.kv_dtype = DType::BF16;
    else if (o.kv_cache_dtype == "f16") s.kv_dtype = DType::F16;
    else s.kv_dtype = m.main_dtype();  // F32 checkpoints keep exact F32 attention
    return s;
}

}  // namespace ascent::app
