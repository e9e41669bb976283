#pragma once
#include <cstddef>

namespace ascent {

size_t process_rss_bytes();       // resident now
size_t process_peak_rss_bytes();  // high-water mark since start

}  // namespace ascent
