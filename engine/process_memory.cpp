#include "engine/process_memory.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace ascent {

size_t process_rss_bytes() {
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    const int got = std::fscanf(f, "%lu %lu", &size, &resident);
    std::fclose(f);
    if (got != 2) return 0;
    return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

size_t process_peak_rss_bytes() {
    rusage u{};
    if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
    return static_cast<size_t>(u.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace ascent
