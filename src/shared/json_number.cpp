#include "shared/json_number.hpp"

#include <locale.h>

#include <cstdlib>
#include <string>

#include <boost/json/basic_parser_impl.hpp>

namespace sqlrep {
namespace {

// strtod reads the decimal point of the current locale; JSON's is always '.'.
locale_t c_locale() {
    static const locale_t locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0));
    return locale;
}

// Boost.JSON's own handler (boost/json/detail/handler.hpp) with one change: on_double
// reads the number's text again. A number split across write_some calls arrives in parts;
// parse_json_exact writes once, but the parts are kept anyway so that no input can reach
// on_double with half of its text.
class ExactHandler {
  public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    // `temp` holds the partial values while parsing; `sp` will own the result.
    ExactHandler(unsigned char* temp, std::size_t temp_size, json::storage_ptr sp)
        : stack_({}, temp, temp_size) {
        stack_.reset(std::move(sp));
    }

    json::value release() { return stack_.release(); }

    bool on_document_begin(json::error_code&) { return true; }
    bool on_document_end(json::error_code&) { return true; }
    bool on_object_begin(json::error_code&) { return true; }
    bool on_object_end(std::size_t n, json::error_code&) {
        stack_.push_object(n);
        return true;
    }
    bool on_array_begin(json::error_code&) { return true; }
    bool on_array_end(std::size_t n, json::error_code&) {
        stack_.push_array(n);
        return true;
    }
    bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
        stack_.push_chars(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, json::error_code&) {
        stack_.push_key(s);
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
        stack_.push_chars(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, json::error_code&) {
        stack_.push_string(s);
        return true;
    }
    bool on_number_part(json::string_view s, json::error_code&) {
        number_.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
        number_.clear();
        stack_.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
        number_.clear();
        stack_.push_uint64(u);
        return true;
    }
    bool on_double(double, json::string_view s, json::error_code&) {
        double d;
        if (number_.empty()) {
            d = json_number_to_double({s.data(), s.size()});
        } else {
            number_.append(s.data(), s.size());
            d = json_number_to_double(number_);
            number_.clear();
        }
        stack_.push_double(d);
        return true;
    }
    bool on_bool(bool b, json::error_code&) {
        stack_.push_bool(b);
        return true;
    }
    bool on_null(json::error_code&) {
        stack_.push_null();
        return true;
    }
    bool on_comment_part(json::string_view, json::error_code&) { return true; }
    bool on_comment(json::string_view, json::error_code&) { return true; }

  private:
    json::value_stack stack_;
    std::string number_;  // the parts of a number split across writes
};

}  // namespace

double json_number_to_double(std::string_view text) {
    // strtod wants a terminating NUL; a number rarely needs the heap for that.
    char small[64];
    std::string large;
    const char* z;
    if (text.size() < sizeof small) {
        text.copy(small, text.size());
        small[text.size()] = '\0';
        z = small;
    } else {
        large.assign(text);
        z = large.c_str();
    }
    // glibc's strtod is correctly rounded (round to nearest even), overflow included
    // (+-HUGE_VAL, which is infinity) and underflow (the nearest subnormal, or +-0.0);
    // errno's ERANGE says nothing the value does not.
    return strtod_l(z, nullptr, c_locale());
}

json::value parse_json_exact(std::string_view text, boost::system::error_code& ec,
                             json::storage_ptr sp, const json::parse_options& options) {
    // The same steps as json::parse: json::parser::write, then release().
    unsigned char temp[BOOST_JSON_STACK_BUFFER_SIZE];
    json::basic_parser<ExactHandler> parser(options, temp, sizeof temp, std::move(sp));
    std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
    if (!ec && used < text.size()) ec = json::error::extra_data;
    if (ec) return nullptr;
    return parser.handler().release();
}

}  // namespace sqlrep
