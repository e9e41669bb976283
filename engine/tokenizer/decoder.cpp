#include "engine/tokenizer/decoder.h"

#include "engine/error.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/json_fields.h"
#include "engine/tokenizer/pattern.h"
#include "engine/tokenizer/utf8.h"

namespace ascent::tok {

bool parse_byte_token(std::string_view t, unsigned char& byte) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return false;
    unsigned value = 0;
    for (size_t i = 3; i < 5; ++i) {
        const char c = t[i];
        unsigned d;
        if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
        else return false;
        value = value * 16 + d;
    }
    byte = static_cast<unsigned char>(value);
    return true;
}

namespace {

class ByteLevel final : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens, DecodeState& state) const override {
        std::string bytes;
        for (const std::string& t : tokens) byte_level_decode(t, bytes);
        if (incomplete_utf8_tail(bytes) > 0) state.unstable_tail = true;
        tokens.assign(1, utf8_lossy(bytes));
    }
    bool byte_level() const override { return true; }
};

class Metaspace final : public Decoder {
public:
    Metaspace(std::string replacement, bool strip_first) : replacement_(std::move(replacement)), strip_first_(strip_first) {}
    void decode_chain(std::vector<std::string>& tokens, DecodeState&) const override {
        for (size_t i = 0; i < tokens.size(); ++i) {
            const std::string& t = tokens[i];
            std::string out;
            out.reserve(t.size());
            size_t pos = 0;
            while (pos < t.size()) {
                if (t.compare(pos, replacement_.size(), replacement_) == 0) {
                    if (!(i == 0 && strip_first_)) out += ' ';
                    pos += replacement_.size();
                } else {
                    out += t[pos++];
                }
            }
            tokens[i] = std::move(out);
        }
    }

private:
    std::string replacement_;
    bool strip_first_;
};

class Replace final : public Decoder {
public:
    Replace(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
    void decode_chain(std::vector<std::string>& tokens, DecodeState&) const override {
        for (std::string& t : tokens) t = pattern_.replace_all(t, content_);
    }

private:
    Pattern pattern_;
    std::string content_;
};

class ByteFallback final : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens, DecodeState& state) const override {
        std::vector<std::string> out;
        out.reserve(tokens.size());
        std::string run;  // bytes of consecutive <0xHH> tokens
        size_t run_tokens = 0;
        auto flush = [&] {
            if (run_tokens == 0) return;
            // A run that is not valid UTF-8 as a whole gives one U+FFFD per byte token.
            if (find_invalid_utf8(run) == std::string::npos) {
                out.push_back(run);
            } else {
                for (size_t k = 0; k < run_tokens; ++k) out.emplace_back(kReplacementChar);
            }
            run.clear();
            run_tokens = 0;
        };
        for (std::string& t : tokens) {
            unsigned char b;
            if (parse_byte_token(t, b)) {
                run += static_cast<char>(b);
                ++run_tokens;
            } else {
                flush();
                out.push_back(std::move(t));
            }
        }
        if (run_tokens > 0) state.unstable_tail = true;
        flush();
        tokens = std::move(out);
    }
    bool byte_fallback() const override { return true; }
};

class Fuse final : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens, DecodeState&) const override {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens.assign(1, std::move(all));
    }
};

class Strip final : public Decoder {
public:
    Strip(std::string content, size_t start, size_t stop) : content_(std::move(content)), start_(start), stop_(stop) {}
    void decode_chain(std::vector<std::string>& tokens, DecodeState& state) const override {
        const size_t n = content_.size();
        for (std::string& t : tokens) {
            size_t begin = 0;
            for (size_t k = 0; k < start_ && t.compare(begin, n, content_) == 0; ++k) begin += n;
            size_t end = t.size();
            for (size_t k = 0; k < stop_ && end >= begin + n && t.compare(end - n, n, content_) == 0; ++k) end -= n;
            t = t.substr(begin, end - begin);
        }
        if (stop_ > 0 && !tokens.empty()) state.unstable_tail = true;
    }

private:
    std::string content_;
    size_t start_, stop_;
};

class Sequence final : public Decoder {
public:
    explicit Sequence(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
    void decode_chain(std::vector<std::string>& tokens, DecodeState& state) const override {
        for (const auto& p : parts_) p->decode_chain(tokens, state);
    }
    bool byte_level() const override {
        for (const auto& p : parts_)
            if (p->byte_level()) return true;
        return false;
    }
    bool byte_fallback() const override {
        for (const auto& p : parts_)
            if (p->byte_fallback()) return true;
        return false;
    }

private:
    std::vector<std::unique_ptr<Decoder>> parts_;
};

size_t non_negative(const json& j, const char* key, const std::string& where) {
    const int64_t v = optional_int(j, key, 0, where);
    if (v < 0) input_error("{}: \"{}\" must not be negative", where, key);
    return static_cast<size_t>(v);
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const std::string& where) {
    if (j.is_null()) return nullptr;
    const std::string type = component_type(j, where);
    const std::string w = where + " (" + type + ")";
    if (type == "ByteLevel") return std::make_unique<ByteLevel>();
    if (type == "Metaspace") {
        // The leading replacement of the first token is dropped unless prepend_scheme is "never"
        // (older files: add_prefix_space false).
        bool strip_first = true;
        if (auto s = optional_string(j, "prepend_scheme", w)) {
            if (*s != "always" && *s != "first" && *s != "never") input_error("{}: unsupported prepend_scheme \"{}\"", w, *s);
            strip_first = *s != "never";
        }
        if (j.contains("add_prefix_space") && !optional_bool(j, "add_prefix_space", true, w)) strip_first = false;
        return std::make_unique<Metaspace>(single_char(j, "replacement", w), strip_first);
    }
    if (type == "Replace")
        return std::make_unique<Replace>(Pattern::from_json(required(j, "pattern", w), w), required_string(j, "content", w));
    if (type == "ByteFallback") return std::make_unique<ByteFallback>();
    if (type == "Fuse") return std::make_unique<Fuse>();
    if (type == "Strip")
        return std::make_unique<Strip>(single_char(j, "content", w), non_negative(j, "start", w), non_negative(j, "stop", w));
    if (type == "Sequence") {
        const json& list = required(j, "decoders", w);
        if (!list.is_array()) input_error("{}: \"decoders\" must be a list", w);
        std::vector<std::unique_ptr<Decoder>> parts;
        for (size_t i = 0; i < list.size(); ++i) {
            auto d = make_decoder(list[i], where + " [" + std::to_string(i) + "]");
            if (d) parts.push_back(std::move(d));
        }
        return std::make_unique<Sequence>(std::move(parts));
    }
    input_error("{}: unsupported decoder type \"{}\"", where, type);
}

}  // namespace ascent::tok
