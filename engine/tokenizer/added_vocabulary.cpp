#include "engine/tokenizer/added_vocabulary.h"

#include <algorithm>

#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/utf8.h"

namespace ascent::tok {
namespace {

// Start of the character that ends at `end` (text is valid UTF-8).
size_t char_start_before(std::string_view text, size_t end) {
    size_t i = end - 1;
    while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) --i;
    return i;
}

char32_t char_before(std::string_view text, size_t end) {
    size_t i = char_start_before(text, end);
    return next_code_point(text, i);
}

char32_t char_at(std::string_view text, size_t pos) { return next_code_point(text, pos); }

// Where the run of whitespace that ends at `end` begins.
size_t whitespace_run_start(std::string_view text, size_t end) {
    while (end > 0) {
        const size_t start = char_start_before(text, end);
        size_t i = start;
        if (!is_white_space(next_code_point(text, i))) break;
        end = start;
    }
    return end;
}

// Where the run of whitespace that begins at `pos` ends.
size_t whitespace_run_end(std::string_view text, size_t pos) {
    while (pos < text.size()) {
        size_t i = pos;
        if (!is_white_space(next_code_point(text, i))) break;
        pos = i;
    }
    return pos;
}

}  // namespace

void AddedVocabulary::Trie::insert(std::string_view s, int32_t token) {
    int32_t node = 0;
    for (char c : s) {
        const auto b = static_cast<unsigned char>(c);
        auto& kids = nodes[node].children;
        auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, INT32_MIN));
        if (it != kids.end() && it->first == b) {
            node = it->second;
        } else {
            const auto fresh = static_cast<int32_t>(nodes.size());
            kids.insert(it, {b, fresh});
            nodes.emplace_back();
            node = fresh;
        }
    }
    nodes[node].token = token;
    if (!s.empty()) first_byte[static_cast<unsigned char>(s[0])] = true;
}

std::pair<int32_t, size_t> AddedVocabulary::Trie::longest_at(std::string_view text, size_t pos) const {
    std::pair<int32_t, size_t> best{-1, 0};
    int32_t node = 0;
    for (size_t i = pos; i < text.size(); ++i) {
        const auto b = static_cast<unsigned char>(text[i]);
        const auto& kids = nodes[node].children;
        auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, INT32_MIN));
        if (it == kids.end() || it->first != b) break;
        node = it->second;
        if (nodes[node].token >= 0) best = {nodes[node].token, i + 1 - pos};
    }
    return best;
}

void AddedVocabulary::add(const AddedToken& token) {
    if (token.content.empty()) return;
    auto existing = by_id_.find(token.id);
    if (existing != by_id_.end()) {
        by_content_.erase(tokens_[existing->second].content);
        tokens_[existing->second] = token;
    } else {
        by_id_[token.id] = tokens_.size();
        tokens_.push_back(token);
    }
    by_content_[token.content] = token.id;
    if (token.special) special_contents_.insert(token.content);
}

void AddedVocabulary::finalize(const Normalizer* normalizer) {
    raw_trie_ = Trie{};
    normalized_trie_ = Trie{};
    for (size_t i = 0; i < tokens_.size(); ++i) {
        const AddedToken& t = tokens_[i];
        if (!t.normalized) {
            raw_trie_.insert(t.content, static_cast<int32_t>(i));
            continue;
        }
        std::string spelled = t.content;
        if (normalizer) normalizer->normalize(spelled);
        normalized_trie_.insert(spelled, static_cast<int32_t>(i));
    }
}

void AddedVocabulary::split(std::string_view text, const Trie& trie, bool parse_special, bool at_start,
                            std::vector<Segment>& out) const {
    auto emit_text = [&](size_t begin, size_t end) {
        if (end > begin) out.push_back({std::string(text.substr(begin, end - begin)), std::nullopt, at_start && begin == 0});
    };
    size_t start_offset = 0;  // end of what has been emitted
    size_t pos = 0;           // where the matcher resumes: after the previous match, whitespace aside
    while (pos < text.size()) {
        if (!trie.first_byte[static_cast<unsigned char>(text[pos])]) {
            ++pos;
            continue;
        }
        const auto [index, len] = trie.longest_at(text, pos);
        if (index < 0) {
            ++pos;
            continue;
        }
        size_t start = pos, stop = pos + len;
        pos = stop;
        const AddedToken& t = tokens_[index];
        if (!parse_special && t.special) continue;
        if (t.single_word) {
            const bool space_before = start == 0 || !is_word_char(char_before(text, start));
            const bool space_after = stop == text.size() || !is_word_char(char_at(text, stop));
            if (!space_before || !space_after) continue;
        }
        if (t.lstrip) start = std::max(whitespace_run_start(text, start), start_offset);
        if (t.rstrip) stop = whitespace_run_end(text, stop);
        emit_text(start_offset, start);
        out.push_back({std::string(text.substr(start, stop - start)), t.id, at_start && start == 0});
        start_offset = stop;
    }
    emit_text(start_offset, text.size());
}

std::vector<Segment> AddedVocabulary::extract(std::string_view text, const Normalizer* normalizer,
                                              bool parse_special) const {
    std::vector<Segment> raw;
    split(text, raw_trie_, parse_special, true, raw);
    std::vector<Segment> out;
    out.reserve(raw.size());
    for (Segment& seg : raw) {
        if (seg.id) {
            out.push_back(std::move(seg));
            continue;
        }
        if (normalizer) normalizer->normalize(seg.text);
        split(seg.text, normalized_trie_, parse_special, seg.at_start, out);
    }
    return out;
}

const AddedToken* AddedVocabulary::find(int32_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int32_t> AddedVocabulary::find(std::string_view content) const {
    auto it = by_content_.find(std::string(content));
    if (it == by_content_.end()) return std::nullopt;
    return it->second;
}

bool AddedVocabulary::is_special_content(std::string_view content) const {
    return special_contents_.count(std::string(content)) > 0;
}

int32_t AddedVocabulary::max_id() const {
    int32_t m = -1;
    for (const AddedToken& t : tokens_) m = std::max(m, t.id);
    return m;
}

}  // namespace ascent::tok
