#include "engine/tokenizer/post_processor.h"

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/tokenizer/json_fields.h"

namespace ascent::tok {

void Wrapping::apply(std::vector<int32_t>& ids, bool add_special_tokens) const {
    if (!add_special_tokens || (before.empty() && after.empty())) return;
    ids.insert(ids.begin(), before.begin(), before.end());
    ids.insert(ids.end(), after.begin(), after.end());
}

namespace {

using TokenId = std::function<std::optional<int32_t>(std::string_view)>;

// The ids a template's special-token name stands for: from "special_tokens", else the vocabulary.
std::vector<int32_t> special_ids(const json& j, const std::string& name, const std::string& where, const TokenId& token_id) {
    if (j.contains("special_tokens") && j["special_tokens"].is_object() && j["special_tokens"].contains(name)) {
        const json& entry = j["special_tokens"][name];
        const json& ids = required(entry, "ids", where + " special_tokens." + name);
        if (!ids.is_array()) input_error("{}: special_tokens.{}.ids must be a list", where, name);
        std::vector<int32_t> out;
        for (const json& id : ids) {
            if (!id.is_number_integer()) input_error("{}: special_tokens.{}.ids must hold integers", where, name);
            out.push_back(id.get<int32_t>());
        }
        return out;
    }
    auto id = token_id(name);
    if (!id) input_error("{}: template names special token \"{}\" which is not defined", where, name);
    return {*id};
}

// Applies a TemplateProcessing "single" template on top of the current wrapping.
void apply_template(const json& j, const std::string& where, const TokenId& token_id, Wrapping& w) {
    const json& single = required(j, "single", where);
    Wrapping next;
    bool seen_sequence = false;
    auto add_special = [&](const std::string& name) {
        auto ids = special_ids(j, name, where, token_id);
        auto& side = seen_sequence ? next.after : next.before;
        side.insert(side.end(), ids.begin(), ids.end());
    };
    auto add_sequence = [&](const std::string& name) {
        if (name != "A") input_error("{}: single-sequence template refers to sequence \"{}\"", where, name);
        if (seen_sequence) input_error("{}: template uses the sequence twice", where);
        seen_sequence = true;
        next.before.insert(next.before.end(), w.before.begin(), w.before.end());
        next.after.insert(next.after.end(), w.after.begin(), w.after.end());
    };
    if (single.is_string()) {
        // String form: "<s> $A </s>", pieces optionally suffixed with ":type_id".
        const std::string& s = single.get_ref<const std::string&>();
        size_t pos = 0;
        while (pos < s.size()) {
            while (pos < s.size() && s[pos] == ' ') ++pos;
            if (pos >= s.size()) break;
            size_t end = s.find(' ', pos);
            if (end == std::string::npos) end = s.size();
            std::string piece = s.substr(pos, end - pos);
            pos = end;
            if (piece[0] == '$') {
                std::string name = piece.substr(1, piece.find(':') == std::string::npos ? std::string::npos : piece.find(':') - 1);
                add_sequence(name.empty() ? "A" : name);
            } else {
                add_special(piece.substr(0, piece.rfind(':') == std::string::npos ? piece.size() : piece.rfind(':')));
            }
        }
    } else if (single.is_array()) {
        for (const json& piece : single) {
            if (piece.contains("Sequence")) add_sequence(required_string(piece["Sequence"], "id", where));
            else if (piece.contains("SpecialToken")) add_special(required_string(piece["SpecialToken"], "id", where));
            else input_error("{}: unknown template piece {}", where, piece.dump());
        }
    } else {
        input_error("{}: \"single\" must be a list or a string", where);
    }
    if (!seen_sequence) input_error("{}: single-sequence template does not contain $A", where);
    w = std::move(next);
}

void parse_into(const json& j, const std::string& where, const TokenId& token_id, Wrapping& w) {
    if (j.is_null()) return;
    const std::string type = component_type(j, where);
    const std::string wh = where + " (" + type + ")";
    if (type == "ByteLevel") return;
    if (type == "TemplateProcessing") {
        apply_template(j, wh, token_id, w);
        return;
    }
    if (type == "Sequence") {
        const json& list = required(j, "processors", wh);
        if (!list.is_array()) input_error("{}: \"processors\" must be a list", wh);
        for (size_t i = 0; i < list.size(); ++i) parse_into(list[i], where + " [" + std::to_string(i) + "]", token_id, w);
        return;
    }
    input_error("{}: unsupported post_processor type \"{}\"", where, type);
}

}  // namespace

Wrapping parse_post_processor(const json& j, const std::string& where, const TokenId& token_id) {
    Wrapping w;
    parse_into(j, where, token_id, w);
    return w;
}

}  // namespace ascent::tok
