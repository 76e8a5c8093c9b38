// Read-only status API (Boost.Beast, on the daemon's io_context). Loopback by default; GET only.
// `/` is the live HTML report (report library); /api/* is JSON.
// Each request reads a consistent snapshot through its own connection (WAL), so a slow client never
// holds the daemon's write lock.
#include <utility>  // before Boost 1.74 asio under C++20 (std::exchange)

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string_view>

#include "daemon_internal.h"
#include "isoflop/orchestrator.h"
#include "isoflop/orchestrator_report.h"
#include "isoflop/report.h"

namespace isoflop::orchestrator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

struct Reply {
  http::status status = http::status::ok;
  std::string body;
  std::string content_type = "application/json";
};

// The live report (issue 7): rendered by the report library from the database as it is now,
// on every request, so a browser refresh shows the latest runs, fit and plan.
Reply LiveReport(const std::string& db_path) {
  Reply reply;
  reply.content_type = "text/html; charset=utf-8";
  report::ReportInput input;
  input.source = db_path + " (live)";
  const Status filled = FillReportInputFromDb(db_path, &input);
  std::string problem;
  if (filled.ok()) {
    auto html = report::RenderHtml(input, report::ReportOptions{});
    if (html.ok()) {
      reply.body = std::move(*html);
      return reply;
    }
    problem = html.status().message();
    reply.status = http::status::internal_server_error;
  } else if (filled.code() == Status::Code::kFailedPrecondition) {
    problem = filled.message();  // no runs yet: a normal state at the start of a sweep
  } else {
    problem = filled.message();
    reply.status = http::status::service_unavailable;
  }
  reply.body = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>isoflop</title></head><body><p>" +
               report::XmlEscape(problem) +
               "</p><p>JSON: /api/status, /api/runs, /api/fit, /api/plan</p></body></html>";
  return reply;
}

Reply Route(const std::string& target, const std::string& db_path) {
  std::string path = target.substr(0, target.find('?'));
  if (path == "/" || path == "/index.html") return LiveReport(db_path);
  if (path == "/metrics") {
    auto text = PrometheusMetrics(db_path);
    if (!text.ok())
      return {http::status::service_unavailable, "# " + text.status().message() + "\n", "text/plain"};
    return {http::status::ok, std::move(*text), "text/plain; version=0.0.4; charset=utf-8"};
  }
  StatusOptions options;
  options.all_runs = path == "/api/runs";  // the other endpoints list only live and recent runs
  auto report = GetStatus(db_path, options);
  if (!report.ok()) {
    return {http::status::service_unavailable, json{{"error", report.status().message()}}.dump()};
  }
  json all = json::parse(report->ToJson());
  if (path == "/api/runs") return {http::status::ok, all["runs"].dump(2)};
  if (path == "/api/fit")
    return {http::status::ok, json{{"fit", all["fit"]}, {"narrowing", all["narrowing"]}}.dump(2)};
  if (path == "/api/plan") return {http::status::ok, all["plan"].dump(2)};
  if (path == "/api/status") return {http::status::ok, all.dump(2)};
  return {http::status::not_found,
          json{{"error", "no such endpoint: " + path},
               {"endpoints", {"/", "/api/runs", "/api/fit", "/api/plan", "/api/status", "/metrics"}}}
              .dump()};
}

// DNS rebinding (a web page whose host name is made to resolve to 127.0.0.1) reaches a loopback
// server with the page's own name in the Host header; so without --listen-public only loopback
// names are served: localhost, 127.x.y.z, [::1], with or without a port. No Host (HTTP/1.0
// clients) is accepted: a browser always sends one.
bool HostAllowed(std::string_view host) {
  if (host.empty()) return true;
  std::string h(host);
  if (!h.empty() && h.front() == '[') {
    const size_t close = h.find(']');
    if (close == std::string::npos) return false;
    const std::string rest = h.substr(close + 1);
    if (!rest.empty() && (rest[0] != ':' || rest.find_first_not_of("0123456789", 1) != std::string::npos))
      return false;
    h = h.substr(1, close - 1);
  } else if (const size_t colon = h.rfind(':'); colon != std::string::npos) {
    if (h.find_first_not_of("0123456789", colon + 1) != std::string::npos) return false;
    h.resize(colon);
  }
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return h == "localhost" || IsLoopbackAddress(h);
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::string db_path, bool public_ok)
      : stream_(std::move(socket)), db_path_(std::move(db_path)), public_ok_(public_ok) {}

  void Start() {
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) return;
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(request_.version());
    response->set(http::field::server, "isoflop");
    response->set(http::field::content_type, "application/json");
    if (request_.method() != http::verb::get) {
      response->result(http::status::method_not_allowed);
      response->body() = R"({"error": "read-only API: GET only"})";
    } else if (!public_ok_ && !HostAllowed(std::string(request_[http::field::host]))) {
      response->result(http::status::misdirected_request);
      response->body() =
          R"({"error": "this server answers only loopback Host names (localhost, 127.0.0.1, [::1]); see --listen-public"})";
    } else {
      Reply reply = Route(std::string(request_.target()), db_path_);
      response->result(reply.status);
      response->set(http::field::content_type, reply.content_type);
      response->body() = std::move(reply.body);
    }
    response->keep_alive(false);
    response->prepare_payload();
    http::async_write(stream_, *response, [self = shared_from_this(), response](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  std::string db_path_;
  bool public_ok_ = false;
};

class BeastStatusServer : public StatusServer {
 public:
  BeastStatusServer(asio::io_context& io, std::string db_path, bool public_ok)
      : acceptor_(io), db_path_(std::move(db_path)), public_ok_(public_ok) {}

  Status Listen(const std::string& listen) {
    std::string host;
    int port = 0;
    ISOFLOP_RETURN_IF_ERROR(ParseListenAddress(listen, &host, &port));
    beast::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    tcp::endpoint ep(address, static_cast<uint16_t>(port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("--listen " + listen + ": " + ec.message());
    Accept();
    return Status::OK();
  }

  std::string endpoint() const override {
    auto ep = acceptor_.local_endpoint();
    return ep.address().to_string() + ":" + std::to_string(ep.port());
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      std::make_shared<Session>(std::move(socket), db_path_, public_ok_)->Start();
      Accept();
    });
  }

  tcp::acceptor acceptor_;
  std::string db_path_;
  bool public_ok_ = false;
};

}  // namespace

StatusOr<std::unique_ptr<StatusServer>> StatusServer::Start(asio::io_context& io, const std::string& listen,
                                                            const std::string& db_path, bool public_ok) {
  auto server = std::make_unique<BeastStatusServer>(io, db_path, public_ok);
  ISOFLOP_RETURN_IF_ERROR(server->Listen(listen));
  return std::unique_ptr<StatusServer>(std::move(server));
}

}  // namespace isoflop::orchestrator
