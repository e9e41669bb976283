#pragma once
#include <filesystem>

namespace ascent::app {

// Where ascent's own data lives (demo model, bundled chat templates): $ASCENT_DATA_DIR, else
// <prefix>/share/ascent next to the installed binary, else the configured install directory,
// else the source tree the binary was built from.
std::filesystem::path data_dir();
std::filesystem::path demo_model_dir();

}  // namespace ascent::app
