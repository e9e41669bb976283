#include "engine/reasoning.h"

#include <algorithm>

namespace ascent {

namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

// Length of the longest suffix of s that is a proper prefix of one of the markers: text that
// must wait for the next piece before it can be classified.
size_t partial_marker(std::string_view s, std::initializer_list<std::string_view> markers) {
    size_t keep = 0;
    for (auto m : markers)
        for (size_t k = std::min(m.size() - 1, s.size()); k > keep; --k)
            if (s.substr(s.size() - k) == m.substr(0, k)) {
                keep = k;
                break;
            }
    return keep;
}

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

}  // namespace

ReasoningFormat detect_reasoning_format(std::string_view src) {
    if (src.find("<|channel|>") != std::string_view::npos) return ReasoningFormat::Harmony;
    if (src.find("<think>") != std::string_view::npos || src.find("</think>") != std::string_view::npos)
        return ReasoningFormat::ThinkTags;
    return ReasoningFormat::None;
}

ReasoningSplitter::ReasoningSplitter(ReasoningFormat format, std::string_view prompt) : format_(format) {
    if (format_ == ReasoningFormat::ThinkTags) {
        std::string_view p = trim_right(prompt);
        if (p.ends_with(kOpen)) in_reasoning_ = true;  // the template opened the block for the model
    }
}

SplitText ReasoningSplitter::push(std::string_view piece) {
    pending_ += piece;
    return drain(false);
}

SplitText ReasoningSplitter::finish() { return drain(true); }

SplitText ReasoningSplitter::drain(bool final) {
    switch (format_) {
        case ReasoningFormat::None: {
            SplitText out{std::move(pending_), {}};
            pending_.clear();
            return out;
        }
        case ReasoningFormat::ThinkTags: return drain_think(final);
        case ReasoningFormat::Harmony: return drain_harmony(final);
    }
    return {};
}

SplitText ReasoningSplitter::drain_think(bool final) {
    SplitText out;
    for (;;) {
        if (strip_leading_ws_) {
            size_t n = 0;
            while (n < pending_.size() && (pending_[n] == '\n' || pending_[n] == ' ' || pending_[n] == '\r')) ++n;
            pending_.erase(0, n);
            if (pending_.empty() && !final) return out;
            strip_leading_ws_ = false;
        }
        if (at_start_ && !in_reasoning_) {
            // A block may open the output, possibly after blank lines.
            size_t ws = 0;
            while (ws < pending_.size() && (pending_[ws] == '\n' || pending_[ws] == ' ')) ++ws;
            std::string_view rest(pending_.data() + ws, pending_.size() - ws);
            if (rest.starts_with(kOpen)) {
                pending_.erase(0, ws + kOpen.size());
                in_reasoning_ = true;
                at_start_ = false;
                continue;
            }
            if (!final && kOpen.starts_with(rest)) return out;  // could still become <think>
            at_start_ = false;
        }
        const std::string_view marker = in_reasoning_ ? kClose : std::string_view{};
        if (in_reasoning_) {
            size_t at = pending_.find(marker);
            if (at != std::string::npos) {
                out.reasoning += pending_.substr(0, at);
                pending_.erase(0, at + marker.size());
                in_reasoning_ = false;
                strip_leading_ws_ = true;
                continue;
            }
            const size_t keep = final ? 0 : partial_marker(pending_, {kClose});
            out.reasoning += pending_.substr(0, pending_.size() - keep);
            pending_.erase(0, pending_.size() - keep);
            return out;
        }
        out.content += pending_;
        pending_.clear();
        return out;
    }
}

// Harmony: <|channel|>NAME<|message|>TEXT then <|end|>, <|return|> or <|call|>; between
// messages <|start|>ROLE. Only the text of messages is shown: analysis as reasoning, the rest
// (final, commentary) as the answer.
SplitText ReasoningSplitter::drain_harmony(bool final) {
    static constexpr std::string_view kChannel = "<|channel|>", kMessage = "<|message|>", kEnd = "<|end|>",
                                      kReturn = "<|return|>", kCall = "<|call|>", kStart = "<|start|>";
    SplitText out;
    for (;;) {
        if (channel_ == Channel::Unknown || channel_ == Channel::Header) {
            // Waiting for a header to complete: <|channel|>name ... <|message|>
            size_t msg = pending_.find(kMessage);
            if (msg == std::string::npos) {
                if (final) pending_.clear();
                return out;
            }
            std::string_view header(pending_.data(), msg);
            size_t ch = header.find(kChannel);
            std::string_view name = ch == std::string_view::npos ? std::string_view{} : header.substr(ch + kChannel.size());
            name = name.substr(0, name.find_first_of(" <"));
            channel_ = name == "analysis" ? Channel::Reasoning : Channel::Content;
            pending_.erase(0, msg + kMessage.size());
            continue;
        }
        size_t end = std::string::npos, end_len = 0;
        for (auto m : {kEnd, kReturn, kCall, kStart}) {
            size_t at = pending_.find(m);
            if (at < end) {
                end = at;
                end_len = m.size();
            }
        }
        std::string& sink = channel_ == Channel::Reasoning ? out.reasoning : out.content;
        if (end != std::string::npos) {
            sink += pending_.substr(0, end);
            pending_.erase(0, end + end_len);
            channel_ = Channel::Header;
            continue;
        }
        const size_t keep = final ? 0 : partial_marker(pending_, {kEnd, kReturn, kCall, kStart});
        sink += pending_.substr(0, pending_.size() - keep);
        pending_.erase(0, pending_.size() - keep);
        return out;
    }
}

}  // namespace ascent
