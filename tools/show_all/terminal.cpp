#include "terminal.hpp"

#include <cstdlib>

#include <unistd.h>

namespace sqlrep::show_all {

std::string Palette::wrap(std::string_view code, std::string_view text) const {
    if (!enabled_) return std::string(text);
    std::string out = "\x1b[";
    out += code;
    out += 'm';
    out += text;
    out += "\x1b[0m";
    return out;
}

bool stdout_wants_color() {
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color && *no_color) return false;
    return isatty(STDOUT_FILENO) == 1;
}

}  // namespace sqlrep::show_all
