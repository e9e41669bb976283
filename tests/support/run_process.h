#pragma once
// Runs the real `ascent` binary for end-to-end tests: feeds stdin, captures stdout and stderr,
// and can play the roles of a reader that goes away or a user who presses Ctrl-C.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace ascent::test {

struct RunOptions {
    std::string stdin_data;
    size_t stdout_limit = static_cast<size_t>(-1);  // close our end of stdout after this many bytes
    size_t sigint_after_bytes = 0;                  // > 0: send SIGINT once stdout has this much
    int sigint_after_ms = 0;                        // > 0: send SIGINT this long after the start
    std::map<std::string, std::string> env;         // added to the environment
    int only_cpus = 0;                              // > 0: the child may run on this many of our CPUs only
    int timeout_ms = 120000;
};

struct RunResult {
    int exit_code = -1;   // -1 when killed by a signal
    int signal = 0;
    std::string out;
    std::string err;
    bool timed_out = false;
};

RunResult run_ascent(const std::vector<std::string>& args, const RunOptions& opt = {});

}  // namespace ascent::test
