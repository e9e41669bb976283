#include "engine/tokenizer/byte_level.h"

#include "engine/tokenizer/utf8.h"

namespace ascent::tok {
namespace {

struct ByteLevelTables {
    std::array<std::string, 256> chars;  // byte -> UTF-8 of its character
    std::array<int, 324> bytes;          // code point -> byte, or -1 (all mapped code points < 324)

    ByteLevelTables() {
        bytes.fill(-1);
        int next_free = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            const int cp = printable ? b : next_free++;
            chars[b].clear();
            append_utf8(chars[b], static_cast<char32_t>(cp));
            bytes[cp] = b;
        }
    }
};

const ByteLevelTables& tables() {
    static const ByteLevelTables t;
    return t;
}

}  // namespace

const std::string& byte_level_char(unsigned char b) { return tables().chars[b]; }

void byte_level_encode(std::string_view bytes, std::string& out) {
    const auto& t = tables();
    for (char c : bytes) out += t.chars[static_cast<unsigned char>(c)];
}

void byte_level_decode(std::string_view token, std::string& out) {
    const auto& t = tables();
    const size_t start = out.size();
    size_t i = 0;
    while (i < token.size()) {
        const char32_t cp = next_code_point(token, i);
        if (cp >= t.bytes.size() || t.bytes[cp] < 0) {
            out.resize(start);
            out.append(token);
            return;
        }
        out += static_cast<char>(t.bytes[cp]);
    }
}

std::optional<unsigned char> byte_level_first_byte(std::string_view token) {
    if (token.empty()) return std::nullopt;
    size_t i = 0;
    const char32_t cp = next_code_point(token, i);
    const auto& t = tables();
    if (cp >= t.bytes.size() || t.bytes[cp] < 0) return std::nullopt;
    return static_cast<unsigned char>(t.bytes[cp]);
}

}  // namespace ascent::tok
