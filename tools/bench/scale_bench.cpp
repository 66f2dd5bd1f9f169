#include "scale_bench.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "interrupt.hpp"
#include "load_generator.hpp"
#include "scratch_dir.hpp"
#include "sqlrep_cluster.hpp"
#include "workload.hpp"

namespace sqlrep::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// MB/s of writing `mb` MiB to a new file in `dir` and fsyncing it (dd conv=fsync).
double disk_write_mb_s(const std::string& dir, int64_t mb) {
    std::string path = dir + "/disk-speed";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + path);
    std::vector<char> block(1 << 20, 'x');
    auto start = Clock::now();
    for (int64_t i = 0; i < mb; ++i)
        if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) {
            ::close(fd);
            throw std::runtime_error("cannot write " + path);
        }
    ::fsync(fd);
    double seconds = seconds_since(start);
    ::close(fd);
    std::filesystem::remove(path);
    return static_cast<double>(mb) / seconds;
}

// Fills table `big` with about `mb` MiB of rows, 8 MiB per write.
void fill(const std::string& master_url, int64_t mb) {
    HttpClient client(master_url);
    auto exec = [&](const std::string& sql) {
        std::string body =
            json::serialize(json::object{{"command", "exec"}, {"query", sql}, {"ack", "master"}});
        HttpResult r =
            client.request(http::verb::post, "/", body, {{"Content-Type", "application/json"}},
                           std::chrono::seconds(120));
        if (r.status != 200)
            throw std::runtime_error("fill: HTTP " + std::to_string(r.status) + " " + r.body);
    };
    exec("CREATE TABLE IF NOT EXISTS big (id INTEGER PRIMARY KEY, v BLOB)");
    for (int64_t done = 0; done < mb; done += 8) {
        interrupt::check();
        exec(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000) "
            "INSERT INTO big (v) SELECT randomblob(1000) FROM n");
    }
}

struct Download {
    uint64_t bytes = 0;
    double seconds = 0;
    int64_t index = 0;
};

// GET `target` from `url`, a buffer at a time, counting the bytes and keeping none unless
// `path` names a file: a backup's destination is another machine, and writing it to this
// one's disk would make the bench's own I/O compete with the nodes'.
Download download(const std::string& url, const std::string& target, const std::string& path = "") {
    Url where = parse_url(url);
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.connect(resolver.resolve(where.host, std::to_string(where.port)));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, where.host);
    auto start = Clock::now();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    http::read_header(stream, buffer, parser);
    if (parser.get().result() != http::status::ok) {
        std::string reason(4096, '\0');
        parser.get().body().data = reason.data();
        parser.get().body().size = reason.size();
        beast::error_code ignored;
        http::read(stream, buffer, parser, ignored);
        reason.resize(reason.size() - parser.get().body().size);
        throw std::runtime_error("GET " + target + ": HTTP " +
                                 std::to_string(parser.get().result_int()) + " " + reason);
    }
    Download out;
    if (auto it = parser.get().find("X-Sqlrep-Index"); it != parser.get().end())
        out.index = std::stoll(std::string(it->value()));
    std::ofstream file;
    if (!path.empty()) file.open(path, std::ios::binary | std::ios::trunc);
    std::vector<char> chunk(1 << 20);
    while (!parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        beast::error_code ec;
        http::read(stream, buffer, parser, ec);
        if (ec && ec != http::error::need_buffer) throw beast::system_error(ec);
        std::size_t got = chunk.size() - parser.get().body().size;
        if (file.is_open()) file.write(chunk.data(), static_cast<std::streamsize>(got));
        out.bytes += got;
    }
    out.seconds = seconds_since(start);
    return out;
}

