#pragma once
// ANSI colour for show_all's text output: a Palette either wraps text in escape codes or
// returns it unchanged, so the report code never asks whether colour is on.

#include <string>
#include <string_view>

namespace sqlrep::show_all {

class Palette {
  public:
    explicit Palette(bool enabled) : enabled_(enabled) {}

    std::string bold(std::string_view text) const { return wrap("1", text); }
    std::string dim(std::string_view text) const { return wrap("2", text); }
    std::string red(std::string_view text) const { return wrap("1;31", text); }
    std::string green(std::string_view text) const { return wrap("1;32", text); }
    std::string yellow(std::string_view text) const { return wrap("33", text); }

  private:
    std::string wrap(std::string_view code, std::string_view text) const;

    bool enabled_;
};

// Colour is for people: only when stdout is a terminal and NO_COLOR is not set.
bool stdout_wants_color();

}  // namespace sqlrep::show_all
