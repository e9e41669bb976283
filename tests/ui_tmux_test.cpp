// The chat TUI end to end: the real binary in a tmux pane (tmux provides the terminal CI lacks),
// driven with send-keys and read back with capture-pane. Each test has its own tmux server on a
// private socket and kills it at the end; waits poll the screen against a deadline.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/support/run_process.h"
#include "tests/support/tiny_model.h"

using namespace ascent::test;
namespace fs = std::filesystem;

namespace {

// Runs a program and returns what it printed (stdout and stderr); status receives its exit code.
std::string run(const std::vector<std::string>& args, int* status = nullptr) {
    int out[2];
    if (pipe(out) != 0) return {};
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(out[1], 2);
        close(out[0]);
        close(out[1]);
        std::vector<char*> argv;
        std::vector<std::string> copy = args;
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        _exit(127);
    }
    close(out[1]);
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    close(out[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return text;
}

std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

fs::path qwen3_tiny() {
    static const fs::path dir = qwen3_tiny_chat_model("ui_tmux_qwen3");
    return dir;
}

constexpr const char* kExitMarker = "[ascent exited with ";

// One ascent process in a detached tmux session of its own.
class Pane {
public:
    Pane(int cols, int rows, const std::vector<std::string>& ascent_args) {
        static std::atomic<int> counter{0};
        socket_ = "ascent-ui-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
        state_ = test_tmp(socket_);
        // A shell waits for ascent and prints its exit code (tmux itself can miss the exit of a
        // process that was ptraced at exit, as LeakSanitizer does in sanitizer builds).
        std::string cmd = "env TERM=xterm-256color LANG=C.UTF-8 LC_ALL= XDG_STATE_HOME=" + quote(state_.string()) + " " +
                          quote(ASCENT_BINARY);
        for (const auto& a : ascent_args) {
            cmd += ' ';
            cmd += quote(a);
        }
        cmd += "; echo \"" + std::string(kExitMarker) + "$?]\"; sleep 600";
        int status = 0;
        const std::string out = tmux({"-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", std::to_string(cols), "-y",
                                      std::to_string(rows), cmd, ";", "set-option", "-s", "set-clipboard", "on"},
                                     &status);
        EXPECT_EQ(status, 0) << "tmux could not start (is the tmux package installed?): " << out;
    }
    ~Pane() {
        std::string socket = tmux({"display-message", "-p", "#{socket_path}"});
        while (!socket.empty() && socket.back() == '\n') socket.pop_back();
        tmux({"kill-server"});
        std::error_code ec;
        if (!socket.empty()) fs::remove(socket, ec);  // tmux leaves the socket file behind
    }

    std::string tmux(std::vector<std::string> args, int* status = nullptr) const {
        args.insert(args.begin(), {"tmux", "-L", socket_});
        return run(args, status);
    }
    void keys(const std::vector<std::string>& keys) const {
        std::vector<std::string> a{"send-keys", "-t", "t"};
        a.insert(a.end(), keys.begin(), keys.end());
        tmux(a);
    }
    void type(const std::string& text) const { tmux({"send-keys", "-t", "t", "-l", text}); }
    void resize(int cols, int rows) const {
        tmux({"resize-window", "-t", "t", "-x", std::to_string(cols), "-y", std::to_string(rows)});
    }
    std::string screen() const { return tmux({"capture-pane", "-p", "-t", "t"}); }
    bool exited() const { return screen().find(kExitMarker) != std::string::npos; }
    int exit_status() const {
        const std::string s = screen();
        const size_t at = s.find(kExitMarker);
        if (at == std::string::npos) return -1;
        return std::stoi(s.substr(at + std::string(kExitMarker).size()));
    }
    const fs::path& state_dir() const { return state_; }

    // Polls the screen until `ok` holds; on timeout the test fails showing the last screen.
    bool wait_for(const std::function<bool(const std::string&)>& ok, const std::string& what, double seconds = 20) const {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        std::string s;
        while (std::chrono::steady_clock::now() < deadline) {
            s = screen();
            if (ok(s)) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ADD_FAILURE() << "timed out waiting for " << what << "; the screen was:\n" << s;
        return false;
    }
    bool wait_for_text(const std::string& text, double seconds = 20) const {
        return wait_for([&](const std::string& s) { return s.find(text) != std::string::npos; }, "\"" + text + "\"", seconds);
    }

private:
    std::string socket_;
    fs::path state_;
};

// The first number after `label` on the screen, e.g. number_after(s, "decode") = 3373; -1 if none.
double number_after(const std::string& screen, const std::string& label) {
    for (size_t at = screen.find(label); at != std::string::npos; at = screen.find(label, at + 1)) {
        size_t i = at + label.size();
        if (i >= screen.size() || screen[i] != ' ') continue;
        while (i < screen.size() && screen[i] == ' ') ++i;
        size_t j = i;
        while (j < screen.size() && (std::isdigit(static_cast<unsigned char>(screen[j])) || screen[j] == '.')) ++j;
        if (j > i && std::isdigit(static_cast<unsigned char>(screen[i]))) return std::stod(screen.substr(i, j - i));
    }
    return -1;
}

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < s.size()) {
        size_t nl = s.find('\n', pos);
        if (nl == std::string::npos) nl = s.size();
        out.push_back(s.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return out;
}

std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

bool whole_number(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The stats pane's row for turn n ("│  2    40  7.02 ms   359.8 graph") as its words after the
// bar: {"2", "40", "7.02", "ms", "359.8", "graph"}.
std::optional<std::vector<std::string>> turn_row(const std::string& screen, int n) {
    for (const auto& line : lines_of(screen)) {
        const size_t bar = line.rfind("│");
        if (bar == std::string::npos) continue;
        const auto w = words(line.substr(bar + std::string("│").size()));
        if (w.size() == 6 && w[0] == std::to_string(n) && whole_number(w[1]) && (w[3] == "ms" || w[3] == "s")) return w;
    }
    return std::nullopt;
}

}  // namespace

TEST(UiTmux, BareAscentOnATerminalIsTheChatAndStreamsTheDemoModel) {
    Pane p(120, 35, {});  // no subcommand: stdin and stdout are the pane's terminal
    ASSERT_TRUE(p.wait_for_text("completion pad"));
    EXPECT_NE(p.screen().find("stories260K"), std::string::npos);
    p.type("Once upon a time");
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for([](const std::string& s) { return turn_row(s, 1).has_value(); }, "the first turn's stats row"));
    const std::string s = p.screen();
    EXPECT_NE(s.find("Once upon a time"), std::string::npos) << s;
    EXPECT_GT(number_after(s, "decode"), 0) << s;
    EXPECT_GT(number_after(s, "TTFT"), 0) << s;
    EXPECT_GT(number_after(s, "prefill"), 0) << s;
    EXPECT_NE(s.find("Memory (RAM)"), std::string::npos) << s;
    EXPECT_GT(number_after(s, "out"), 0) << s;  // the model continued the typed text
    // History is kept under $XDG_STATE_HOME.
    p.keys({"C-d"});
    ASSERT_TRUE(p.wait_for([&](const std::string&) { return p.exited(); }, "ascent to exit"));
    EXPECT_EQ(p.exit_status(), 0);
    std::ifstream history(p.state_dir() / "ascent/history");
    std::string h((std::istreambuf_iterator<char>(history)), std::istreambuf_iterator<char>());
    EXPECT_NE(h.find("Once upon a time"), std::string::npos) << h;
}

TEST(UiTmux, F2FlipsTheModeAndTheNextTurnRunsInIt) {
    Pane p(120, 35, {"chat", "-m", qwen3_tiny().string(), "-n", "24"});
    ASSERT_TRUE(p.wait_for_text("F1 help"));
    EXPECT_NE(p.screen().find("│ eager │"), std::string::npos) << p.screen();
    p.type("Hello!");
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for([](const std::string& s) { return turn_row(s, 1).has_value(); }, "turn 1"));
    EXPECT_EQ(turn_row(p.screen(), 1)->back(), "eager");
    EXPECT_NE(p.screen().find("You"), std::string::npos);
    EXPECT_NE(p.screen().find("Assistant  24 tok"), std::string::npos) << p.screen();
    p.keys({"F2"});
    ASSERT_TRUE(p.wait_for_text("eager→graph (next token)"));
    p.type("Again");
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for([](const std::string& s) { return turn_row(s, 2).has_value(); }, "turn 2"));
    const std::string s = p.screen();
    EXPECT_EQ(turn_row(s, 2)->back(), "graph") << s;
    EXPECT_EQ(turn_row(s, 1)->back(), "eager") << s;
    EXPECT_NE(s.find("│ graph │"), std::string::npos) << s;
    EXPECT_NE(s.find("nodes"), std::string::npos) << s;  // graph capture figures appear
    EXPECT_GT(number_after(s, "reused"), 0) << s;        // turn 2 kept turn 1 in the KV cache
}

