#pragma once
// One time base for timelines recorded in different places (the thread pool's task spans, the
// profiling backend's kernel calls, the bench's steps), so they line up in one trace.
#include <chrono>
#include <cstdint>

namespace ascent {

inline int64_t steady_ns(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace ascent
