// The archive's file format (archive_format.hpp): names, the self-describing header, the
// segment codec, and that every kind of damage is reported with the file's name.

#include "shared/archive_format.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "shared/error.hpp"
#include "test_support.hpp"

namespace {

using namespace sqlrep;
namespace fs = std::filesystem;

std::vector<Entry> make_entries(int64_t first, int count) {
    std::vector<Entry> out;
    Hash previous{};
    previous[0] = 7;
    for (int i = 0; i < count; ++i) {
        Entry e;
        e.index = first + i;
        e.term = 2;
        e.time_ms = 1764734706000 + i;
        e.body =
            std::string(static_cast<std::size_t>(10 + i * 37), static_cast<char>('a' + i % 26));
        if (i % 2) e.request_id = "req-" + std::to_string(i);
        e.hash = chain_hash(previous, e);
        previous = e.hash;
        out.push_back(std::move(e));
    }
    return out;
}

fs::path write_segment(const fs::path& dir, const std::vector<Entry>& entries) {
    ArchiveHeader h;
    h.kind = ArchiveKind::log;
    h.first = entries.front().index;
    h.last = entries.back().index;
    h.last_hash = entries.back().hash;
    h.first_time_ms = entries.front().time_ms;
    h.last_time_ms = entries.back().time_ms;
    h.term = 2;
    std::string content;
    for (const Entry& e : entries) encode_segment_entry(e, content);
    return write_archive_file(dir, h, [&](const RawSink& sink) { sink(content); });
}

std::string read_all(const fs::path& path) {
    ArchiveHeader h = read_archive_header(path);
    std::string content;
    read_archive_content(path, h, [&](std::string_view piece) { content += piece; });
    return content;
}

void flip(const fs::path& path, std::streamoff offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(offset);
    char c = 0;
    f.get(c);
    f.seekp(offset);
    f.put(static_cast<char>(c ^ 0x04));
}

}  // namespace

TEST_CASE("archive file names sort in log order and parse back", "[shared][archive]") {
    ArchiveHeader h;
    h.kind = ArchiveKind::log;
    h.first = 12;
    h.last = 3456;
    CHECK(archive_file_name(h) == "log-000000000012-000000003456.zst");
    h.kind = ArchiveKind::snapshot;
    h.first = h.last = 99;
    CHECK(archive_file_name(h) == "snapshot-000000000099.db.zst");

    auto log = parse_archive_name("log-000000000012-000000003456.zst");
    REQUIRE(log);
    CHECK(log->kind == ArchiveKind::log);
    CHECK(log->first == 12);
    CHECK(log->last == 3456);
    auto snap = parse_archive_name("snapshot-000000000099.db.zst");
    REQUIRE(snap);
    CHECK(snap->kind == ArchiveKind::snapshot);
    CHECK(snap->last == 99);
    for (const char* junk : {"log-5-3.zst", "log-0-3.zst", "log-1.zst", "log-a-3.zst",
                             ".tmp-1-log-000000000001-000000000002.zst", "snapshot-.db.zst",
                             "snapshot-12.db", ".lock", "archive.term", "log--1-2.zst"})
        CHECK_FALSE(parse_archive_name(junk));
}

TEST_CASE("a segment file round-trips every field of every entry", "[shared][archive]") {
    test::TempDir dir;
    std::vector<Entry> entries = make_entries(41, 30);
    fs::path path = write_segment(dir.path(), entries);
    CHECK(path.filename() == "log-000000000041-000000000070.zst");

    ArchiveHeader h = read_archive_header(path);
    CHECK(h.first == 41);
    CHECK(h.last == 70);
    CHECK(h.term == 2);
    CHECK(h.last_hash == entries.back().hash);
    CHECK(h.last_time_ms == entries.back().time_ms);
    std::vector<Entry> back = decode_segment(read_all(path));
    REQUIRE(back.size() == entries.size());
    for (std::size_t i = 0; i < back.size(); ++i) {
        CHECK(back[i].index == entries[i].index);
        CHECK(back[i].term == entries[i].term);
        CHECK(back[i].time_ms == entries[i].time_ms);
        CHECK(back[i].hash == entries[i].hash);
        CHECK(back[i].request_id == entries[i].request_id);
        CHECK(back[i].body == entries[i].body);
    }
    // No temporary file is left behind, and the listing finds the one file.
    auto listed = list_archive(dir.path());
    REQUIRE(listed.size() == 1);
    CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("a damaged archive file is reported with its name", "[shared][archive]") {
    test::TempDir dir;
    fs::path path = write_segment(dir.path(), make_entries(1, 50));
    const std::string name = path.filename().string();
    auto fails_naming = [&](const std::string& why) {
        try {
            read_all(path);
            FAIL("no error for " << why);
        } catch (const Error& e) {
            INFO(e.what());
            CHECK(e.kind() == ErrorKind::bad_request);
            CHECK(std::string(e.what()).find(name) != std::string::npos);
            CHECK(std::string(e.what()).find(why) != std::string::npos);
        }
    };
    std::string intact;
    {
        std::ifstream in(path, std::ios::binary);
        intact.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto reset = [&] {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << intact;
    };

    SECTION("truncated") {
        fs::resize_file(path, intact.size() - 1);
        fails_naming("truncated");
    }
    SECTION("cut inside the header") {
        fs::resize_file(path, 100);
        fails_naming("truncated");
    }
    SECTION("extended") {
        std::ofstream(path, std::ios::binary | std::ios::app) << "x";
        fails_naming("longer");
    }
    SECTION("a flipped content byte") {
        flip(path, static_cast<std::streamoff>(intact.size() - 10));
        fails_naming("checksum");
    }
    SECTION("a flipped header byte") {
        flip(path, 30);
        fails_naming("header");
    }
    SECTION("renamed to another range") {
        fs::path other = dir.path() / "log-000000000001-000000000049.zst";
        fs::rename(path, other);
        try {
            read_all(other);
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find("log-000000000001-000000000049.zst") !=
                  std::string::npos);
            CHECK(std::string(e.what()).find("name") != std::string::npos);
        }
        fs::rename(other, path);
    }
    reset();
    CHECK_NOTHROW(read_all(path));
}

TEST_CASE("a segment cut inside an entry does not decode", "[shared][archive]") {
    std::string content;
    for (const Entry& e : make_entries(1, 3)) encode_segment_entry(e, content);
    CHECK(decode_segment(content).size() == 3);
    for (std::size_t cut : {std::size_t{1}, std::size_t{20}, content.size() - 1})
        CHECK_THROWS_AS(decode_segment(std::string_view(content).substr(0, cut)), Error);
}