// POSTs the file at `path` to `url`'s /restore (ack=master: the replicas' snapshots are
// waited for apart) and returns the index of the restore entry.
int64_t upload_restore(const std::string& url, const std::string& path) {
    Url where = parse_url(url);
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.connect(resolver.resolve(where.host, std::to_string(where.port)));
    http::request<http::file_body> req{http::verb::post, "/restore?ack=master", 11};
    req.set(http::field::host, where.host);
    req.set(http::field::content_type, "application/octet-stream");
    beast::error_code ec;
    req.body().open(path.c_str(), beast::file_mode::scan, ec);
    if (ec) throw std::runtime_error("cannot open " + path + ": " + ec.message());
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    if (res.result() != http::status::ok)
        throw std::runtime_error("POST /restore: HTTP " + std::to_string(res.result_int()) + " " +
                                 res.body());
    return json::parse(res.body()).as_object().at("index").as_int64();
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// Resets a process's peak RSS (VmHWM), so that the next reading is this phase's peak.
void reset_peak_rss(pid_t pid) {
    std::ofstream clear("/proc/" + std::to_string(pid) + "/clear_refs");
    clear << "5";
}

}  // namespace

void run_scale_bench(const BenchOptions& options, int64_t scale_mb, std::ostream& out) {
    SqlrepLaunch launch;
    launch.bin_dir = options.bin_dir;
    launch.sync = options.sync;
    launch.name = "scale";
    // A short log, so that the replica that joins later takes a snapshot.
    auto cluster = SqlrepCluster::start(launch, {"--log-retain", "1000", "--max-restore-bytes",
                                                 std::to_string(4 * scale_mb << 20)});
    ScratchDir scratch("bench-scale-files");

    auto fill_start = Clock::now();
    fill(cluster->master_url(), scale_mb);
    int64_t filled = SqlrepCluster::applied_index(cluster->master_url());
    for (const auto& url : cluster->replica_urls())
        SqlrepCluster::wait_applied(url, filled, std::chrono::minutes(30));
    out << "scale: filled " << scale_mb << " MB in " << seconds_since(fill_start) << " s (index "
        << filled << ")\n";

    double disk = disk_write_mb_s(scratch.path(), scale_mb);
    out << "scale: disk sequential write (fsync'd): " << disk << " MB/s\n";

    auto workload = sqlrep_upsert(options.keyspace, options.ack);
    {
        HttpClient client(cluster->master_url());
        client.request(
            http::verb::post, "/",
            json::serialize(json::object{{"command", "exec"}, {"query", kSqlrepTableDdl}}),
            {{"Content-Type", "application/json"}});
    }
    LoadSpec spec;
    spec.origin = cluster->master_url();
    spec.concurrency = options.concurrency;
    spec.duration = std::chrono::milliseconds(static_cast<int64_t>(options.duration_s * 1000));
    // The rounds right after the fill run into the nodes' checkpoints of it (gigabytes of
    // WAL): the baseline is the first round within 20% of the one before, once that work
    // is done.
    LoadResult baseline = run_load(spec, *workload);
    for (int round = 0; round < 10; ++round) {
        LoadResult next = run_load(spec, *workload);
        bool steady = std::abs(next.ok_per_second() - baseline.ok_per_second()) <
                      0.2 * std::max(next.ok_per_second(), baseline.ok_per_second());
        baseline = next;
        if (steady) break;
    }
    out << "scale: writes/s with no backup: " << baseline.ok_per_second() << "\n";

    // Quorum writes in rounds of a second for as long as `work` runs.
    auto writes_during = [&](const std::function<void()>& work) {
        std::atomic<bool> done{false};
        LoadResult during;
        std::thread load([&] {
            LoadSpec s = spec;
            s.duration = std::chrono::seconds(1);
            s.max_requests = 0;
            while (!done.load()) during.merge(run_load(s, *workload));
        });
        try {
            work();
        } catch (...) {
            done = true;
            load.join();
            throw;
        }
        done = true;
        load.join();
        return during;
    };
    auto share = [&](const LoadResult& during) {
        return std::to_string(during.ok_per_second()) + " = " +
               std::to_string(during.ok_per_second() / baseline.ok_per_second()) +
               " of the baseline";
    };

    // A new replica joins: replica 2 with its files removed takes a snapshot of the whole
    // database (the log up to here is trimmed: the load wrote past --log-retain).
    {
        ChildProcess* master = cluster->master_process();
        if (master != nullptr) reset_peak_rss(master->pid());
        int64_t target = SqlrepCluster::applied_index(cluster->master_url());
        uint64_t bytes = cluster->master_database_bytes();
        Clock::time_point start;
        bool caught_up = false;
        LoadResult during = writes_during([&] {
            // From the new replica's start: stopping the old one and deleting its files
            // are not part of joining.
            cluster->rejoin_replica(2);
            start = Clock::now();
            caught_up = SqlrepCluster::wait_applied(cluster->replica_urls().at(1), target,
                                                    std::chrono::minutes(30));
        });
        double seconds = seconds_since(start);
        // The rate of the data, not of the master's file: its free pages (here the fill's
        // trimmed log, as big as the data) are not sent.
        double rate = static_cast<double>(scale_mb) / seconds;
        out << "scale: a new replica joined the " << scale_mb
            << " MB database (the master's file: " << mib(bytes) << " MB) in " << seconds
            << " s = " << rate << " MB/s, " << rate / disk << " of the disk's speed"
            << (caught_up ? "" : " (did NOT catch up within 30 min)") << "; master peak RSS "
            << (master ? proc_status_kib(master->pid(), "VmHWM") / 1024 : -1)
            << " MiB; writes/s meanwhile " << share(during) << "\n";
    }

    std::vector<std::pair<std::string, ChildProcess*>> nodes = {
        {"master", cluster->master_process()},
        {"replica 1", cluster->replica_process(0)},
        {"replica 2", cluster->replica_process(1)}};
    auto peaks = [&] {
        std::string text;
        for (auto& [name, p] : nodes)
            if (p != nullptr)
                text += (text.empty() ? "" : ", ") + name + " " +
                        std::to_string(proc_status_kib(p->pid(), "VmHWM") / 1024) + " MiB";
        return text;
    };
    out << "scale: peak RSS so far (fill, load): " << peaks() << "\n";

    // The backup under the same load; the load runs as long as the backup does.
    for (const char* target : {"/backup", "/backup?compress=zstd"}) {
        for (auto& [name, p] : nodes)
            if (p != nullptr) reset_peak_rss(p->pid());
        Download d;
        LoadResult during =
            writes_during([&] { d = download(cluster->replica_urls().at(0), target); });
        double rate = mib(d.bytes) / d.seconds;
        out << "scale: GET " << target << " from a replica: " << mib(d.bytes) << " MB (index "
            << d.index << ") in " << d.seconds << " s = " << rate << " MB/s, " << rate / disk
            << " of the disk's speed; writes/s meanwhile " << share(during)
            << "; peak RSS meanwhile: " << peaks() << "\n";
    }

    // A restore of a backup of the same size, without writes (a restore replaces what they
    // would write): the upload and the master's install, then each replica's snapshot.
    {
        std::string file = scratch.sub("backup.db");
        Download d = download(cluster->replica_urls().at(0), "/backup", file);
        for (auto& [name, p] : nodes)
            if (p != nullptr) reset_peak_rss(p->pid());
        auto start = Clock::now();
        int64_t index = upload_restore(cluster->master_url(), file);
        double on_master = seconds_since(start);
        bool everywhere = true;
        for (const auto& url : cluster->replica_urls())
            everywhere =
                SqlrepCluster::wait_applied(url, index, std::chrono::minutes(30)) && everywhere;
        double seconds = seconds_since(start);
        std::filesystem::remove(file);
        out << "scale: POST /restore of a " << mib(d.bytes) << " MB backup: on the master in "
            << on_master << " s = " << mib(d.bytes) / on_master << " MB/s, on every replica in "
            << seconds << " s = " << mib(d.bytes) / seconds << " MB/s"
            << (everywhere ? "" : " (a replica did NOT get it within 30 min)") << ", "
            << mib(d.bytes) / seconds / disk
            << " of the disk's speed; peak RSS meanwhile: " << peaks() << "\n";
    }
}

}  // namespace sqlrep::bench
