# Writes a C++ source holding a file's bytes, so the binary carries it (the web console):
#   cmake -DINPUT=page.html -DOUTPUT=page.cpp -DSYMBOL=kPage -P embed_file.cmake
# defines `extern const unsigned char SYMBOL[]` (the bytes and a trailing NUL, not counted)
# and `extern const std::size_t SYMBOL_size` in namespace sqlrep.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
# Sixteen bytes per line keeps the generated file readable and its lines short.
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n    " bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/embed_file.cmake: do not edit.\n"
  "#include <cstddef>\n\n"
  "namespace sqlrep {\n"
  "extern const unsigned char ${SYMBOL}[] = {\n    ${bytes}0x00};\n"
  "extern const std::size_t ${SYMBOL}_size = ${size};\n"
  "}  // namespace sqlrep\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
