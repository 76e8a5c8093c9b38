// The status server (issue 15): strict --listen parsing and loopback unless --listen-public
// (finding 11), the Host header checked against DNS rebinding (finding 11), and GET /metrics in
// Prometheus' text exposition format 0.0.4 (runs by state, attempts, refits, last fit time,
// per-run tokens/s and loss).
#include <gtest/gtest.h>

#include <sqlite3.h>
#include <regex>
#include <set>
#include <thread>

#include "daemon_internal.h"
#include "isoflop/orchestrator.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using testing::ReadFile;
using testing::TempDir;

TEST(StatusServerTest, ListenAddressesAreParsedStrictlyAndLoopbackByDefault) {
  DaemonOptions o;
  std::string error;
  for (const char* ok : {"127.0.0.1:8470", "[::1]:8470", "127.0.0.1:0", "off", ""}) {
    o.listen = ok;
    EXPECT_TRUE(o.IsValid(&error)) << ok << ": " << error;
  }
  for (const char* bad : {"127.0.0.1:80x", "127.0.0.1:", "127.0.0.1:65536", "localhost:8470", "::1:8470",
                          "127.0.0.1:-1", "8470"}) {
    o.listen = bad;
    EXPECT_FALSE(o.IsValid(&error)) << bad;
    EXPECT_NE(error.find("--listen"), std::string::npos) << error;
  }
  for (const char* open : {"0.0.0.0:8470", "[::]:8470", "10.1.2.3:8470"}) {
    o.listen = open;
    o.listen_public = false;
    EXPECT_FALSE(o.IsValid(&error)) << open;
    EXPECT_NE(error.find("--listen-public"), std::string::npos) << error;
    o.listen_public = true;
    EXPECT_TRUE(o.IsValid(&error)) << open << ": " << error;
  }
}

// The response to one GET with the given Host header ("" sends none).
std::string Get(int port, const std::string& target, const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = "GET " + target + " HTTP/1.1\r\n" + (host.empty() ? "" : "Host: " + host + "\r\n") +
                    "Connection: close\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return resp;
}

