#include "engine/tokenizer/normalizer.h"

#include <cstdlib>
#include <vector>

#include <utf8proc.h>

#include "engine/error.h"
#include "engine/tokenizer/json_fields.h"
#include "engine/tokenizer/pattern.h"
#include "engine/tokenizer/utf8.h"

namespace ascent::tok {
namespace {

class UnicodeForm final : public Normalizer {
public:
    explicit UnicodeForm(int options) : options_(options) {}
    void normalize(std::string& text) const override {
        if (text.empty()) return;
        // ASCII is invariant under every normalization form.
        bool ascii = true;
        for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
        if (ascii) return;
        utf8proc_uint8_t* out = nullptr;
        const utf8proc_ssize_t n =
            utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), static_cast<utf8proc_ssize_t>(text.size()),
                         &out, static_cast<utf8proc_option_t>(options_));
        if (n < 0) runtime_error("Unicode normalization failed: {}", utf8proc_errmsg(n));
        text.assign(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
        std::free(out);
    }

private:
    int options_;
};

class Prepend final : public Normalizer {
public:
    explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
    void normalize(std::string& text) const override {
        if (!text.empty()) text.insert(0, prefix_);
    }

private:
    std::string prefix_;
};

class Replace final : public Normalizer {
public:
    Replace(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
    void normalize(std::string& text) const override { text = pattern_.replace_all(text, content_); }

private:
    Pattern pattern_;
    std::string content_;
};

class Strip final : public Normalizer {
public:
    Strip(bool left, bool right) : left_(left), right_(right) {}
    void normalize(std::string& text) const override {
        size_t begin = 0, end = text.size();
        if (left_) {
            while (begin < end) {
                size_t i = begin;
                if (!is_white_space(next_code_point(text, i))) break;
                begin = i;
            }
        }
        if (right_) {
            while (end > begin) {
                size_t start = end - 1;
                while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
                size_t i = start;
                if (!is_white_space(next_code_point(text, i))) break;
                end = start;
            }
        }
        text = text.substr(begin, end - begin);
    }

private:
    bool left_, right_;
};

class Sequence final : public Normalizer {
public:
    explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
    void normalize(std::string& text) const override {
        for (const auto& p : parts_) p->normalize(text);
    }

private:
    std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const std::string& where) {
    if (j.is_null()) return nullptr;
    const std::string type = component_type(j, where);
    if (type == "NFC") return std::make_unique<UnicodeForm>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (type == "NFD") return std::make_unique<UnicodeForm>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
    if (type == "NFKC") return std::make_unique<UnicodeForm>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
    if (type == "NFKD") return std::make_unique<UnicodeForm>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
    if (type == "Prepend") return std::make_unique<Prepend>(required_string(j, "prepend", where + " (Prepend)"));
    if (type == "Replace") {
        const std::string w = where + " (Replace)";
        return std::make_unique<Replace>(Pattern::from_json(required(j, "pattern", w), w),
                                         required_string(j, "content", w));
    }
    if (type == "Strip") {
        const std::string w = where + " (Strip)";
        return std::make_unique<Strip>(optional_bool(j, "strip_left", true, w), optional_bool(j, "strip_right", true, w));
    }
    if (type == "Sequence") {
        const json& list = required(j, "normalizers", where + " (Sequence)");
        if (!list.is_array()) input_error("{} (Sequence): \"normalizers\" must be a list", where);
        std::vector<std::unique_ptr<Normalizer>> parts;
        for (size_t i = 0; i < list.size(); ++i) {
            auto n = make_normalizer(list[i], where + " [" + std::to_string(i) + "]");
            if (n) parts.push_back(std::move(n));
        }
        return std::make_unique<Sequence>(std::move(parts));
    }
    input_error("{}: unsupported normalizer type \"{}\"", where, type);
}

}  // namespace ascent::tok
