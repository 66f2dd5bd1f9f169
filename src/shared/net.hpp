#pragma once
// The short namespace aliases used across sqlrep, in one place so headers never need
// `using namespace` (json's lives in json.hpp, which this includes).

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "shared/json.hpp"

namespace sqlrep {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
}  // namespace sqlrep
