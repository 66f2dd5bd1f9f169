#pragma once
// Indented JSON for people reading send_dummy's output. Arrays and objects that hold only
// scalars stay on one line when short, so each result row reads as one line.

#include <string>

#include "shared/net.hpp"

namespace sqlrep::send_dummy {

std::string pretty_json(const json::value& value);

}  // namespace sqlrep::send_dummy
