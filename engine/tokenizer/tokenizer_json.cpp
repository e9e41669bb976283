#include "engine/tokenizer/tokenizer_json.h"

#include <fstream>

#include "engine/error.h"

namespace ascent::tok {

using nlohmann::json;

void RawVocab::add(std::string_view token, int64_t id) {
    entries.push_back({static_cast<uint32_t>(arena.size()), static_cast<uint32_t>(token.size()), id});
    arena.append(token);
}

void RawMerges::add(std::string_view left, std::string_view right) {
    entries.push_back({static_cast<uint32_t>(arena.size()), static_cast<uint32_t>(left.size()),
                       static_cast<uint32_t>(right.size())});
    arena.append(left);
    arena.append(right);
}

void add_merge_string(RawMerges& merges, std::string_view s, size_t rank, const std::string& where) {
    const size_t space = s.find(' ');
    if (space == std::string_view::npos || s.find(' ', space + 1) != std::string_view::npos)
        input_error("{}: merge {} \"{}\" is not two tokens separated by one space", where, rank, s);
    merges.add(s.substr(0, space), s.substr(space + 1));
}

RawVocab raw_vocab_from_json(const json& vocab, const std::string& where) {
    if (!vocab.is_object()) input_error("{}: \"vocab\" must be an object of token -> id", where);
    RawVocab raw;
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it.value().is_number_integer()) input_error("{}: vocab entry \"{}\" has no integer id", where, it.key());
        raw.add(it.key(), it.value().get<int64_t>());
    }
    return raw;
}

RawMerges raw_merges_from_json(const json& merges, const std::string& where) {
    if (!merges.is_array()) input_error("{}: \"merges\" must be a list", where);
    RawMerges raw;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const json& m = merges[rank];
        if (m.is_string()) add_merge_string(raw, m.get_ref<const std::string&>(), rank, where);
        else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
            raw.add(m[0].get_ref<const std::string&>(), m[1].get_ref<const std::string&>());
        else input_error("{}: merge {} must be \"a b\" or [\"a\", \"b\"], got {}", where, rank, m.dump());
    }
    return raw;
}

namespace {

std::string read_bytes(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) input_error("{}: file not found", path.string());
    std::ifstream in(path, std::ios::binary);
    if (!in) input_error("{}: cannot open file", path.string());
    std::string bytes;
    in.seekg(0, std::ios::end);
    bytes.resize(static_cast<size_t>(in.tellg()));
    in.seekg(0);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!in) input_error("{}: read error", path.string());
    return bytes;
}

// SAX handler: builds a tree like nlohmann's own DOM parser, except for the array/object at
// model.vocab and model.merges, whose entries go straight into RawVocab / RawMerges.
class Reader final : public nlohmann::json_sax<json> {
public:
    explicit Reader(std::string where) : where_(std::move(where)) {}

    TokenizerJson result;
    std::string error;

    bool null() override { return value(json()); }
    bool boolean(bool v) override { return value(json(v)); }
    bool number_integer(number_integer_t v) override {
        if (mode_ == Mode::Vocab && depth_in_capture_ == 1) {
            result.vocab->add(key_, v);
            return true;
        }
        return value(json(v));
    }
    bool number_unsigned(number_unsigned_t v) override {
        if (mode_ == Mode::Vocab && depth_in_capture_ == 1) {
            if (v > static_cast<number_unsigned_t>(INT64_MAX)) input_error("{}: vocab id of \"{}\" is too large", where_, key_);
            result.vocab->add(key_, static_cast<int64_t>(v));
            return true;
        }
        return value(json(v));
    }
    bool number_float(number_float_t v, const string_t&) override { return value(json(v)); }
    bool string(string_t& v) override {
        if (mode_ == Mode::Merges) {
            if (depth_in_capture_ == 1) {
                add_merge_string(*result.merges, v, result.merges->entries.size(), where_ + " (model)");
                return true;
            }
            if (depth_in_capture_ == 2) {
                pair_.push_back(std::move(v));
                return true;
            }
        }
        return value(json(std::move(v)));
    }
    bool binary(binary_t&) override { return false; }

