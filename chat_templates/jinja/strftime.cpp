// datetime.strftime as Python on Linux runs it: Python handles %f, %z and %Z (empty
// for the naive datetime transformers uses), glibc the rest, in the C locale. Written
// out here so that the process locale (set for the terminal UI) cannot leak in.
#include <cstdio>
#include <string>

#include "chat_templates/jinja/builtins.h"

namespace ascent::templates::jinja {

namespace {

constexpr const char* weekday_names[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr const char* month_names[] = {"January", "February", "March",     "April",   "May",      "June",
                                       "July",    "August",   "September", "October", "November", "December"};

bool is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

// ISO 8601 week-based year and week number.
void iso_week(const std::tm& tm, int& iso_year, int& week) {
    int year = tm.tm_year + 1900;
    int wday = (tm.tm_wday + 6) % 7;  // Monday = 0
    int yday = tm.tm_yday;
    week = (yday - wday + 10) / 7;
    iso_year = year;
    if (week < 1) {
        iso_year = year - 1;
        int prev_days = is_leap(iso_year) ? 366 : 365;
        week = (yday + prev_days - wday + 10) / 7;
    } else {
        int days = is_leap(year) ? 366 : 365;
        if (week == 53 && yday - wday + 3 >= days) {
            week = 1;
            iso_year = year + 1;
        }
    }
}

std::string number(long value, int width, char pad) {
    std::string digits = std::to_string(value < 0 ? -value : value);
    std::string out = value < 0 ? "-" : "";
    if (pad && static_cast<int>(digits.size()) < width) out.append(static_cast<std::size_t>(width) - digits.size(), pad);
    return out + digits;
}

std::string upper_ascii(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return s;
}

}  // namespace

std::string python_strftime(std::string_view format, const std::tm& tm, int microseconds) {
    std::string out;
    for (std::size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%' || i + 1 >= format.size()) {
            out += format[i];
            continue;
        }
        std::size_t start = i++;
        // glibc flags: '-' no padding, '_' pad with spaces, '0' pad with zeros, '^' upper case.
        char flag = 0;
        bool upper = false;
        while (i < format.size() && (format[i] == '-' || format[i] == '_' || format[i] == '0' || format[i] == '^' ||
                                     format[i] == '#')) {
            if (format[i] == '^') upper = true;
            else if (format[i] != '#') flag = format[i];
            ++i;
        }
        if (i >= format.size()) {
            out.append(format.substr(start));
            break;
        }
        auto num = [&](long value, int width, char default_pad = '0') {
            char pad = flag == '-' ? 0 : flag == '_' ? ' ' : flag == '0' ? '0' : default_pad;
            return number(value, width, pad);
        };
        int hour12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
        std::string piece;
        char c = format[i];
        switch (c) {
        case 'a': piece = std::string(weekday_names[tm.tm_wday]).substr(0, 3); break;
        case 'A': piece = weekday_names[tm.tm_wday]; break;
        case 'b':
        case 'h': piece = std::string(month_names[tm.tm_mon]).substr(0, 3); break;
        case 'B': piece = month_names[tm.tm_mon]; break;
        case 'c':
            piece = python_strftime("%a %b ", tm, microseconds) + num(tm.tm_mday, 2, ' ') +
                    python_strftime(" %H:%M:%S %Y", tm, microseconds);
            break;
        case 'C': piece = num((tm.tm_year + 1900) / 100, 2); break;
        case 'd': piece = num(tm.tm_mday, 2); break;
        case 'D': piece = python_strftime("%m/%d/%y", tm, microseconds); break;
        case 'e': piece = num(tm.tm_mday, 2, ' '); break;
        case 'f': piece = number(microseconds, 6, '0'); break;
        case 'F': piece = python_strftime("%Y-%m-%d", tm, microseconds); break;
        case 'G':
        case 'g':
        case 'V': {
            int iso_year, week;
            iso_week(tm, iso_year, week);
            piece = c == 'G' ? num(iso_year, 1) : c == 'g' ? num(iso_year % 100, 2) : num(week, 2);
            break;
        }
        case 'H': piece = num(tm.tm_hour, 2); break;
        case 'I': piece = num(hour12, 2); break;
        case 'j': piece = num(tm.tm_yday + 1, 3); break;
        case 'k': piece = num(tm.tm_hour, 2, ' '); break;
        case 'l': piece = num(hour12, 2, ' '); break;
        case 'm': piece = num(tm.tm_mon + 1, 2); break;
        case 'M': piece = num(tm.tm_min, 2); break;
        case 'n': piece = "\n"; break;
        case 'p': piece.append(tm.tm_hour < 12 ? "AM" : "PM"); break;
        case 'P': piece.append(tm.tm_hour < 12 ? "am" : "pm"); break;
        case 'r': piece = python_strftime("%I:%M:%S %p", tm, microseconds); break;
        case 'R': piece = python_strftime("%H:%M", tm, microseconds); break;
        case 'S': piece = num(tm.tm_sec, 2); break;
        case 't': piece = "\t"; break;
        case 'T':
        case 'X': piece = python_strftime("%H:%M:%S", tm, microseconds); break;
        case 'u': piece = num(tm.tm_wday == 0 ? 7 : tm.tm_wday, 1); break;
        case 'U': piece = num((tm.tm_yday + 7 - tm.tm_wday) / 7, 2); break;
        case 'w': piece = num(tm.tm_wday, 1); break;
        case 'W': piece = num((tm.tm_yday + 7 - (tm.tm_wday + 6) % 7) / 7, 2); break;
        case 'x': piece = python_strftime("%m/%d/%y", tm, microseconds); break;
        case 'y': piece = num((tm.tm_year + 1900) % 100, 2); break;
        case 'Y': piece = num(tm.tm_year + 1900, 1); break;
        case 'z':
        case 'Z': break;  // a naive datetime has no zone
        case '%': piece = "%"; break;
        default: piece = std::string(format.substr(start, i - start + 1)); break;
        }
        out += upper ? upper_ascii(piece) : piece;
    }
    return out;
}

}  // namespace ascent::templates::jinja
