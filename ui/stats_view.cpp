#include "ui/stats_view.h"

#include <fmt/format.h>

#include <algorithm>

#include "ui/text_width.h"

namespace ascent::ui {

namespace {

constexpr int kLabelWidth = 9;
constexpr size_t kMaxTurnRows = 12;

std::string pad(const std::string& s, int width) {
    const int w = display_width(s);
    return w >= width ? s : s + std::string(static_cast<size_t>(width - w), ' ');
}

std::string rate(double r) {
    if (r <= 0) return "–";
    return r >= 100 ? fmt::format("{:.0f} tok/s", r) : fmt::format("{:.1f} tok/s", r);
}

const GraphInfo* decode_graph(const std::vector<GraphInfo>& graphs) {
    for (const auto& g : graphs)
        if (g.tokens == 1) return &g;
    return graphs.empty() ? nullptr : &graphs.front();
}

struct Values {
    std::string decode, prefill, ttft, tpot, tokens, session, context, kv, mode, graphs, nodes;
    double context_fraction = 0;
    bool live = false;
};

Values compute(const StatsInput& in) {
    const LiveStats& s = *in.stats;
    const EngineStatus& st = *in.status;
    Values v;
    v.live = s.generating();
    v.decode = rate(s.decode_rate(in.now)) + (v.live ? " now" : s.turns().empty() ? "" : " last");
    if (s.prefilling() && s.prefill_total() > 0)
        v.prefill = fmt::format("{} · {}%", rate(s.prefill_rate(in.now)), s.prefill_done() * 100 / s.prefill_total());
    else
        v.prefill = rate(s.prefill_rate(in.now));
    const auto ttft = s.ttft_current();
    const auto mean = s.ttft_mean();
    v.ttft = ttft ? format_ms(*ttft) : "–";
    if (mean) v.ttft += " · mean " + format_ms(*mean);
    const double p50 = s.tpot_p50(), p90 = s.tpot_p90();
    v.tpot = p50 > 0 ? fmt::format("p50 {} · p90 {}", format_ms(p50), format_ms(p90)) : "–";
    if (v.live) {
        v.tokens = fmt::format("in {} · out {}", s.prefill_total(), s.tokens_out_live());
    } else if (!s.turns().empty()) {
        const auto& t = s.turns().back();
        v.tokens = fmt::format("in {} · reused {} · out {}", t.prompt_tokens - t.reused_tokens, t.reused_tokens,
                               t.generated_tokens);
        if (t.finish_reason == "cancelled") v.tokens += " · stopped";
    } else {
        v.tokens = "–";
    }
    const int64_t live_in = v.live ? s.prefill_done() : 0, live_out = v.live ? s.tokens_out_live() : 0;
    v.session = fmt::format("in {} · out {}", s.total_tokens_in() + live_in, s.total_tokens_out() + live_out);
    v.context_fraction = st.context_size > 0 ? static_cast<double>(st.context_used) / static_cast<double>(st.context_size) : 0;
    v.context = fmt::format("{}/{} · {:.0f}%", st.context_used, st.context_size, v.context_fraction * 100);
    v.kv = fmt::format("{} / {}", human_bytes(st.kv_used), human_bytes(st.kv_allocated));
    v.mode = mode_label(in.requested_mode, st.mode);
    if (const GraphInfo* g = decode_graph(st.graphs)) {
        double capture = 0;
        for (const auto& x : st.graphs) capture += x.capture_seconds;
        v.graphs = fmt::format("{} · capture {}", st.graphs.size(), format_ms(capture));
        v.nodes = fmt::format("{}→{} (decode)", g->nodes_recorded, g->nodes_fused);
    }
    return v;
}

}  // namespace

std::string format_ms(double seconds) {
    if (seconds >= 10) return fmt::format("{:.1f} s", seconds);
    if (seconds >= 1) return fmt::format("{:.2f} s", seconds);
    if (seconds >= 0.01) return fmt::format("{:.1f} ms", seconds * 1e3);
    return fmt::format("{:.2f} ms", seconds * 1e3);
}

std::string mode_label(ExecMode requested, ExecMode actual) {
    if (requested == actual) return mode_name(actual);
    return mode_name(actual) + "→" + mode_name(requested) + " (next token)";
}

std::vector<StyledLine> stats_lines(const StatsInput& in, int width) {
    const Values v = compute(in);
    const ModelInfo& info = *in.info;
    const EngineStatus& st = *in.status;
    std::vector<StyledLine> out;
    // A value too long for the pane (a backend description) continues under itself.
    auto kv = [&](const std::string& label, const std::string& value, Style vs = Style::StatsValue) {
        const auto parts = wrap_lines(value, std::max(1, width - kLabelWidth));
        for (size_t i = 0; i < parts.size(); ++i) {
            StyledLine l(pad(i == 0 ? label : "", kLabelWidth), Style::StatsLabel);
            l.append(value.substr(parts[i].begin, parts[i].end - parts[i].begin), vs);
            l.preformatted = true;
            out.push_back(std::move(l));
        }
    };
    auto heading = [&](const std::string& text) {
        StyledLine l(text, Style::AssistantLabel);
        l.preformatted = true;
        out.push_back(std::move(l));
    };
    heading(v.live ? "Speed ●" : "Speed");
    kv("decode", v.decode, v.live ? Style::Good : Style::StatsValue);
    out.emplace_back(sparkline(in.stats->samples(), std::max(1, width)), Style::Sparkline);
    kv("prefill", v.prefill);
    kv("TTFT", v.ttft);
    kv("TPOT", v.tpot);
    kv("tokens", v.tokens);
    kv("session", v.session);
    kv("context", v.context);
    out.emplace_back(fill_bar(v.context_fraction, std::max(1, width)), v.context_fraction > 0.9 ? Style::Error : Style::Sparkline);
    heading(fmt::format("Memory ({})", info.memory_label));
    kv("weights", human_bytes(info.weight_bytes));
    kv("KV cache", v.kv);
    kv("arena", human_bytes(st.arena_bytes));
    kv("RSS", human_bytes(in.rss_bytes));
    heading("Engine");
    kv("backend", info.backend);
    kv("threads", fmt::format("{} · {}", info.threads, info.dtype));
    kv("mode", v.mode, st.mode == ExecMode::Graph ? Style::Good : Style::StatsValue);
    if (!v.graphs.empty()) {
        kv("graphs", v.graphs);
        kv("nodes", v.nodes);
    }
    const auto& turns = in.stats->turns();
    if (!turns.empty()) {
        heading("Turns");
        StyledLine h(fmt::format("{:>2} {:>5} {:>8} {:>7} {}", "#", "out", "TTFT", "tok/s", "mode"), Style::StatsLabel);
        h.preformatted = true;
        out.push_back(std::move(h));
        const size_t shown = std::min(turns.size(), kMaxTurnRows);
        for (size_t i = 0; i < shown; ++i) {
            const auto& t = turns[turns.size() - 1 - i];  // newest first: it is what a demo looks at
            StyledLine l(fmt::format("{:>2} {:>5} {:>8} {:>7.1f} {}", t.number, t.generated_tokens, format_ms(t.ttft_seconds),
                                     t.decode_tokens_per_second, t.mode),
                         t.mode == "graph" ? Style::Good : Style::StatsValue);
            l.preformatted = true;
            out.push_back(std::move(l));
        }
    }
    return out;
}

std::vector<StyledLine> compact_stats_lines(const StatsInput& in, int width, int max_lines) {
    const Values v = compute(in);
    const ModelInfo& info = *in.info;
    const EngineStatus& st = *in.status;
    struct Item {
        std::string label, value;
        Style style = Style::StatsValue;
    };
    std::vector<Item> items{
        {"decode", v.decode, v.live ? Style::Good : Style::StatsValue},
        {"", sparkline(in.stats->samples(), 12), Style::Sparkline},
        {"mode", v.mode, st.mode == ExecMode::Graph ? Style::Good : Style::StatsValue},
        {"TTFT", v.ttft},
        {"TPOT", v.tpot},
        {"prefill", v.prefill},
        {"tokens", v.tokens},
        {"ctx", fill_bar(v.context_fraction, 8) + " " + v.context},
        {info.memory_label, fmt::format("KV {} · arena {} · RSS {}", v.kv, human_bytes(st.arena_bytes), human_bytes(in.rss_bytes))},
    };
    if (!v.graphs.empty()) items.push_back({"graphs", v.graphs + " · nodes " + v.nodes});
    items.push_back({"", fmt::format("{} · {}", info.backend, info.dtype)});
    std::vector<StyledLine> out;
    StyledLine line;
    int col = 0;
    for (const auto& it : items) {
        const std::string label = it.label.empty() ? "" : it.label + " ";
        const int w = display_width(label) + display_width(it.value);
        const int sep = col > 0 ? 3 : 0;
        if (col > 0 && col + sep + w > width) {
            if (static_cast<int>(out.size()) + 1 >= max_lines) break;
            line.preformatted = true;
            out.push_back(std::move(line));
            line = StyledLine();
            col = 0;
        }
        if (col > 0) line.append(" · ", Style::Meta);
        if (!label.empty()) line.append(label, Style::StatsLabel);
        line.append(it.value, it.style);
        col += (col > 0 ? 3 : 0) + w;
    }
    if (col > 0 && static_cast<int>(out.size()) < max_lines) {
        line.preformatted = true;
        out.push_back(std::move(line));
    }
    return out;
}

}  // namespace ascent::ui
