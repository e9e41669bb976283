#pragma once
// Process-level I/O policy of the command-line tool: stdout that may be a closed pipe, Ctrl-C
// that stops generation instead of killing the process, stdin read whole and checked.
#include <atomic>
#include <string>
#include <string_view>

namespace ascent::app {

// Writes all of s to stdout at once (unbuffered, so tokens appear as they are made). False when
// the reader has gone away (EPIPE); SIGPIPE is ignored so that is a return value, not a death.
bool write_stdout(std::string_view s);

// The first SIGINT sets the flag (generation stops, output is kept, exit code 130); a second one
// exits at once with 130.
void install_signal_handlers();
const std::atomic<bool>& interrupted();

// Reads all of stdin; input_error when it is not valid UTF-8.
std::string read_stdin_utf8();
bool stdin_is_terminal();
bool stdout_is_terminal();

}  // namespace ascent::app
