#include "sql_text.hpp"

#include <cctype>

#include <sqlite3.h>

namespace sqlrep::shell {

namespace {

// Walks SQL text a token at a time, skipping whitespace and comments and treating a
// quoted literal or identifier as one token. Only what classify needs: words (keywords
// and bare identifiers, upper-cased), single punctuation characters, and "other".
class Lexer {
  public:
    enum class Kind { word, punct, other, end };
    struct Token {
        Kind kind;
        std::string text;  // upper-cased word, or the punctuation character
    };

    explicit Lexer(std::string_view sql) : sql_(sql) {}

    Token next() {
        skip_space_and_comments();
        if (at_ >= sql_.size()) return {Kind::end, ""};
        char c = sql_[at_];
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            std::string word;
            while (at_ < sql_.size() && (std::isalnum(static_cast<unsigned char>(sql_[at_])) ||
                                         sql_[at_] == '_' || sql_[at_] == '$'))
                word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql_[at_++])));
            return {Kind::word, word};
        }
        if (c == '\'' || c == '"' || c == '`') {
            skip_quoted(c);
            return {Kind::other, ""};
        }
        if (c == '[') {
            skip_quoted(']');
            return {Kind::other, ""};
        }
        ++at_;
        if (c == '(' || c == ')' || c == ';' || c == ',') return {Kind::punct, std::string(1, c)};
        return {Kind::other, ""};
    }

    bool at_end() {
        skip_space_and_comments();
        return at_ >= sql_.size();
    }

  private:
    void skip_space_and_comments() {
        while (at_ < sql_.size()) {
            char c = sql_[at_];
            if (std::isspace(static_cast<unsigned char>(c))) {
                ++at_;
            } else if (sql_.compare(at_, 2, "--") == 0) {
                size_t eol = sql_.find('\n', at_);
                at_ = eol == std::string_view::npos ? sql_.size() : eol + 1;
            } else if (sql_.compare(at_, 2, "/*") == 0) {
                size_t close = sql_.find("*/", at_ + 2);
                at_ = close == std::string_view::npos ? sql_.size() : close + 2;
            } else {
                return;
            }
        }
    }

    // A doubled closing quote inside is part of the literal ('it''s').
    void skip_quoted(char close) {
        ++at_;
        while (at_ < sql_.size()) {
            if (sql_[at_++] != close) continue;
            if (close != ']' && at_ < sql_.size() && sql_[at_] == close) {
                ++at_;
                continue;
            }
            return;
        }
    }

    std::string_view sql_;
    size_t at_ = 0;
};

bool complete(const std::string& text) { return sqlite3_complete(text.c_str()) != 0; }

}  // namespace

void StatementBuffer::add_line(std::string_view line) {
    buffer_.append(line);
    buffer_ += '\n';
}

std::vector<std::string> StatementBuffer::take_complete() {
    std::vector<std::string> statements;
    size_t start = 0;
    for (size_t semicolon = buffer_.find(';'); semicolon != std::string::npos;
         semicolon = buffer_.find(';', semicolon + 1)) {
        std::string candidate = buffer_.substr(start, semicolon + 1 - start);
        if (!complete(candidate)) continue;
        if (!is_blank_sql(candidate.substr(0, candidate.size() - 1))) {
            size_t text = candidate.find_first_not_of(" \t\r\n");
            statements.push_back(candidate.substr(text));
        }
        start = semicolon + 1;
    }
    buffer_.erase(0, start);
    if (is_blank_sql(buffer_)) buffer_.clear();
    return statements;
}

std::string StatementBuffer::take_rest() {
    std::string rest;
    rest.swap(buffer_);
    return is_blank_sql(rest) ? std::string() : rest;
}

bool is_blank_sql(std::string_view sql) { return Lexer(sql).at_end(); }

StatementKind classify(std::string_view sql) {
    Lexer lexer(sql);
    Lexer::Token first = lexer.next();
    if (first.kind != Lexer::Kind::word) return StatementKind::write;
    const std::string& word = first.text;
    if (word == "SELECT" || word == "VALUES" || word == "EXPLAIN" || word == "PRAGMA")
        return StatementKind::read;
    if (word == "BEGIN") return StatementKind::begin;
    if (word == "COMMIT" || word == "END") return StatementKind::commit;
    if (word == "ROLLBACK") {
        // ROLLBACK [TRANSACTION] TO [SAVEPOINT] name is a savepoint's: the node's to refuse.
        Lexer::Token t = lexer.next();
        if (t.kind == Lexer::Kind::word && t.text == "TRANSACTION") t = lexer.next();
        if (t.kind == Lexer::Kind::word && t.text == "TO") return StatementKind::write;
        return StatementKind::rollback;
    }
    if (word == "WITH") {
        // The common table expressions are in parentheses: the first keyword outside
        // them says what the statement does.
        int depth = 0;
        for (Lexer::Token t = lexer.next(); t.kind != Lexer::Kind::end; t = lexer.next()) {
            if (t.kind == Lexer::Kind::punct && t.text == "(") ++depth;
            if (t.kind == Lexer::Kind::punct && t.text == ")") --depth;
            if (depth != 0 || t.kind != Lexer::Kind::word) continue;
            if (t.text == "SELECT" || t.text == "VALUES") return StatementKind::read;
            if (t.text == "INSERT" || t.text == "UPDATE" || t.text == "DELETE" ||
                t.text == "REPLACE")
                return StatementKind::write;
        }
    }
    return StatementKind::write;
}

std::string quote_literal(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        out += c;
        if (c == '\'') out += '\'';
    }
    return out + "'";
}

std::string quote_identifier(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        out += c;
        if (c == '"') out += '"';
    }
    return out + "\"";
}

}  // namespace sqlrep::shell
