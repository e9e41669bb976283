#pragma once
// GPT-2's reversible byte <-> character mapping used by byte-level BPE vocabularies: printable
// Latin-1 bytes stand for themselves, the other 68 bytes are moved to U+0100.. so that every
// vocabulary entry is printable text (a space becomes "Ġ", a newline "Ċ").
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace ascent::tok {

// The UTF-8 text of the character that stands for byte b.
const std::string& byte_level_char(unsigned char b);

// Appends the byte-level form of raw bytes.
void byte_level_encode(std::string_view bytes, std::string& out);

// Appends the raw bytes a byte-level token stands for. A token holding a character outside the
// mapping (an added token such as "<|im_start|>" written with plain characters is fine, but e.g.
// " " is not) is copied as it is, the way the Hugging Face ByteLevel decoder does.
void byte_level_decode(std::string_view token, std::string& out);

// The byte the first character of a byte-level token stands for, if it is in the mapping.
std::optional<unsigned char> byte_level_first_byte(std::string_view token);

}  // namespace ascent::tok
