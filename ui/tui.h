#pragma once
// The full-screen chat: chat pane, live stats pane, readline input, status line.
#include <filesystem>
#include "ui/chat_backend.h"
#include "ui/conversation.h"

namespace ascent::ui {

struct TuiOptions {
    std::filesystem::path history_file;  // empty: no history file
    bool show_stats = true;
};

// Runs until the user quits; returns the process exit code. Needs a terminal on stdin and
// stdout; throws ascent::Error when curses cannot drive it.
int run_tui(ChatBackend& backend, const Conversation& initial, const TuiOptions& options);

// Makes the C library and curses speak UTF-8: the user's locale when it is a UTF-8 one, else
// C.UTF-8 (terminals are UTF-8 today; an unset LANG over ssh should not garble the screen).
void use_utf8_locale();

}  // namespace ascent::ui
