#include "engine/huge_pages.h"

#include <sys/mman.h>
#include <algorithm>
#include <cstdint>
#include <utility>

#include "engine/error.h"

namespace ascent {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;
// Each region's last, partly used 2 MiB page is resident whole: with 64 MiB regions a 0.5B model's
// dummy weights (15 regions) carried ~14 MiB of such tails, with 256 MiB ~4 MiB. Unused address
// space costs nothing.
constexpr size_t kRegion = size_t{256} << 20;

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

}  // namespace

HugePageRegion::HugePageRegion(size_t bytes) : size_(round_up(std::max<size_t>(bytes, 1), kHugePage)) {
    // One extra huge page of address space, so the usable part can start on a 2 MiB boundary.
    mapped_ = size_ + kHugePage;
    mapping_ = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping_ == MAP_FAILED) {
        mapping_ = nullptr;
        runtime_error("cannot map {} bytes of memory", size_);
    }
    const auto start = round_up(reinterpret_cast<uintptr_t>(mapping_), kHugePage);
    data_ = reinterpret_cast<std::byte*>(start);
#ifdef MADV_HUGEPAGE
    madvise(data_, size_, MADV_HUGEPAGE);  // a hint: without THP the pages are simply 4 KiB
#endif
}

HugePageRegion::~HugePageRegion() {
    if (mapping_) munmap(mapping_, mapped_);
}

HugePageRegion::HugePageRegion(HugePageRegion&& o) noexcept
    : mapping_(std::exchange(o.mapping_, nullptr)),
      mapped_(o.mapped_),
      data_(o.data_),
      size_(o.size_) {}

std::byte* HugePageArena::allocate(size_t bytes) {
    const size_t need = round_up(std::max<size_t>(bytes, 1), 64);
    if (regions_.empty() || used_ + need > regions_.back().size()) {
        regions_.emplace_back(std::max(need, kRegion));
        used_ = 0;
    }
    std::byte* p = regions_.back().data() + used_;
    used_ += need;
    return p;
}

}  // namespace ascent
