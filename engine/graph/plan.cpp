// Memory planning: every value gets an offset in one arena so that values alive at the same
// time never share bytes, and values whose lives do not overlap reuse the same bytes.
#include <algorithm>
#include <fmt/format.h>

#include "engine/graph/graph.h"

namespace ascent::graph {

namespace {

constexpr size_t kAlign = 64;  // cache line: no two values share one, so threads never false-share

size_t padded(size_t bytes) { return std::max(kAlign, (bytes + kAlign - 1) / kAlign * kAlign); }

bool lives_overlap(const Value& a, const Value& b) {
    return a.producer <= b.last_use && b.producer <= a.last_use;
}

void compute_lifetimes(Graph& g) {
    for (auto& v : g.values) v.last_use = -1;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (int v : g.nodes[i].in) {
            auto& val = g.values[static_cast<size_t>(v)];
            val.last_use = std::max(val.last_use, static_cast<int>(i));
        }
    for (auto& v : g.values)
        if (v.producer >= 0 && v.last_use < v.producer) v.last_use = v.producer;  // written, never read
    // The logits are read after the last node.
    g.values[static_cast<size_t>(g.logits)].last_use = static_cast<int>(g.nodes.size());
}

bool is_live(const Graph& g, const Value& v) {
    return v.producer >= 0 && static_cast<size_t>(v.producer) < g.nodes.size();
}

}  // namespace

void plan_memory(Graph& g) {
    compute_lifetimes(g);
    std::vector<int> order;
    for (size_t i = 0; i < g.values.size(); ++i)
        if (is_live(g, g.values[i])) order.push_back(static_cast<int>(i));
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return g.values[static_cast<size_t>(a)].bytes() > g.values[static_cast<size_t>(b)].bytes();
    });
    std::vector<int> placed;
    g.arena_bytes = 0;
    for (int id : order) {
        Value& v = g.values[static_cast<size_t>(id)];
        // Byte ranges taken by values alive at the same time, sorted by offset.
        std::vector<std::pair<size_t, size_t>> busy;
        for (int other : placed) {
            const Value& o = g.values[static_cast<size_t>(other)];
            if (lives_overlap(v, o)) busy.emplace_back(o.offset, o.offset + padded(o.bytes()));
        }
        std::sort(busy.begin(), busy.end());
        size_t offset = 0;
        for (const auto& [begin, end] : busy) {
            if (offset + padded(v.bytes()) <= begin) break;
            offset = std::max(offset, end);
        }
        v.offset = offset;
        g.arena_bytes = std::max(g.arena_bytes, offset + padded(v.bytes()));
        placed.push_back(id);
    }
}

std::string check_plan(const Graph& g) {
    for (size_t a = 0; a < g.values.size(); ++a) {
        const Value& va = g.values[a];
        if (!is_live(g, va)) continue;
        if (va.offset + va.bytes() > g.arena_bytes) return fmt::format("value {} ends past the arena", a);
        if (va.offset % kAlign) return fmt::format("value {} is not {}-byte aligned", a, kAlign);
        for (size_t b = a + 1; b < g.values.size(); ++b) {
            const Value& vb = g.values[b];
            if (!is_live(g, vb) || !lives_overlap(va, vb) || va.bytes() == 0 || vb.bytes() == 0) continue;
            if (va.offset < vb.offset + vb.bytes() && vb.offset < va.offset + va.bytes())
                return fmt::format("values {} [{}, {}) and {} [{}, {}) are alive together and overlap", a, va.offset,
                                   va.offset + va.bytes(), b, vb.offset, vb.offset + vb.bytes());
        }
    }
    return "";
}

}  // namespace ascent::graph
