#include "app/data_dir.h"

#include <cstdlib>
#include <system_error>

#include "engine/error.h"

namespace ascent::app {

namespace {

constexpr const char* kDemoModel = "models/demo/stories260K";

bool has_data(const std::filesystem::path& dir) {
    std::error_code ec;
    return std::filesystem::exists(dir / kDemoModel / "config.json", ec);
}

}  // namespace

std::filesystem::path data_dir() {
    if (const char* env = std::getenv("ASCENT_DATA_DIR"); env && *env) return env;
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        auto relocated = exe.parent_path().parent_path() / "share" / "ascent";
        if (has_data(relocated)) return relocated;
    }
    if (has_data(ASCENT_INSTALL_DATADIR)) return ASCENT_INSTALL_DATADIR;
    if (has_data(ASCENT_SOURCE_DATADIR)) return ASCENT_SOURCE_DATADIR;
    input_error("cannot find ascent's data directory (looked next to the binary, in {} and in {}); set ASCENT_DATA_DIR",
                ASCENT_INSTALL_DATADIR, ASCENT_SOURCE_DATADIR);
}

std::filesystem::path demo_model_dir() { return data_dir() / kDemoModel; }

}  // namespace ascent::app
