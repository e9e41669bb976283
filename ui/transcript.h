#pragma once
// The conversation as the chat pane shows it: user and assistant turns (reasoning dimmed and
// foldable, fenced code highlighted), notices, errors, and the completion pad of base models.
// Entries render to styled lines for a width; each entry caches its lines so that streaming
// into the last one re-wraps only that one.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include "ui/styled_text.h"

namespace ascent::ui {

struct Entry {
    enum class Kind { User, Assistant, Notice, Error, Pad };
    Kind kind = Kind::Notice;
    std::string text;            // user message, answer, or notice
    std::string reasoning;       // assistant
    std::string footer;          // assistant, once done: tokens, speed, mode
    bool streaming = false;
    bool preformatted = false;   // notice lines are clipped, not wrapped (help, stats tables)
    struct Segment {
        bool by_user = false;
        std::string text;
    };
    std::vector<Segment> pad;    // Pad: the document, in pieces by author
};

// Renders one entry at a width (no blank separator lines).
std::vector<StyledLine> render_entry(const Entry& e, int width, bool fold_reasoning);

class Transcript {
public:
    size_t add(Entry e);
    size_t size() const { return entries_.size(); }
    const Entry& at(size_t i) const { return entries_[i].entry; }
    // Changes an entry; its lines are rendered again next time.
    Entry& edit(size_t i);
    void remove_from(size_t i);  // drops entries i..end
    void clear();
    // The lowest index removed (by remove_from or clear) since the last call, or none: a
    // front end that prints entries as they come (the plain REPL) goes back there.
    std::optional<size_t> take_removed_from();

    bool fold_reasoning() const { return fold_; }
    void set_fold_reasoning(bool fold);

    // Lines of all entries at `width`, one blank line between entries.
    int line_count(int width);
    // Lines [first, first + count) of the rendering at `width`.
    std::vector<StyledLine> lines(int width, int first, int count);
    // Everything, for tests and for the plain REPL.
    std::vector<StyledLine> all_lines(int width);

private:
    struct Cached {
        Entry entry;
        uint64_t version = 1;
        uint64_t rendered_version = 0;
        int rendered_width = -1;
        bool rendered_fold = false;
        std::vector<StyledLine> lines;
    };
    const std::vector<StyledLine>& rendered(Cached& c, int width);

    std::vector<Cached> entries_;
    bool fold_ = false;
    std::optional<size_t> removed_from_;
};

}  // namespace ascent::ui
