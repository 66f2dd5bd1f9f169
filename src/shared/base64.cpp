#include "shared/base64.hpp"

#include <openssl/evp.h>

#include "shared/error.hpp"

namespace sqlrep {

std::string base64_encode(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()),
                            static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string base64_decode(const std::string& text) {
    if (text.size() % 4 != 0) throw Error(ErrorKind::bad_request, "not valid base64");
    // EVP_DecodeBlock reads '=' anywhere as zero bits; padding belongs only at the end.
    std::size_t first_pad = text.find('=');
    if (first_pad != std::string::npos &&
        (text.size() - first_pad > 2 ||
         text.find_first_not_of('=', first_pad) != std::string::npos))
        throw Error(ErrorKind::bad_request, "not valid base64");
    std::string out(3 * text.size() / 4, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
    if (n < 0) throw Error(ErrorKind::bad_request, "not valid base64");
    // EVP_DecodeBlock counts the '=' padding as zero bytes; drop them.
    std::size_t padding = 0;
    for (auto it = text.rbegin(); it != text.rend() && *it == '=' && padding < 2; ++it) ++padding;
    out.resize(static_cast<std::size_t>(n) - padding);
    return out;
}

}  // namespace sqlrep
