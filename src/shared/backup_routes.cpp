#include "shared/backup_routes.hpp"

#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "shared/backup_file.hpp"
#include "shared/compression.hpp"
#include "shared/log_entry.hpp"
#include "shared/temp_files.hpp"

namespace sqlrep {
namespace {

constexpr std::size_t kSendChunk = 256 * 1024;

std::string_view path_of(const HttpRequest& req) {
    std::string_view target = req.target();
    return target.substr(0, target.find('?'));
}

// The value of `name` in the target's query string (nullopt when absent). Values here
// are plain words, so no percent-decoding.
std::optional<std::string> query_param(const HttpRequest& req, std::string_view name) {
    std::string_view target = req.target();
    auto q = target.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
        std::string_view pair = query.substr(0, query.find('&'));
        query.remove_prefix(std::min(query.size(), pair.size() + 1));
        std::string_view key = pair.substr(0, pair.find('='));
        if (key != name) continue;
        return std::string(key.size() < pair.size() ? pair.substr(key.size() + 1) : "");
    }
    return std::nullopt;
}

// Sends a backup file a chunk at a time: read a chunk, write it, and on its completion
// read the next. One chunk in memory. The file's name is removed as soon as it is open
// (the open stream keeps its bytes), so nothing is left behind, however the send ends.
class FileSender : public std::enable_shared_from_this<FileSender> {
  public:
    FileSender(std::shared_ptr<ResponseStream> stream, const std::string& path)
        : stream_(std::move(stream)), in_(path, std::ios::binary) {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
    }

    void run(HttpResponse head) {
        if (!in_) {
            stream_->send_whole(error_response(ErrorKind::internal, "cannot read the backup"));
            return;
        }
        stream_->start(std::move(head),
                       [self = shared_from_this()](beast::error_code ec) { self->on_write(ec); });
    }

  private:
    void on_write(beast::error_code ec) {
        if (ec) return;  // the client is gone: the stream is closed
        std::string chunk(kSendChunk, '\0');
        in_.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        chunk.resize(static_cast<std::size_t>(in_.gcount()));
        if (chunk.empty()) {
            if (in_.bad()) return stream_->abort();  // a cut body, never a short one
            return stream_->finish();
        }
        stream_->write(std::move(chunk),
                       [self = shared_from_this()](beast::error_code ec) { self->on_write(ec); });
    }

    std::shared_ptr<ResponseStream> stream_;
    std::ifstream in_;
};

}  // namespace

BackupRoutes::BackupRoutes(const NodeConfig& config, ClusterState& cluster, CurrentRole role)
    : config_(config), cluster_(cluster), role_(std::move(role)) {}

bool BackupRoutes::is_restore(const HttpRequest& req) {
    std::string_view path = path_of(req);
    return path == "/restore" || path == "/db/load";
}

void BackupRoutes::serve_backup(std::shared_ptr<ResponseStream> stream, const HttpRequest& req,
                                Role) {
    // Every client role may read every table, so every client role may take a backup.
    BackupFormat format = BackupFormat::sqlite;
    std::optional<std::string> format_name = query_param(req, "format");
    if (!format_name) format_name = query_param(req, "fmt");  // rqlite's spelling
    if (format_name && *format_name == "sql")
        format = BackupFormat::sql;
    else if (format_name && *format_name != "sqlite" && *format_name != "binary")
        throw Error(ErrorKind::bad_request, "format must be sqlite or sql");
    Codec codec = Codec::none;
    if (auto name = query_param(req, "compress")) {
        std::optional<Codec> named = codec_from_name(*name);
        if (!named) throw Error(ErrorKind::bad_request, "compress must be none, gzip or zstd");
        codec = *named;
    }
    if (std::string why = role_()->local_read_refusal(); !why.empty())
        throw Error(ErrorKind::diverged, "no backup from this node: " + why);

    unsigned version = req.version();
    int node_id = config_.node_id;
    std::string database = config_.database_path();
    backup_thread_.post([stream, format, codec, version, node_id, database] {
        BackupFile backup;
        try {
            Connection conn(database, Connection::Mode::reader);
            backup = create_backup(conn, format, codec);
        } catch (const std::exception& e) {
            spdlog::error("backup failed: {}", e.what());
            return stream->send_whole(
                error_response(ErrorKind::internal, std::string("backup failed: ") + e.what()));
        }
        spdlog::info("backup at index {} ({} bytes, {}{})", backup.position.index, backup.bytes,
                     format == BackupFormat::sql ? "sql" : "sqlite",
                     codec == Codec::none ? "" : std::string(", ") + codec_name(codec));
        HttpResponse head{http::status::ok, version};
        head.set(http::field::server, "sqlrep");
        head.set(http::field::content_type, backup_content_type(format, codec));
        head.set(http::field::content_disposition,
                 "attachment; filename=\"" +
                     backup_file_name(format, codec, backup.position.index) + "\"");
        head.set("X-Sqlrep-Index", std::to_string(backup.position.index));
        head.set("X-Sqlrep-Term", std::to_string(backup.position.term));
        head.set("X-Sqlrep-Hash", to_hex(backup.position.hash));
        head.set("X-Sqlrep-Node", std::to_string(node_id));
        head.set("X-Sqlrep-Backup-Bytes", std::to_string(backup.bytes));
        std::make_shared<FileSender>(stream, backup.path)->run(std::move(head));
    });
}

std::optional<HttpResponse> BackupRoutes::admit_restore(const HttpRequest& headers, Role role,
                                                        Admission& admission) {
    if (headers.method() != http::verb::post)
        return error_response(ErrorKind::method_not_allowed,
                              std::string(path_of(headers)) + " answers POST only");
    if (role < Role::admin)
        return error_response(ErrorKind::forbidden,
                              "a restore replaces the whole database: it needs the admin role");
    if (std::string_view(role_()->name()) != "master") {
        std::string master = cluster_.master_url();
        return error_response(ErrorKind::conflict,
                              "POST /restore is served by the master only" +
                                  (master.empty() ? std::string(": none is known now")
                                                  : ": send it to " + master + "/restore"));
    }
    admission.body_file = unique_temp_path(config_.database_path(), "restore-upload");
    admission.body_limit = static_cast<std::size_t>(config_.max_restore_bytes);
    return std::nullopt;
}

void BackupRoutes::serve_restore(const HttpRequest& req, const Admission& admission,
                                 Respond respond) {
    if (admission.body_file.empty())
        throw Error(ErrorKind::bad_request, "POST /restore takes the database as its body");
    std::string upload = admission.body_file;
    try {
        std::optional<UploadFormat> format;
        // Any other type (curl's default form type, none at all): the bytes decide.
        if (auto type = req.find(http::field::content_type); type != req.end())
            format = upload_format_from_content_type(type->value());
        AckMode ack = config_.default_ack;
        if (auto name = query_param(req, "ack")) {
            std::optional<AckMode> parsed = parse_ack_mode(*name);
            if (!parsed) throw Error(ErrorKind::bad_request, "ack must be master, quorum or all");
            ack = *parsed;
        }
        role_()->serve_restore(std::move(upload), format, ack, std::move(respond));
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(upload, ignored);
        throw;
    }
}

}  // namespace sqlrep
