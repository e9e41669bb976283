#pragma once
// Slash commands typed in the input line, shared by the TUI and the plain REPL.
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>
#include "ui/conversation.h"

namespace ascent::ui {

enum class CommandKind { Help, Clear, System, Set, Mode, Stats, Save, Load, Regen, Copy, Quit };

struct Command {
    CommandKind kind = CommandKind::Help;
    std::string arg;    // /system TEXT, /mode NAME, /save FILE, /load FILE; /set: the key
    std::string value;  // /set: the value
};

struct CommandError {
    std::string message;
};

// nullopt: not a command, send the line as a message. A line starting with "//" is a message
// that starts with "/" (one slash removed by message_text). Commands are case-sensitive, their
// argument is the rest of the line with surrounding blanks trimmed.
std::optional<std::variant<Command, CommandError>> parse_command(std::string_view line);
std::string message_text(std::string_view line);

// /set KEY VALUE: temperature, top_p, top_k, min_p, max_tokens, seed ("random" clears it).
// Returns an error message, or nullopt after changing `s`.
std::optional<std::string> apply_setting(GenerationSettings& s, const std::string& key, const std::string& value);
std::string describe_settings(const GenerationSettings& s);

// Every key and command, one per line.
std::vector<std::string> help_lines(bool chat_model);

// Names for Tab completion ("/help", "/set temperature", ...).
std::vector<std::string> completion_candidates();

}  // namespace ascent::ui
