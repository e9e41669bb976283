#include "engine/tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <optional>

#include "engine/error.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/json_fields.h"
#include "engine/tokenizer/pattern.h"
#include "engine/tokenizer/regex.h"

namespace ascent::tok {
namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(const std::string& s, const std::string& where) {
    if (s == "Removed") return Behavior::Removed;
    if (s == "Isolated") return Behavior::Isolated;
    if (s == "MergedWithPrevious") return Behavior::MergedWithPrevious;
    if (s == "MergedWithNext") return Behavior::MergedWithNext;
    if (s == "Contiguous") return Behavior::Contiguous;
    input_error("{}: unsupported split behavior \"{}\"", where, s);
}

struct Span {
    size_t start, end;
    bool is_match;
};

// Turns matches into spans covering the whole text, as the Hugging Face Pattern trait does.
std::vector<Span> cover(std::string_view text, const std::vector<Match>& matches, bool invert) {
    std::vector<Span> spans;
    size_t prev = 0;
    for (const Match& m : matches) {
        if (prev != m.start) spans.push_back({prev, m.start, invert});
        spans.push_back({m.start, m.end, !invert});
        prev = m.end;
    }
    if (prev != text.size()) spans.push_back({prev, text.size(), invert});
    return spans;
}

// Applies a split behavior to covering spans and appends the non-empty pieces.
void split_piece(const Piece& piece, const std::vector<Span>& spans, Behavior behavior, std::vector<Piece>& out) {
    struct Cut {
        size_t start, end;
        bool remove;
    };
    std::vector<Cut> cuts;
    switch (behavior) {
        case Behavior::Isolated:
            for (const Span& s : spans) cuts.push_back({s.start, s.end, false});
            break;
        case Behavior::Removed:
            for (const Span& s : spans) cuts.push_back({s.start, s.end, s.is_match});
            break;
        case Behavior::Contiguous: {
            bool prev_match = false;
            for (const Span& s : spans) {
                if (s.is_match == prev_match && !cuts.empty()) cuts.back().end = s.end;
                else cuts.push_back({s.start, s.end, false});
                prev_match = s.is_match;
            }
            break;
        }
        case Behavior::MergedWithPrevious: {
            bool prev_match = false;
            for (const Span& s : spans) {
                if (s.is_match && !prev_match && !cuts.empty()) cuts.back().end = s.end;
                else cuts.push_back({s.start, s.end, false});
                prev_match = s.is_match;
            }
            break;
        }
        case Behavior::MergedWithNext: {
            bool prev_match = false;
            for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
                if (it->is_match && !prev_match && !cuts.empty()) cuts.back().start = it->start;
                else cuts.push_back({it->start, it->end, false});
                prev_match = it->is_match;
            }
            std::reverse(cuts.begin(), cuts.end());
            break;
        }
    }
    for (const Cut& c : cuts) {
        if (c.remove || c.start == c.end) continue;
        out.push_back({piece.text.substr(c.start, c.end - c.start), piece.at_start && c.start == 0});
    }
}

class Split final : public PreTokenizer {
public:
    Split(Pattern pattern, Behavior behavior, bool invert)
        : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
    void pre_tokenize(std::vector<Piece>& pieces) const override {
        std::vector<Piece> out;
        std::vector<Match> matches;
        for (const Piece& p : pieces) {
            matches.clear();
            pattern_.find_all(p.text, matches);
            split_piece(p, cover(p.text, matches, invert_), behavior_, out);
        }
        pieces = std::move(out);
    }

private:
    Pattern pattern_;
    Behavior behavior_;
    bool invert_;
};

// The GPT-2 pre-tokenization regex, used by ByteLevel when "use_regex" is set.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevel final : public PreTokenizer {
public:
    ByteLevel(bool add_prefix_space, bool use_regex, const std::string& where) : add_prefix_space_(add_prefix_space) {
        if (use_regex) regex_.emplace(kGpt2Pattern, where);
    }
    void pre_tokenize(std::vector<Piece>& pieces) const override {
        std::vector<Piece> out;
        std::vector<Match> matches;
        for (Piece& p : pieces) {
            if (add_prefix_space_ && (p.text.empty() || p.text[0] != ' ')) p.text = ' ' + p.text;
            const size_t first = out.size();
            if (regex_) {
                matches.clear();
                regex_->find_all(p.text, matches);
                split_piece(p, cover(p.text, matches, false), Behavior::Isolated, out);
            } else if (!p.text.empty()) {
                out.push_back(std::move(p));
            }
            for (size_t i = first; i < out.size(); ++i) {
                std::string mapped;
                byte_level_encode(out[i].text, mapped);
                out[i].text = std::move(mapped);
            }
        }
        pieces = std::move(out);
    }
    bool byte_level() const override { return true; }

