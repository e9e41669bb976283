#pragma once
// A read-only memory mapping of a whole file. Weights are used straight from the
// page cache: nothing is copied, and the kernel can drop clean pages under pressure.
#include <cstddef>
#include <filesystem>

namespace ascent {

class MappedFile {
public:
    // input_error if the file cannot be opened, is not a regular file, or cannot be mapped.
    static MappedFile open(const std::filesystem::path& file);

    MappedFile() = default;
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    // nullptr for an empty file (mmap cannot map zero bytes).
    const std::byte* data() const { return data_; }
    size_t size() const { return size_; }
    const std::filesystem::path& path() const { return path_; }

    // Asks the kernel to start reading the whole file in the background.
    void prefetch() const;

private:
    void unmap();

    const std::byte* data_ = nullptr;
    size_t size_ = 0;
    std::filesystem::path path_;
};

}  // namespace ascent
