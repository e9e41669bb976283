#pragma once
#include <cstddef>

namespace ascent {

size_t process_rss_bytes();       // resident now
size_t process_peak_rss_bytes();  // high-water mark since start (or since the last reset)
// Starts the high-water mark afresh (Linux clear_refs), e.g. after a probe's scratch buffer is
// freed so it does not count as the model's memory. False where the kernel does not allow it.
bool reset_peak_rss();

}  // namespace ascent
