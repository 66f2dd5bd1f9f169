// Boost.JSON compiled from source into the fuzz targets (instead of linking Debian's
// gcc-built libboost_json) so that libFuzzer's coverage and the sanitizers reach inside
// the JSON parser and serializer, which every input goes through first.

#include <boost/json/src.hpp>
