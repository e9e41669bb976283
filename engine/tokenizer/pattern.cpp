#include "engine/tokenizer/pattern.h"

#include <nlohmann/json.hpp>

#include "engine/error.h"

namespace ascent::tok {

Pattern Pattern::from_json(const nlohmann::json& j, const std::string& where) {
    Pattern p;
    if (j.is_object() && j.size() == 1 && j.contains("String") && j["String"].is_string()) {
        p.literal_ = j["String"].get<std::string>();
    } else if (j.is_object() && j.size() == 1 && j.contains("Regex") && j["Regex"].is_string()) {
        p.regex_.emplace(j["Regex"].get<std::string>(), where);
    } else {
        input_error("{}: pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}, got {}", where, j.dump());
    }
    return p;
}

void Pattern::find_all(std::string_view text, std::vector<Match>& out) const {
    if (regex_) {
        regex_->find_all(text, out);
        return;
    }
    if (literal_.empty()) return;
    size_t pos = 0;
    while ((pos = text.find(literal_, pos)) != std::string_view::npos) {
        out.push_back({pos, pos + literal_.size()});
        pos += literal_.size();
    }
}

std::string Pattern::replace_all(std::string_view text, std::string_view with) const {
    std::vector<Match> matches;
    find_all(text, matches);
    if (matches.empty()) return std::string(text);
    std::string out;
    out.reserve(text.size());
    size_t prev = 0;
    for (const Match& m : matches) {
        out.append(text.substr(prev, m.start - prev));
        out.append(with);
        prev = m.end;
    }
    out.append(text.substr(prev));
    return out;
}

}  // namespace ascent::tok
