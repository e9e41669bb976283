// Every record of tests/data/chat_templates/reference_renders.jsonl, rendered with the
// template it names, must come out byte-for-byte as Jinja2 (set up like transformers)
// rendered it, or fail with the template's own raise_exception message.
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "chat_templates/jinja/template.h"

namespace {

using ascent::templates::RenderOptions;
using ascent::templates::Template;
using ascent::templates::TemplateError;
using json = nlohmann::ordered_json;

const std::string data_dir = std::string(ASCENT_TEST_DATA) + "/chat_templates/";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

struct Record {
    std::string id;  // test name: template and scenario
    json data;
};

std::string sanitize(const std::string& s) {
    std::string out;
    for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return out;
}

std::vector<Record> load_records() {
    std::vector<Record> records;
    std::ifstream in(data_dir + "reference_renders.jsonl");
    std::map<std::string, int> seen;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        json data = json::parse(line);
        std::string stem = data["template"].get<std::string>();
        stem = stem.substr(0, stem.rfind(".jinja"));
        std::string id = sanitize(stem) + "__" + sanitize(data["scenario"].get<std::string>());
        int n = ++seen[id];
        if (n > 1) {
            id += '_';
            id += std::to_string(n);
        }
        records.push_back({id, std::move(data)});
    }
    return records;
}

// "2025-01-15T12:00:00" as a UTC time point.
std::chrono::system_clock::time_point parse_now(const std::string& iso) {
    int y, mo, d, h, mi, s;
    EXPECT_EQ(std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s), 6) << iso;
    auto day = std::chrono::sys_days{std::chrono::year{y} / mo / d};
    return day + std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{s};
}

void PrintTo(const Record& r, std::ostream* os) { *os << r.id; }

class ReferenceRender : public ::testing::TestWithParam<Record> {};

TEST_P(ReferenceRender, MatchesJinja2ByteForByte) {
    const json& r = GetParam().data;
    std::string name = r["template"].get<std::string>();
    Template tmpl = Template::parse(read_file(data_dir + name), name);
    json context = r["options"];
    context["messages"] = r["messages"];
    RenderOptions options;
    options.now = parse_now(r["now"].get<std::string>());
    if (r["rendered"].is_null()) {
        try {
            tmpl.render(context, options);
            FAIL() << "expected raise_exception(\"" << r["error"].get<std::string>() << "\")";
        } catch (const TemplateError& e) {
            EXPECT_EQ(e.kind(), TemplateError::Kind::Raised);
            EXPECT_EQ(e.message(), r["error"].get<std::string>());
        }
        return;
    }
    EXPECT_EQ(tmpl.render(context, options), r["rendered"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ReferenceRender, ::testing::ValuesIn(load_records()),
                         [](const ::testing::TestParamInfo<Record>& record) { return record.param.id; });

TEST(ReferenceRenders, AllRecordsAreLoaded) {
    // The fixture has 287 records over 54 templates; a short read would silently test less.
    EXPECT_EQ(load_records().size(), 287u);
}

}  // namespace
