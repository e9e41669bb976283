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

// Which rows of a step need logits: none (a prompt chunk before the last), the last token's,
// every token's (--echo/--logprobs, tests, a batched decode step), or the last token of each
// sequence's run of rows (the prompts of several sequences prefilled in one step).
enum class LogitRows { None, Last, All, LastOfEach };

const char* logit_rows_name(LogitRows r);  // "none", "last", "all", "each"

// LogitRows::LastOfEach: the rows that end a run of one sequence's tokens, in order.
void sequence_ends(std::span<const int32_t> seqs, int64_t rows, std::vector<int64_t>& out);

struct StepInput {
    std::span<const int32_t> tokens;
    std::span<const int32_t> positions;  // one per token
    std::span<const int32_t> seqs;       // the cache sequence of each token; empty: all sequence 0
    LogitRows logits = LogitRows::Last;
};

// What graph mode built, for the stats pane and `ascent bench`.
struct GraphInfo {
    int64_t tokens = 0;             // the bucket
    LogitRows logits = LogitRows::Last;
    int nodes_recorded = 0;         // ops the model called
    int nodes_fused = 0;            // kernels a replay runs
    size_t arena_bytes = 0;
    double capture_seconds = 0;
    int64_t replays = 0;
};

class Executor {
public:
    virtual ~Executor() = default;
    virtual ExecMode mode() const = 0;
    // logits receives [rows, vocab]: rows = tokens.size() for All, 1 for Last, 0 for None.
    virtual void run(const Model& model, const StepInput& in, KvCache& cache, std::vector<float>& logits) = 0;
    virtual std::vector<GraphInfo> graphs() const { return {}; }
    virtual size_t arena_bytes() const { return 0; }
    // The session stops using this executor for now (a mode switch): give back working memory
    // that stays allocated between steps, so two modes never hold theirs at once. The next run
    // allocates it again; what was captured is kept.
    virtual void release_memory() {}
};

std::unique_ptr<Executor> make_executor(ExecMode mode, Backend& backend);

}  // namespace ascent
