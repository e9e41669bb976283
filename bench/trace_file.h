#pragma once
// `ascent bench latency --trace FILE`: the timelines of the profiled requests as a Chrome
// trace-event file (JSON), which ui.perfetto.dev and chrome://tracing open. One process per
// request (mode, input and output length); on its first track the forward steps with the kernels
// the caller called inside them, then one track per backend thread with the tasks it ran, each
// named by the kernel it was part of. Gaps on a thread's track are where it waited.
#include <nlohmann/json.hpp>
#include "bench/runner.h"

namespace ascent::bench {

nlohmann::json chrome_trace(const Report& r);

}  // namespace ascent::bench
