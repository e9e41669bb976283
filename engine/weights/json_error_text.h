#pragma once
// nlohmann's messages start with an internal tag ("[json.exception.parse_error.101] ");
// users need only the part that says where and what.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ascent {

inline std::string json_error_text(const nlohmann::json::exception& e) {
    std::string_view text = e.what();
    if (text.starts_with("[json.exception.")) {
        size_t end = text.find("] ");
        if (end != std::string_view::npos) text.remove_prefix(end + 2);
    }
    return std::string(text);
}

}  // namespace ascent
