#pragma once
// What happens when the user sends a line or the engine reports back, for both front ends
// (the curses TUI and the plain REPL): the conversation, its transcript, the live stats, slash
// commands. Runs on the UI thread; the engine work goes through the EngineWorker.
#include <optional>
#include <string>
#include "ui/chat_backend.h"
#include "ui/commands.h"
#include "ui/engine_worker.h"
#include "ui/stats.h"
#include "ui/stats_view.h"
#include "ui/transcript.h"

namespace ascent::ui {

class ChatController {
public:
    ChatController(EngineWorker& worker, Conversation initial);

    struct Outcome {
        bool quit = false;
        std::optional<std::string> copy;  // text for the clipboard (/copy)
    };
    // The user pressed Enter on `line`.
    Outcome submit(const std::string& line);
    // Every event the worker reported, in order.
    void handle(const EngineEvent& e);
    // Ctrl-C during a turn.
    void cancel();
    void toggle_mode();
    void set_mode(ExecMode m);
    void toggle_fold();

    bool generating() const { return generating_; }
    ExecMode requested_mode() const { return worker_.backend().requested_mode(); }
    const ModelInfo& info() const { return info_; }
    const Conversation& conversation() const { return conv_; }
    Transcript& transcript() { return transcript_; }
    LiveStats& stats() { return stats_; }
    // Text the user sent that the engine could not take (context full, cancelled before the
    // first token): the front end puts it back into the input line.
    std::optional<std::string> take_returned_input();
    // Bumped whenever the transcript changes, so front ends know to redraw or print.
    uint64_t revision() const { return revision_; }

    StatsInput stats_input(const EngineStatus& status, double now, size_t rss) const;
    // Status line text: model, backend, mode, context, activity.
    std::string status_text(const EngineStatus& status) const;
    void notice(const std::string& text, bool preformatted = false);
    void error(const std::string& text);

private:
    void start_turn();
    void run_command(const Command& c, Outcome& out);
    void rebuild_transcript();
    std::string last_answer() const;

    EngineWorker& worker_;
    ModelInfo info_;
    Conversation conv_;
    Transcript transcript_;
    LiveStats stats_;
    bool generating_ = false;
    bool resetting_ = false;
    size_t turn_first_entry_ = 0;   // transcript entries added for the running turn start here
    size_t assistant_entry_ = 0;    // the entry the answer streams into (the pad in pad mode)
    size_t pad_entry_ = static_cast<size_t>(-1);
    size_t turn_messages_ = 0;      // conversation size before the running turn's user message
    std::string pending_input_;     // the running turn's user text
    std::optional<std::string> returned_input_;
    uint64_t revision_ = 0;
};

}  // namespace ascent::ui
