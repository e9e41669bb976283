#pragma once

namespace ascent {

// CPUs this process may run on: its affinity mask (taskset, a container's cpuset), or the online
// CPUs where the system does not say. At least 1. The CPU backend's default thread count; more
// threads than this take turns on the same cores, and every step waits for the slowest.
int usable_cpus();

}  // namespace ascent
