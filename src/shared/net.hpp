#pragma once
// The short namespace aliases used across sqlrep, in one place so headers never need
// `using namespace` (json's lives in json.hpp, which this includes). Also the precompiled
// header of every target (sqlrep_reuse_pch), so the heavy Boost headers, TLS included,
// are parsed once per build.

#include <boost/asio.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include "shared/json.hpp"

namespace sqlrep {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
}  // namespace sqlrep
