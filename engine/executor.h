#pragma once
// Runs one forward step of a model on a backend. The eager executor runs each op as the model
// calls it; the graph executor (graph mode) records the calls once per shape and replays them.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>
#include "engine/backend.h"
#include "engine/model.h"

namespace ascent {

enum class ExecMode { Eager, Graph };

std::string mode_name(ExecMode m);
ExecMode parse_mode(const std::string& s);  // input_error on anything but eager|graph

struct StepInput {
    std::span<const int32_t> tokens;
    std::span<const int32_t> positions;  // one per token
    bool all_logits = false;             // logits for every token, not just the last
};

class Executor {
public:
    virtual ~Executor() = default;
    virtual ExecMode mode() const = 0;
    // logits receives [rows, vocab]: rows = tokens.size() when all_logits, else 1.
    virtual void run(const Model& model, const StepInput& in, KvCache& cache, std::vector<float>& logits) = 0;
};

std::unique_ptr<Executor> make_executor(ExecMode mode, Backend& backend);

}  // namespace ascent