TEST(UiTmux, CtrlCStopsALongAnswerAndTheUiStaysResponsive) {
    Pane p(120, 35, {"chat", "-m", qwen3_tiny().string()});  // no -n: it would fill the 2048-token context
    ASSERT_TRUE(p.wait_for_text("F1 help"));
    p.type("Tell me everything");
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for(
        [](const std::string& s) { return s.find("generating") != std::string::npos && number_after(s, "generating ·") > 50; },
        "tokens streaming"));
    p.keys({"C-c"});
    ASSERT_TRUE(p.wait_for([](const std::string& s) { return turn_row(s, 1).has_value(); }, "the stopped turn", 5));
    const std::string s = p.screen();
    EXPECT_NE(s.find("stopped"), std::string::npos) << s;  // in the stats pane (the answer's label may be off screen)
    EXPECT_LT(std::stoi((*turn_row(s, 1))[1]), 2000) << s;  // stopped long before the context was full
    // Still answering keys and commands.
    p.type("/help");
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for_text("/regen           answer the last message again", 5));
    // PgUp scrolls back (the transcript is now longer than the pane); PgDn returns to the end.
    p.keys({"F1"});
    p.keys({"PPage"});
    ASSERT_TRUE(p.wait_for_text("more lines · PgDn", 5));
    p.keys({"NPage", "NPage", "NPage", "NPage", "NPage", "NPage", "NPage", "NPage"});
    ASSERT_TRUE(p.wait_for([](const std::string& s2) { return s2.find("more lines") == std::string::npos; }, "the end again"));
    // Ctrl-C when idle asks first; any other key keeps the session.
    p.keys({"C-c"});
    ASSERT_TRUE(p.wait_for_text("Quit ascent?", 5));
    p.keys({"n"});
    ASSERT_TRUE(p.wait_for([](const std::string& s2) { return s2.find("Quit ascent?") == std::string::npos; }, "the question to go"));
    EXPECT_FALSE(p.exited());
    p.keys({"C-c"});
    ASSERT_TRUE(p.wait_for_text("Quit ascent?", 5));
    p.keys({"y"});
    ASSERT_TRUE(p.wait_for([&](const std::string&) { return p.exited(); }, "ascent to exit", 10));
    EXPECT_EQ(p.exit_status(), 0);
}

