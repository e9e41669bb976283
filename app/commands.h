#pragma once
// Each subcommand registers its options on the parser and returns the function that runs it.
#include <CLI/CLI.hpp>
#include <functional>

namespace ascent::app {

using Runner = std::function<int()>;

Runner add_complete_command(CLI::App& root);
Runner add_tokenize_command(CLI::App& root);
Runner add_info_command(CLI::App& root);
Runner add_template_command(CLI::App& root);
Runner add_chat_command(CLI::App& root);
Runner add_bench_command(CLI::App& root);

}  // namespace ascent::app
