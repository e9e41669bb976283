#pragma once
#include "engine/human_units.h"
// The stats pane's content: speed (with a sparkline of its history), latency, tokens, context
// fill, memory, backend and execution mode, and the per-turn table. Built as styled lines so
// the pane, the compact strip below the chat on narrow terminals, and /stats share it.
#include <string>
#include <vector>
#include "ui/chat_backend.h"
#include "ui/stats.h"
#include "ui/styled_text.h"

namespace ascent::ui {

struct StatsInput {
    const ModelInfo* info = nullptr;
    const EngineStatus* status = nullptr;
    const LiveStats* stats = nullptr;
    ExecMode requested_mode = ExecMode::Eager;
    size_t rss_bytes = 0;
    double now = 0;
};

using ascent::human_bytes;   // "1.5 MiB"
std::string format_ms(double seconds);    // "12.3 ms", "1.52 s"
std::string mode_label(ExecMode requested, ExecMode actual);  // "graph", "eager→graph (next token)"

// The full pane, `width` columns wide.
std::vector<StyledLine> stats_lines(const StatsInput& in, int width);
// A few dense lines for the strip below the chat: items packed left to right.
std::vector<StyledLine> compact_stats_lines(const StatsInput& in, int width, int max_lines);

}  // namespace ascent::ui
