#include "shared/client_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <set>
#include <sstream>

#include "shared/base64.hpp"
#include "shared/error.hpp"
#include "shared/net.hpp"
#include "shared/sql_executor.hpp"

namespace sqlrep {
namespace {

std::optional<Role> parse_role(std::string_view name) {
    if (name == "read") return Role::read;
    if (name == "write") return Role::write;
    if (name == "admin") return Role::admin;
    return std::nullopt;
}

}  // namespace

const char* role_name(Role role) {
    switch (role) {
        case Role::read:
            return "read";
        case Role::write:
            return "write";
        case Role::admin:
            return "admin";
    }
    return "?";
}

ClientAuth::Digest ClientAuth::digest(std::string_view token) {
    Digest d;
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
    return d;
}

ClientAuth ClientAuth::load(const std::string& path) {
    auto fail = [&](const std::string& why) {
        return Error(ErrorKind::bad_request, "auth file " + path + ": " + why);
    };
    std::ifstream in(path);
    if (!in) throw fail("cannot be read");
    std::stringstream text;
    text << in.rdbuf();

    boost::system::error_code ec;
    json::value doc = json::parse(text.str(), ec);
    if (ec) throw fail("not valid JSON: " + ec.message());
    if (!doc.is_array() || doc.get_array().empty())
        throw fail(
            R"(expected a non-empty JSON array of {"token": "...", "role": "read|write|admin"})");

    ClientAuth auth;
    std::set<std::string> seen;
    std::size_t position = 0;
    for (const json::value& item : doc.get_array()) {
        std::string where = "entry " + std::to_string(position++);
        const json::object* o = item.if_object();
        if (o == nullptr) throw fail(where + " is not an object");
        for (const auto& field : *o)
            if (field.key() != "token" && field.key() != "role")
                throw fail(where + " has an unknown field \"" + std::string(field.key()) + "\"");
        const json::value* token = o->if_contains("token");
        const json::value* role = o->if_contains("role");
        if (token == nullptr || !token->is_string() || token->get_string().empty())
            throw fail(where + " needs a non-empty string \"token\"");
        if (role == nullptr || !role->is_string()) throw fail(where + " needs a string \"role\"");
        std::optional<Role> parsed = parse_role(role->get_string());
        if (!parsed)
            throw fail(where + " has role \"" + std::string(role->get_string()) +
                       "\"; roles are read, write and admin");
        if (!seen.insert(std::string(token->get_string())).second)
            throw fail(where + " repeats a token given earlier");
        auth.tokens_.push_back(Token{digest(token->get_string()), *parsed});
    }
    return auth;
}

namespace {

// Whether `header` starts with the scheme name `scheme` ("Bearer ", "Basic "): scheme
// names are case-insensitive (RFC 9110); what follows is not.
bool has_scheme(std::string_view header, std::string_view scheme) {
    if (header.size() <= scheme.size()) return false;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(header[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i])))
            return false;
    return true;
}

// The token an "Authorization" value presents: a bearer token, or the password of HTTP
// Basic credentials (rqlite's clients send those; the user name is not checked). Nullopt
// for anything else.
std::optional<std::string> presented_token(std::string_view authorization) {
    constexpr std::string_view bearer = "Bearer ";
    constexpr std::string_view basic = "Basic ";
    if (has_scheme(authorization, bearer)) return std::string(authorization.substr(bearer.size()));
    if (!has_scheme(authorization, basic)) return std::nullopt;
    std::string credentials;
    try {
        credentials = base64_decode(std::string(authorization.substr(basic.size())));
    } catch (const Error&) {
        return std::nullopt;
    }
    auto colon = credentials.find(':');
    if (colon == std::string::npos) return std::nullopt;
    return credentials.substr(colon + 1);
}

}  // namespace

std::optional<Role> ClientAuth::role_for(std::string_view authorization) const {
    std::optional<std::string> token = presented_token(authorization);
    if (!token) return std::nullopt;
    Digest presented = digest(*token);

    std::optional<Role> found;
    for (const Token& t : tokens_)
        if (CRYPTO_memcmp(t.digest.data(), presented.data(), presented.size()) == 0) found = t.role;
    return found;
}

}  // namespace sqlrep