private:
    bool add_prefix_space_;
    std::optional<Regex> regex_;
};

enum class PrependScheme { Always, First, Never };

class Metaspace final : public PreTokenizer {
public:
    Metaspace(std::string replacement, PrependScheme scheme, bool split)
        : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
    void pre_tokenize(std::vector<Piece>& pieces) const override {
        std::vector<Piece> out;
        std::vector<Match> matches;
        for (Piece& p : pieces) {
            std::string text;
            text.reserve(p.text.size() + replacement_.size());
            for (char c : p.text) {
                if (c == ' ') text += replacement_;
                else text += c;
            }
            const bool starts_with_rep = text.compare(0, replacement_.size(), replacement_) == 0;
            const bool prepend = !starts_with_rep && (scheme_ == PrependScheme::Always ||
                                                      (scheme_ == PrependScheme::First && p.at_start));
            if (prepend) text.insert(0, replacement_);
            Piece piece{std::move(text), p.at_start};
            if (!split_) {
                if (!piece.text.empty()) out.push_back(std::move(piece));
                continue;
            }
            matches.clear();
            size_t pos = 0;
            while ((pos = piece.text.find(replacement_, pos)) != std::string::npos) {
                matches.push_back({pos, pos + replacement_.size()});
                pos += replacement_.size();
            }
            split_piece(piece, cover(piece.text, matches, false), Behavior::MergedWithNext, out);
        }
        pieces = std::move(out);
    }

private:
    std::string replacement_;
    PrependScheme scheme_;
    bool split_;
};

class Sequence final : public PreTokenizer {
public:
    explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
    void pre_tokenize(std::vector<Piece>& pieces) const override {
        for (const auto& p : parts_) p->pre_tokenize(pieces);
    }
    bool byte_level() const override {
        for (const auto& p : parts_)
            if (p->byte_level()) return true;
        return false;
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

PrependScheme metaspace_scheme(const json& j, const std::string& where) {
    PrependScheme scheme = PrependScheme::Always;
    if (auto s = optional_string(j, "prepend_scheme", where)) {
        if (*s == "always") scheme = PrependScheme::Always;
        else if (*s == "first") scheme = PrependScheme::First;
        else if (*s == "never") scheme = PrependScheme::Never;
        else input_error("{}: unsupported prepend_scheme \"{}\"", where, *s);
    }
    // Files written before prepend_scheme existed say add_prefix_space instead.
    if (j.contains("add_prefix_space") && !optional_bool(j, "add_prefix_space", true, where)) {
        if (j.contains("prepend_scheme") && scheme != PrependScheme::Never)
            input_error("{}: add_prefix_space false contradicts prepend_scheme", where);
        scheme = PrependScheme::Never;
    }
    return scheme;
}

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j, const std::string& where) {
    if (j.is_null()) return nullptr;
    const std::string type = component_type(j, where);
    const std::string w = where + " (" + type + ")";
    if (type == "Split") {
        return std::make_unique<Split>(Pattern::from_json(required(j, "pattern", w), w),
                                       parse_behavior(required_string(j, "behavior", w), w),
                                       optional_bool(j, "invert", false, w));
    }
    if (type == "ByteLevel")
        return std::make_unique<ByteLevel>(optional_bool(j, "add_prefix_space", true, w),
                                           optional_bool(j, "use_regex", true, w), w);
    if (type == "Metaspace")
        return std::make_unique<Metaspace>(single_char(j, "replacement", w), metaspace_scheme(j, w),
                                           optional_bool(j, "split", true, w));
    if (type == "Sequence") {
        const json& list = required(j, "pretokenizers", w);
        if (!list.is_array()) input_error("{}: \"pretokenizers\" must be a list", w);
        std::vector<std::unique_ptr<PreTokenizer>> parts;
        for (size_t i = 0; i < list.size(); ++i) {
            auto p = make_pre_tokenizer(list[i], where + " [" + std::to_string(i) + "]");
            if (p) parts.push_back(std::move(p));
        }
        return std::make_unique<Sequence>(std::move(parts));
    }
    input_error("{}: unsupported pre_tokenizer type \"{}\"", where, type);
}

}  // namespace ascent::tok
