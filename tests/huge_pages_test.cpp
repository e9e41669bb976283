// Large-page memory for dummy weights and the bandwidth probe: aligned, zeroed, writable, and an
// arena whose allocations never overlap.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "engine/huge_pages.h"

using ascent::HugePageArena;
using ascent::HugePageRegion;

TEST(HugePages, RegionIsAlignedZeroedAndWritable) {
    HugePageRegion r(5 << 20);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(r.data()) % (2 << 20), 0u);
    EXPECT_GE(r.size(), size_t{5} << 20);
    EXPECT_EQ(r.size() % (2 << 20), 0u);
    for (size_t i = 0; i < r.size(); i += 4096) EXPECT_EQ(r.data()[i], std::byte{0}) << i;
    std::fill(r.data(), r.data() + r.size(), std::byte{0x5a});
    EXPECT_EQ(r.data()[r.size() - 1], std::byte{0x5a});
    HugePageRegion moved(std::move(r));  // the mapping travels, the address stays
    EXPECT_EQ(moved.data()[123], std::byte{0x5a});
}

TEST(HugePages, ArenaAllocationsAreAlignedAndDisjoint) {
    HugePageArena arena;
    std::vector<std::pair<std::byte*, size_t>> blocks;
    // Small ones, ones that do not fit the rest of a region, and one larger than a region.
    for (size_t bytes : {size_t{3}, size_t{4096}, size_t{30} << 20, size_t{50} << 20, size_t{1}, size_t{100} << 20,
                         size_t{7}, size_t{64} << 20}) {
        std::byte* p = arena.allocate(bytes);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
        std::fill(p, p + bytes, std::byte{static_cast<unsigned char>(blocks.size() + 1)});
        blocks.emplace_back(p, bytes);
    }
    for (size_t i = 0; i < blocks.size(); ++i) {
        const auto [p, n] = blocks[i];
        EXPECT_EQ(p[0], std::byte{static_cast<unsigned char>(i + 1)});
        EXPECT_EQ(p[n - 1], std::byte{static_cast<unsigned char>(i + 1)}) << "block " << i << " was overwritten";
        for (size_t j = 0; j < blocks.size(); ++j)
            if (i != j) {
                EXPECT_TRUE(p + n <= blocks[j].first || blocks[j].first + blocks[j].second <= p);
            }
    }
}