TEST(UiTmux, CtrlCDuringPrefillStopsBeforeTheAnswerAndGivesTheTextBack) {
    std::string prompt;
    for (int i = 0; i < 300; ++i) prompt += "please read this long prompt ";
    prompt += "END";  // ~1500 tokens: some two dozen prefill chunks
    // Enter and Ctrl-C are sent together, but on a loaded machine the UI thread can be kept off
    // the CPU until the tiny model has read the whole prompt; then the Ctrl-C stops an answer
    // instead, which is another test's case. Such an attempt proves nothing either way: try again.
    for (int attempt = 1;; ++attempt) {
        Pane p(120, 35, {"chat", "-m", qwen3_tiny().string()});
        ASSERT_TRUE(p.wait_for_text("F1 help"));
        p.type("\x1b[200~" + prompt + "\x1b[201~");
        ASSERT_TRUE(p.wait_for_text("prompt END"));
        p.keys({"Enter", "C-c"});  // Ctrl-C lands while the prompt is being read
        ASSERT_TRUE(p.wait_for(
            [](const std::string& s) {
                return s.find("Stopped before the answer began") != std::string::npos || turn_row(s, 1).has_value();
            },
            "the stop", 10));
        const std::string s = p.screen();
        if (s.find("Stopped before the answer began") == std::string::npos) {
            ASSERT_LT(attempt, 3) << "the answer began before Ctrl-C was read, three times; the screen was:\n" << s;
            continue;
        }
        EXPECT_NE(s.find("Your text is back in the input line"), std::string::npos) << s;
        EXPECT_NE(s.find("prompt END"), std::string::npos) << s;  // ... in the input area
        EXPECT_EQ(s.find("Assistant"), std::string::npos) << s;
        EXPECT_NE(s.find("│ ready │"), std::string::npos) << s;
        return;
    }
}

TEST(UiTmux, ResizeDownToTheMinimumAndBack) {
    Pane p(120, 35, {"chat", "-m", qwen3_tiny().string(), "-n", "30"});
    ASSERT_TRUE(p.wait_for_text("F1 help"));
    p.type("Remember this line");
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for([](const std::string& s) { return turn_row(s, 1).has_value(); }, "turn 1"));
    p.resize(60, 15);
    ASSERT_TRUE(p.wait_for_text("stats · F3 hides"));  // stats moved below the chat
    std::string s = p.screen();
    auto ls = lines_of(s);
    ASSERT_EQ(ls.size(), 15u) << s;
    const std::string name = qwen3_tiny().filename().string();
    EXPECT_EQ(ls[14].rfind(" " + name + " │", 0), 0u) << s;  // status line at the bottom
    EXPECT_EQ(ls[13].rfind("›", 0), 0u) << s;                       // the input line above it
    EXPECT_NE(s.find("decode"), std::string::npos) << s;
    p.resize(59, 14);
    ASSERT_TRUE(p.wait_for_text("Terminal too small"));
    EXPECT_NE(p.screen().find("needs at least 60x15"), std::string::npos);
    p.resize(120, 35);
    ASSERT_TRUE(p.wait_for_text("Memory (RAM)"));
    s = p.screen();
    EXPECT_NE(s.find("Remember this line"), std::string::npos) << s;
    EXPECT_EQ(s.find("Terminal too small"), std::string::npos) << s;
    ls = lines_of(s);
    ASSERT_EQ(ls.size(), 35u);
    EXPECT_EQ(ls[34].rfind(" " + name + " │", 0), 0u) << s;
    // F3 hides the stats pane and gives the chat the whole width.
    p.keys({"F3"});
    ASSERT_TRUE(p.wait_for([](const std::string& s2) { return s2.find("Memory (RAM)") == std::string::npos; }, "stats hidden"));
}

