#pragma once
// One error type for the whole engine. The kind decides the process exit code
// (DESIGN.md: 1 runtime failure, 2 bad usage or bad input), so code deep in a
// loader can say "this is the user's file's fault" without knowing about exit codes.
#include <stdexcept>
#include <string>
#include <fmt/format.h>

namespace ascent {

enum class ErrorKind { Runtime = 1, Input = 2 };

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }
    int exit_code() const { return static_cast<int>(kind_); }

private:
    ErrorKind kind_;
};

// Bad input: a file, a flag value or text the user gave us. Exit code 2.
template <typename... Args>
[[noreturn]] void input_error(fmt::format_string<Args...> f, Args&&... args) {
    throw Error(ErrorKind::Input, fmt::format(f, std::forward<Args>(args)...));
}

// Something failed at run time that the input did not cause. Exit code 1.
template <typename... Args>
[[noreturn]] void runtime_error(fmt::format_string<Args...> f, Args&&... args) {
    throw Error(ErrorKind::Runtime, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace ascent