// A status server on its own io_context thread, on a free loopback port.
class Server {
 public:
  explicit Server(const std::string& db, bool public_ok = false) {
    auto s = StatusServer::Start(io_, "127.0.0.1:0", db, public_ok);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    const std::string ep = server_->endpoint();
    port_ = std::stoi(ep.substr(ep.rfind(':') + 1));
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Server() {
    io_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<StatusServer> server_;
  std::thread thread_;
  int port_ = 0;
};

std::string Submitted(const TempDir& dir) {
  testing::WriteFile(dir / "s.yaml", testing::TinySpec("ss", dir / "runs", "local", "", 1));
  auto spec = ParseSweepSpec(dir / "s.yaml");
  EXPECT_TRUE(spec.ok());
  SubmitOptions o;
  o.db_path = dir / "state.db";
  EXPECT_TRUE(SubmitSweep(*spec, o).ok());
  return o.db_path;
}

TEST(StatusServerTest, OnlyLoopbackHostNamesAreServedUnlessPublic) {
  TempDir dir;
  const std::string db = Submitted(dir);
  Server server(db);
  const int p = server.port();
  const std::string port = std::to_string(p);
  for (const std::string& host : std::vector<std::string>{"127.0.0.1", "127.0.0.1:" + port, "localhost",
                                                          "LOCALHOST:" + port, "[::1]:" + port, ""}) {
    EXPECT_EQ(Get(p, "/api/runs", host).rfind("HTTP/1.1 200", 0), 0u) << "Host: " << host;
  }
  for (const std::string& host : std::vector<std::string>{
           "evil.example", "evil.example:" + port, "127.0.0.1.evil.example", "localhost:80x", "[::1]x"}) {
    const std::string resp = Get(p, "/api/runs", host);
    EXPECT_EQ(resp.rfind("HTTP/1.1 421", 0), 0u) << "Host: " << host << "\n" << resp;
    EXPECT_EQ(resp.find("\"sweep\""), std::string::npos) << "no data for a foreign Host";
  }
  Server open(db, /*public_ok=*/true);
  EXPECT_EQ(Get(open.port(), "/api/runs", "isoflop.lab.example:8470").rfind("HTTP/1.1 200", 0), 0u);
}

// Checks the text exposition format 0.0.4 line by line (prometheus/docs,
// content/docs/instrumenting/exposition_formats.md, "Text format details"): HELP and TYPE before a
// family's samples, each family in one uninterrupted group, unique name+labels, valid names and
// values. Returns the samples as "name{labels}" -> value.
std::map<std::string, double> ParseExposition(const std::string& text) {
  std::map<std::string, double> samples;
  std::set<std::string> typed, finished;
  std::string current;
  const std::regex type_re(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
  const std::regex help_re(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  const std::regex sample_re(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (\S+))");
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the last line must end with a line feed";
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (std::regex_match(line, m, help_re)) continue;
    if (std::regex_match(line, m, type_re)) {
      EXPECT_TRUE(typed.insert(m[1]).second) << "two TYPE lines for " << m[1];
      if (!current.empty() && current != m[1].str()) finished.insert(current);
      current = m[1];
      continue;
    }
    if (!std::regex_match(line, m, sample_re)) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    const std::string name = m[1];
    EXPECT_TRUE(typed.count(name)) << name << " has no TYPE line before its samples";
    EXPECT_FALSE(finished.count(name)) << name << "'s samples are not one group";
    if (name != current) {
      if (!current.empty()) finished.insert(current);
      current = name;
    }
    const std::string value = m[m.size() - 1];
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    EXPECT_TRUE(*end == '\0' || value == "NaN" || value == "+Inf" || value == "-Inf") << line;
    EXPECT_TRUE(samples.emplace(name + m[2].str(), v).second) << "duplicate sample " << line;
  }
  return samples;
}

TEST(StatusServerTest, MetricsEndpointServesThePrometheusTextFormat) {
  TempDir dir;
  const std::string db = Submitted(dir);
  ASSERT_EQ(testing::RunDaemonToIdle(db, dir / "daemon.log"), 0) << ReadFile(dir / "daemon.log");
  // One run made to look in flight, with a metrics line, so the per-run series have a member.
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h,
                           "UPDATE runs SET state = 'running', last_step = 7, last_train_loss = 4.25 "
                           "WHERE name = 'C1e13-L2-d32'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  testing::WriteFile(dir / "runs/ss/C1e13-L2-d32/metrics.jsonl",
                     "{\"step\": 5, \"tokens\": 100, \"tokens_per_s\": 10.0}\n"
                     "{\"step\": 7, \"tokens\": 140, \"tokens_per_s\": 12.5, \"train_loss\": 4.25}\n"
                     "{\"step\": 8, \"tok");  // a half-written last line is not read
  Server server(db);
  const std::string resp = Get(server.port(), "/metrics", "127.0.0.1");
  ASSERT_EQ(resp.rfind("HTTP/1.1 200", 0), 0u) << resp;
  EXPECT_NE(resp.find("Content-Type: text/plain; version=0.0.4; charset=utf-8"), std::string::npos) << resp;
  const std::string body = resp.substr(resp.find("\r\n\r\n") + 4);
  auto s = ParseExposition(body);
  EXPECT_EQ(s["isoflop_runs{state=\"done\"}"], 4);
  EXPECT_EQ(s["isoflop_runs{state=\"running\"}"], 1);
  EXPECT_EQ(s["isoflop_runs{state=\"failed\"}"], 0);
  EXPECT_EQ(s["isoflop_attempts_total"], 5);
  EXPECT_EQ(s["isoflop_retries_total"], 0);
  EXPECT_EQ(s["isoflop_refits_total"], 1);
  EXPECT_EQ(s["isoflop_last_fit_runs"], 5);
  EXPECT_GT(s["isoflop_last_fit_timestamp_seconds"], 1.7e9);
  const std::string run = "{sweep=\"ss\",run=\"C1e13-L2-d32\"}";
  EXPECT_EQ(s["isoflop_run_tokens_per_second" + run], 12.5) << body;
  EXPECT_EQ(s["isoflop_run_train_loss" + run], 4.25);
  EXPECT_EQ(s["isoflop_run_step" + run], 7);
  int final_losses = 0;
  for (const auto& [k, v] : s) final_losses += k.rfind("isoflop_run_final_eval_loss{", 0) == 0;
  EXPECT_EQ(final_losses, 4);
}

}  // namespace
}  // namespace isoflop::orchestrator
