#pragma once
// `ascent chat --plain`: a line-oriented REPL for dumb terminals, serial consoles and scripts.
// Same conversation, commands and engine thread as the TUI; output is a plain stream.
#include <filesystem>
#include "ui/chat_backend.h"
#include "ui/conversation.h"

namespace ascent::ui {

struct PlainOptions {
    std::filesystem::path history_file;  // used when stdin is a terminal
};

int run_plain(ChatBackend& backend, const Conversation& initial, const PlainOptions& options);

}  // namespace ascent::ui
