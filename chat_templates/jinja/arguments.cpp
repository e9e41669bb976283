#include <algorithm>

#include "chat_templates/jinja/builtins.h"

namespace ascent::templates::jinja {

ArgBinder::ArgBinder(std::string_view function, CallArgs& args, std::initializer_list<std::string_view> params,
                     std::size_t required) {
    std::vector<std::string_view> names(params);
    bound_.resize(names.size());
    std::string fn(function);
    if (args.positional.size() > names.size())
        fail(fn + "() takes at most " + std::to_string(names.size()) + " argument(s) (" +
             std::to_string(args.positional.size()) + " given)");
    for (std::size_t i = 0; i < args.positional.size(); ++i) bound_[i] = args.positional[i];
    for (auto& [name, value] : args.named) {
        auto it = std::find(names.begin(), names.end(), name);
        if (it == names.end()) fail(fn + "() got an unexpected keyword argument '" + name + "'");
        auto index = static_cast<std::size_t>(it - names.begin());
        if (bound_[index]) fail(fn + "() got multiple values for argument '" + name + "'");
        bound_[index] = value;
    }
    for (std::size_t i = 0; i < required; ++i)
        if (!bound_[i]) fail(fn + "() missing required argument '" + std::string(names[i]) + "'");
}

std::int64_t expect_int(const Value& v, std::string_view what) {
    if (v.is_integral()) return v.as_int();
    if (v.is_undefined()) fail_undefined(v);
    fail(std::string(what) + ": '" + type_name(v) + "' object cannot be interpreted as an integer");
}

const std::string& expect_string(const Value& v, std::string_view what) {
    if (v.is_string()) return v.str();
    if (v.is_undefined()) fail_undefined(v);
    fail(std::string(what) + " must be str, not " + type_name(v));
}

}  // namespace ascent::templates::jinja
