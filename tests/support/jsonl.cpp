#include "tests/support/jsonl.h"

#include <gtest/gtest.h>

#include <fstream>

namespace ascent::test {

std::vector<nlohmann::json> read_jsonl(const std::string& path_under_test_data) {
    std::ifstream in(std::string(ASCENT_TEST_DATA) + "/" + path_under_test_data);
    EXPECT_TRUE(in) << path_under_test_data;
    std::vector<nlohmann::json> rows;
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
    return rows;
}

}  // namespace ascent::test
