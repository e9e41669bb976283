#pragma once
// Separates a chat model's reasoning from its answer while text streams: `<think>...</think>`
// (Qwen3, DeepSeek-R1, QwQ; also when the template opened the block in the prompt) and the
// harmony channels of gpt-oss (analysis -> reasoning, final -> answer).
#include <string>
#include <string_view>

namespace ascent {

enum class ReasoningFormat { None, ThinkTags, Harmony };

// From the template source: which convention its model follows.
ReasoningFormat detect_reasoning_format(std::string_view template_source);

struct SplitText {
    std::string content;
    std::string reasoning;
};

class ReasoningSplitter {
public:
    // `prompt` is the rendered prompt: a template that ends it inside an open <think> block
    // makes the model's first words reasoning.
    ReasoningSplitter(ReasoningFormat format, std::string_view prompt);
    // Text as it is generated (for Harmony, decoded with special tokens kept).
    SplitText push(std::string_view piece);
    SplitText finish();
    // Harmony output carries special markers: decode it with special tokens kept.
    bool needs_special_tokens() const { return format_ == ReasoningFormat::Harmony; }

private:
    SplitText drain(bool final);
    SplitText drain_think(bool final);
    SplitText drain_harmony(bool final);

    ReasoningFormat format_;
    std::string pending_;
    bool in_reasoning_ = false;
    bool at_start_ = true;          // nothing emitted yet (a leading <think> may still come)
    bool strip_leading_ws_ = false; // right after </think>, the answer's leading blank lines go
    enum class Channel { Unknown, Reasoning, Content, Header } channel_ = Channel::Unknown;
};

}  // namespace ascent
