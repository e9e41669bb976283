#include <algorithm>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace ascent {
namespace {

// How many prompt ids give enough context to decode what follows them.
constexpr size_t kPrefixContext = 64;
// A window only grows while its tokens decode to nothing (skipped special tokens, a lone space
// the decoder strips); past this many ids it is cut regardless.
constexpr size_t kMaxWindow = 256;

// The part of `full` after `anchor`. They agree on the anchor for every supported decoder; if a
// decoder ever rewrote earlier text, emit from the first difference (on a character boundary).
std::string after_anchor(const std::string& full, const std::string& anchor) {
    if (full.compare(0, anchor.size(), anchor) == 0) return full.substr(anchor.size());
    size_t common = 0;
    while (common < full.size() && common < anchor.size() && full[common] == anchor[common]) ++common;
    while (common > 0 && (static_cast<unsigned char>(full[common]) & 0xC0) == 0x80) --common;
    return full.substr(common);
}

}  // namespace

StreamingDecoder::StreamingDecoder(const Tokenizer& tok, std::vector<int32_t> prefix_ids, bool skip_special)
    : tok_(&tok), skip_special_(skip_special) {
    size_t start = prefix_ids.size() > kPrefixContext ? prefix_ids.size() - kPrefixContext : 0;
    while (start > 0 && !tok.is_clean_start(prefix_ids, start)) --start;
    window_.assign(prefix_ids.begin() + static_cast<std::ptrdiff_t>(start), prefix_ids.end());
    // The anchor is the longest part of the window whose text is final; a prefix that ends inside
    // a character leaves its last ids pending, so the character is emitted once it completes.
    for (size_t len = window_.size();; --len) {
        const auto d = tok.decode_detailed(std::span(window_).first(len), skip_special);
        if (len == 0 || (!d.unstable_tail && (start == 0 || !d.text.empty()))) {
            anchor_len_ = len;
            anchor_text_ = d.text;
            break;
        }
    }
}

std::string StreamingDecoder::push(int32_t id) {
    window_.push_back(id);
    const auto d = tok_->decode_detailed(window_, skip_special_);
    if (d.unstable_tail) return {};
    return emit(d.text);
}

std::string StreamingDecoder::emit(std::string text) {
    std::string out = after_anchor(text, anchor_text_);
    // The ids since the anchor end on a text boundary now and become the next anchor, unless they
    // decode to nothing on their own: then they cannot stand in for the text before them.
    const std::span pending = std::span(window_).subspan(anchor_len_);
    const auto p = tok_->decode_detailed(pending, skip_special_);
    if ((!p.text.empty() && !p.unstable_tail) || window_.size() > kMaxWindow) {
        window_.erase(window_.begin(), window_.begin() + static_cast<std::ptrdiff_t>(anchor_len_));
        anchor_text_ = p.text;
    } else {
        anchor_text_ = std::move(text);
    }
    anchor_len_ = window_.size();
    return out;
}

std::string StreamingDecoder::finish() {
    if (anchor_len_ == window_.size()) return {};
    return emit(tok_->decode_detailed(window_, skip_special_).text);
}

}  // namespace ascent
