#pragma once
// Anonymous memory on 2 MiB pages where the OS offers them (Linux transparent huge pages, asked
// for with madvise, which is what most distributions enable by default). Streaming a large
// buffer through 4 KiB pages costs a TLB miss every 4 KiB: on the machines measured here that is
// ~13% of the read bandwidth. Model files already get large pages from the page cache, so the
// memory that stands in for them (dummy weights) and the bandwidth probe use these too, and
// benchmarks compare like with like. Pages are mapped when first touched, zero-filled.
#include <cstddef>
#include <vector>

namespace ascent {

class HugePageRegion {
public:
    explicit HugePageRegion(size_t bytes);  // runtime_error when the memory is not there
    ~HugePageRegion();
    HugePageRegion(HugePageRegion&& o) noexcept;
    HugePageRegion& operator=(HugePageRegion&&) = delete;
    HugePageRegion(const HugePageRegion&) = delete;

    std::byte* data() const { return data_; }  // 2 MiB aligned
    size_t size() const { return size_; }

private:
    void* mapping_ = nullptr;
    size_t mapped_ = 0;
    std::byte* data_ = nullptr;
    size_t size_ = 0;
};

// Many allocations carved from a few large regions; freed all at once.
class HugePageArena {
public:
    // `bytes` aligned to 64; a new region when the current one has no room (the rest of the old
    // one is never touched, so it costs address space, not memory).
    std::byte* allocate(size_t bytes);

private:
    std::vector<HugePageRegion> regions_;
    size_t used_ = 0;
};

}  // namespace ascent
