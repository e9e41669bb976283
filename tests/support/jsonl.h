#pragma once
// Reads a JSON-lines fixture under tests/data: one object per non-empty line.
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

namespace ascent::test {

std::vector<nlohmann::json> read_jsonl(const std::string& path_under_test_data);

}  // namespace ascent::test
