#pragma once
// sqlrep's one error type. Domain and database code throws Error with a category; only
// the edges (the HTTP router, the stream handlers) turn categories into statuses.

#include <stdexcept>
#include <string>

namespace sqlrep {

enum class ErrorKind {
    bad_request,   // malformed input, invalid SQL, constraint violations
    unauthorized,  // missing or wrong credentials
    forbidden,     // statement or operation not allowed here
    not_found,     // unknown path
    method_not_allowed,
    too_large,    // body or result over a limit
    conflict,     // the request does not fit the node's current state
    diverged,     // a replica's history no longer matches the master's
    unavailable,  // the master (or a quorum) cannot be reached
    timeout,      // a bounded wait ran out
    internal,     // a bug or an I/O failure of our own
};

class Error : public std::runtime_error {
  public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }

  private:
    ErrorKind kind_;
};

// The HTTP status a category maps to.
unsigned http_status_for(ErrorKind kind);

// A short stable name ("bad_request", ...) for logs and JSON.
const char* error_kind_name(ErrorKind kind);

}  // namespace sqlrep
