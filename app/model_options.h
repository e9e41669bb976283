#pragma once
// Options every model-running subcommand shares (-m, --threads, --ctx, --mode, --device) and
// the loading they drive.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include "engine/session.h"
#include "models/loader.h"

namespace ascent::app {

struct ModelOptions {
    std::string model;     // empty: the bundled demo model
    int threads = 0;       // 0: all cores
    int64_t ctx = 0;       // 0: min(model maximum, 4096)
    std::string mode = "eager";
    std::string device = "cpu";
    std::string load_format = "auto";
    std::string kv_cache_dtype = "auto";
    uint64_t dummy_seed = 0;
};

void add_model_options(CLI::App& cmd, ModelOptions& o, bool runs_model = true);
std::filesystem::path model_folder(const ModelOptions& o);
std::unique_ptr<models::LoadedModel> load(const ModelOptions& o);
int64_t context_size(const ModelOptions& o, const models::LoadedModel& m);
SessionOptions session_options(const ModelOptions& o, const models::LoadedModel& m);

}  // namespace ascent::app