TEST(UiTmux, SaveThenLoadRestoresTheConversationAndCopyUsesOsc52) {
    Pane p(120, 35, {"chat", "-m", qwen3_tiny().string(), "-n", "16"});
    ASSERT_TRUE(p.wait_for_text("F1 help"));
    p.type("My favourite colour is teal");
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for([](const std::string& s) { return turn_row(s, 1).has_value(); }, "turn 1"));
    const fs::path file = p.state_dir() / "saved.json";
    p.type("/save " + file.string());
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for_text("Saved 2 messages"));
    std::ifstream in(file);
    const auto j = nlohmann::json::parse(in);
    ASSERT_EQ(j["messages"].size(), 2u);
    EXPECT_EQ(j["messages"][0]["content"], "My favourite colour is teal");
    EXPECT_EQ(j["settings"]["max_tokens"], 16);
    const std::string answer = j["messages"][1]["content"];
    p.type("/clear");
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for([](const std::string& s) { return s.find("teal") == std::string::npos; }, "the conversation to clear"));
    p.type("/load " + file.string());
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for_text("Loaded 2 messages"));
    EXPECT_NE(p.screen().find("My favourite colour is teal"), std::string::npos) << p.screen();
    // /copy sends the last answer through OSC 52; tmux (set-clipboard on) keeps it as a buffer.
    p.type("/copy");
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for_text("Copied the last answer"));
    bool copied = false;
    for (int i = 0; i < 40 && !copied; ++i) {
        copied = p.tmux({"show-buffer"}) == answer;
        if (!copied) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(copied) << "buffer: " << p.tmux({"show-buffer"}) << "\nanswer: " << answer;
}

TEST(UiTmux, MultiLineInputAndPaste) {
    Pane p(100, 30, {"chat", "-m", qwen3_tiny().string(), "-n", "4"});
    ASSERT_TRUE(p.wait_for_text("F1 help"));
    p.type("first line");
    p.keys({"M-Enter"});
    p.type("second line");
    p.keys({"C-j"});
    p.type("third");
    ASSERT_TRUE(p.wait_for_text("  third"));
    EXPECT_NE(p.screen().find("› first line\n  second line\n  third"), std::string::npos) << p.screen();
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for([](const std::string& s) { return turn_row(s, 1).has_value(); }, "turn 1"));
    // A bracketed paste keeps its line breaks and does not send anything by itself.
    p.type("\x1b[200~pasted one\rpasted two\x1b[201~");
    ASSERT_TRUE(p.wait_for_text("  pasted two"));
    EXPECT_FALSE(turn_row(p.screen(), 2).has_value());
    p.keys({"Enter"});
    ASSERT_TRUE(p.wait_for([](const std::string& s) { return turn_row(s, 2).has_value(); }, "turn 2"));
    const auto ls = lines_of(p.screen());
    bool in_order = false;
    for (size_t i = 0; i + 1 < ls.size(); ++i)
        in_order |= ls[i].starts_with("   pasted one ") && ls[i + 1].starts_with("   pasted two ");
    EXPECT_TRUE(in_order) << p.screen();
}

TEST(UiTmux, PlainReplForPipesAndDumbTerminals) {
    RunOptions opt;
    opt.stdin_data = "Hello\n/set max_tokens 5\nAgain\n/frob\n/quit\n";
    opt.env["XDG_STATE_HOME"] = (scratch_root() / "plain_state").string();
    auto r = run_ascent({"chat", "--plain", "-m", qwen3_tiny().string(), "-n", "8"}, opt);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("> Hello\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("[ 8 tokens"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("[ 5 tokens"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("unknown command /frob"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("\x1b"), std::string::npos) << "escape sequences in piped output";
    // Without a terminal, `ascent chat` is the plain REPL too.
    RunOptions eof;
    eof.stdin_data = "Hi\n";
    auto r2 = run_ascent({"chat", "-m", qwen3_tiny().string(), "-n", "3"}, eof);
    ASSERT_EQ(r2.exit_code, 0) << r2.err;
    EXPECT_NE(r2.out.find("[ 3 tokens"), std::string::npos) << r2.out;
}