    bool start_object(std::size_t) override {
        if (mode_ == Mode::None && at_model_field("vocab")) {
            mode_ = Mode::Vocab;
            depth_in_capture_ = 1;
            result.vocab.emplace();
            return true;
        }
        if (mode_ != Mode::None) {
            // Anything nested inside the captured field does not belong there.
            input_error("{}: unexpected object inside model.{}", where_, mode_ == Mode::Vocab ? "vocab" : "merges");
        }
        return open(json::object());
    }
    bool end_object() override {
        if (mode_ == Mode::Vocab && depth_in_capture_ == 1) {
            mode_ = Mode::None;
            depth_in_capture_ = 0;
            return true;
        }
        stack_.pop_back();
        return true;
    }
    bool start_array(std::size_t) override {
        if (mode_ == Mode::None && at_model_field("merges")) {
            mode_ = Mode::Merges;
            depth_in_capture_ = 1;
            result.merges.emplace();
            return true;
        }
        if (mode_ == Mode::Merges && depth_in_capture_ == 1) {
            depth_in_capture_ = 2;
            pair_.clear();
            return true;
        }
        if (mode_ != Mode::None)
            input_error("{}: unexpected list inside model.{}", where_, mode_ == Mode::Vocab ? "vocab" : "merges");
        return open(json::array());
    }
    bool end_array() override {
        if (mode_ == Mode::Merges && depth_in_capture_ == 2) {
            if (pair_.size() != 2)
                input_error("{}: merge {} must be a pair of strings", where_ + " (model)", result.merges->entries.size());
            result.merges->add(pair_[0], pair_[1]);
            depth_in_capture_ = 1;
            return true;
        }
        if (mode_ == Mode::Merges && depth_in_capture_ == 1) {
            mode_ = Mode::None;
            depth_in_capture_ = 0;
            return true;
        }
        stack_.pop_back();
        return true;
    }
    bool key(string_t& k) override {
        key_ = std::move(k);
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
        error = ex.what();
        return false;
    }

private:
    enum class Mode { None, Vocab, Merges };

    // The next value is the member `name` of the "model" object at the top level.
    bool at_model_field(const char* name) const {
        return stack_.size() == 2 && key_ == name && stack_[1] == model_;
    }

    json* place(json&& v) {
        if (stack_.empty()) {
            result.doc = std::move(v);
            return &result.doc;
        }
        json& parent = *stack_.back();
        if (mode_ != Mode::None) {
            input_error("{}: unexpected value inside model.{}", where_, mode_ == Mode::Vocab ? "vocab" : "merges");
        }
        if (parent.is_array()) {
            parent.push_back(std::move(v));
            return &parent.back();
        }
        json& slot = parent[key_];
        slot = std::move(v);
        return &slot;
    }
    bool value(json&& v) {
        if (mode_ == Mode::Vocab) input_error("{}: vocab entry \"{}\" has no integer id", where_, key_);
        if (mode_ == Mode::Merges) input_error("{}: merges must hold strings or pairs of strings", where_);
        place(std::move(v));
        return true;
    }
    bool open(json&& v) {
        const bool is_model = stack_.size() == 1 && key_ == "model" && v.is_object();
        json* p = place(std::move(v));
        if (is_model) model_ = p;
        stack_.push_back(p);
        return true;
    }

    std::string where_;
    std::vector<json*> stack_;
    json* model_ = nullptr;
    std::string key_;
    Mode mode_ = Mode::None;
    int depth_in_capture_ = 0;
    std::vector<std::string> pair_;
};

}  // namespace

TokenizerJson read_tokenizer_json(const std::filesystem::path& path) {
    const std::string bytes = read_bytes(path);
    Reader reader(path.string());
    if (!json::sax_parse(bytes, &reader) || !reader.error.empty())
        input_error("{}: malformed JSON: {}", path.string(), reader.error.empty() ? "parse failed" : reader.error);
    return std::move(reader.result);
}

json read_json_file(const std::filesystem::path& path) {
    const std::string bytes = read_bytes(path);
    try {
        return json::parse(bytes);
    } catch (const json::parse_error& e) {
        input_error("{}: malformed JSON: {}", path.string(), e.what());
    }
}

}  // namespace ascent::tok
