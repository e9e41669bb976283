#pragma once
// Byte counts as people read them ("1.5 MiB"), shared by the CLI, the UI and the benchmarks.
#include <cstddef>
#include <string>

namespace ascent {

std::string human_bytes(size_t bytes);

}  // namespace ascent
