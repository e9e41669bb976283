#pragma once
// The one exception type of the template renderer. The app maps it to exit code 2:
// a template is input the user (or the model folder) gave us.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ascent::templates {

// 1-based line and column (in code points) of a place in the template source; 0 = unknown.
struct SourcePos {
    std::uint32_t line = 0;
    std::uint32_t column = 0;
};

class TemplateError : public std::runtime_error {
public:
    enum class Kind {
        Syntax,  // the template could not be parsed
        Render,  // an operation failed while rendering (type error, undefined, ...)
        Raised,  // the template called raise_exception(message)
        Limit,   // a safety limit (output size, loop iterations, recursion depth) was hit
        Source,  // the template could not be found or read
    };

    TemplateError(Kind kind, std::string message, std::string template_name = {}, SourcePos pos = {});

    Kind kind() const { return kind_; }
    // The bare message, without the "name:line:col: " prefix that what() carries.
    const std::string& message() const { return message_; }
    const std::string& template_name() const { return template_name_; }
    SourcePos position() const { return pos_; }

private:
    Kind kind_;
    std::string message_;
    std::string template_name_;
    SourcePos pos_;
};

}  // namespace ascent::templates
