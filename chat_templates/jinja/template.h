#pragma once
// A chat template compiled once and rendered many times, byte-for-byte as
// transformers renders it with Jinja2 (trim_blocks, lstrip_blocks, loop controls,
// no autoescaping, its tojson/raise_exception/strftime_now, immutable sandbox).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "chat_templates/jinja/error.h"

namespace ascent::templates {

// Safety limits; a template that exceeds one fails with TemplateError::Kind::Limit.
// The defaults are far above what any real chat template needs.
struct RenderLimits {
    std::size_t max_output_bytes = std::size_t{64} << 20;  // also caps any single string or list built
    std::uint64_t max_loop_iterations = 5'000'000;         // all for-loop iterations of one render
    int max_call_depth = 100;                              // nested macro calls and recursive loops
};

struct RenderOptions {
    // Fixes what strftime_now() sees, formatted as UTC wall-clock time; without it the
    // current local time is used, as transformers does.
    std::optional<std::chrono::system_clock::time_point> now;
    RenderLimits limits;
};

class Template {
public:
    // Parses `source`; `name` (e.g. the file path) prefixes error messages.
    // Throws TemplateError (Kind::Syntax) with the line and column of the problem.
    static Template parse(std::string source, std::string name);

    // Renders with the variables of `context` (a JSON object; key order is kept, as Python
    // dicts keep it). Throws TemplateError on failure, including raise_exception().
    std::string render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;

    const std::string& name() const;
    const std::string& source() const;

private:
    struct Compiled;
    explicit Template(std::shared_ptr<const Compiled> compiled) : compiled_(std::move(compiled)) {}
    std::shared_ptr<const Compiled> compiled_;
};

}  // namespace ascent::templates
