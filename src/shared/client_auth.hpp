#pragma once
// Client authentication (--auth FILE): bearer tokens, each with a role. A node loads the
// file once at startup; the router asks it who a request is and what it may do.
//
//   [{"token": "s3cret-reader", "role": "read"},
//    {"token": "s3cret-writer", "role": "write"},
//    {"token": "s3cret-admin",  "role": "admin"}]
//
// read runs queries; write adds data changes (INSERT/UPDATE/DELETE, ...); admin adds
// schema changes (CREATE/DROP/ALTER) and cluster administration. Without a file every
// client is admin: the node is open.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sqlrep {

enum class Role { read = 0, write = 1, admin = 2 };

const char* role_name(Role role);

class ClientAuth {
  public:
    ClientAuth() = default;  // open: no tokens, everyone is admin

    // Reads and validates an auth file. Throws Error(bad_request) naming the file and the
    // problem (unreadable, not a JSON array, an empty or repeated token, an unknown role).
    static ClientAuth load(const std::string& path);

    bool enabled() const { return !tokens_.empty(); }

    // The role of an "Authorization: Bearer <token>" header value, or of "Basic" credentials
    // whose password is the token (how rqlite's clients authenticate; any user name), or
    // nullopt when the header is missing, neither, or names no known token. Compares against
    // every token in constant time so timing does not reveal a near miss.
    std::optional<Role> role_for(std::string_view authorization) const;

  private:
    // Tokens are kept as SHA-256 digests: equal lengths make the comparison constant
    // time whatever the presented token's length.
    using Digest = std::array<unsigned char, 32>;
    static Digest digest(std::string_view token);
    struct Token {
        Digest digest;
        Role role;
    };
    std::vector<Token> tokens_;
};

}  // namespace sqlrep
