#include "shared/error.hpp"

namespace sqlrep {

unsigned http_status_for(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::bad_request:
            return 400;
        case ErrorKind::unauthorized:
            return 401;
        case ErrorKind::forbidden:
            return 403;
        case ErrorKind::not_found:
            return 404;
        case ErrorKind::method_not_allowed:
            return 405;
        case ErrorKind::conflict:
            return 409;
        case ErrorKind::too_large:
            return 413;
        case ErrorKind::diverged:
            return 503;
        case ErrorKind::unavailable:
            return 503;
        case ErrorKind::timeout:
            return 504;
        case ErrorKind::internal:
            return 500;
    }
    return 500;
}

const char* error_kind_name(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::bad_request:
            return "bad_request";
        case ErrorKind::unauthorized:
            return "unauthorized";
        case ErrorKind::forbidden:
            return "forbidden";
        case ErrorKind::not_found:
            return "not_found";
        case ErrorKind::method_not_allowed:
            return "method_not_allowed";
        case ErrorKind::too_large:
            return "too_large";
        case ErrorKind::conflict:
            return "conflict";
        case ErrorKind::diverged:
            return "diverged";
        case ErrorKind::unavailable:
            return "unavailable";
        case ErrorKind::timeout:
            return "timeout";
        case ErrorKind::internal:
            return "internal";
    }
    return "internal";
}

}  // namespace sqlrep
