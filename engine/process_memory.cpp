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
    // VmHWM follows reset_peak_rss(); getrusage's maxrss does not.
    if (FILE* f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        unsigned long kib = 0;
        bool found = false;
        while (std::fgets(line, sizeof line, f))
            if (std::sscanf(line, "VmHWM: %lu kB", &kib) == 1) {
                found = true;
                break;
            }
        std::fclose(f);
        if (found) return static_cast<size_t>(kib) * 1024;
    }
    rusage u{};
    if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
    return static_cast<size_t>(u.ru_maxrss) * 1024;  // Linux reports KiB
}

bool reset_peak_rss() {
    FILE* f = std::fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    const bool ok = std::fputs("5", f) >= 0;
    return std::fclose(f) == 0 && ok;
}

}  // namespace ascent
