#include "chat_templates/jinja/template.h"

#include "chat_templates/jinja/interpreter.h"
#include "chat_templates/jinja/parser.h"

namespace ascent::templates {

namespace {

std::string located(const std::string& message, const std::string& name, SourcePos pos) {
    std::string prefix = name;
    if (pos.line) {
        if (!prefix.empty()) prefix += ':';
        prefix += std::to_string(pos.line) + ":" + std::to_string(pos.column);
    }
    return prefix.empty() ? message : prefix + ": " + message;
}

}  // namespace

TemplateError::TemplateError(Kind kind, std::string message, std::string template_name, SourcePos pos)
    : std::runtime_error(located(message, template_name, pos)),
      kind_(kind),
      message_(std::move(message)),
      template_name_(std::move(template_name)),
      pos_(pos) {}

struct Template::Compiled {
    std::string name;
    std::string source;
    jinja::Program program;
};

Template Template::parse(std::string source, std::string name) {
    auto compiled = std::make_shared<Compiled>();
    compiled->name = std::move(name);
    compiled->source = std::move(source);
    compiled->program = jinja::parse_template(compiled->source, compiled->name);
    return Template(std::move(compiled));
}

std::string Template::render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
    jinja::Interpreter interpreter(compiled_->program, compiled_->name, options);
    return interpreter.render(context);
}

const std::string& Template::name() const { return compiled_->name; }
const std::string& Template::source() const { return compiled_->source; }

}  // namespace ascent::templates
