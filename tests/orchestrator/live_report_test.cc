// The daemon serves the live HTML report at `/` (issue 7): the report library's page, rendered
// from the database as it is at the request, on the daemon's loopback port; /api/* stays JSON.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "isoflop/orchestrator.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using nlohmann::json;
using testing::ReadFile;
using testing::TempDir;
using testing::TinySpec;
using testing::WriteFile;

Status Submit(const std::string& spec_path, const std::string& text, const std::string& db) {
  WriteFile(spec_path, text);
  auto spec = ParseSweepSpec(spec_path);
  if (!spec.ok()) return spec.status();
  SubmitOptions o;
  o.db_path = db;
  auto s = SubmitSweep(*spec, o);
  return s.ok() ? Status::OK() : s.status();
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(DaemonLocalLiveReportTest, RootServesTheHtmlReportOfTheCurrentDatabase) {
  TempDir dir;
  std::string db = dir / "state.db";
  // A finished sweep first (10 runs, so the database holds a fit and a plan) ...
  ASSERT_TRUE(Submit(dir / "done.yaml", TinySpec("done", dir / "runs", "local"), db).ok());
  ASSERT_EQ(testing::RunDaemonToIdle(db, dir / "daemon1.log"), 0) << ReadFile(dir / "daemon1.log");
  // ... then one still running while the page is fetched.
  ASSERT_TRUE(
      Submit(dir / "live.yaml", TinySpec("live", dir / "runs", "local", "  fake_sleep_s: 60\n", 1), db).ok());
  int port = 40000 + ((::getpid() + 7919) % 20000);  // clear of slurm-local's 20000-28000
  pid_t daemon = testing::Spawn(
      {ISOFLOP_DAEMON_HELPER, db, "0.05", "0.2", "127.0.0.1:" + std::to_string(port)}, dir / "daemon2.log");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = GetStatus(db);
        return r.ok() && r->counts["running"] >= 1;
      },
      30))
      << ReadFile(dir / "daemon2.log");

  std::string response = testing::HttpResponse("GET", port, "/");
  ASSERT_FALSE(response.empty()) << ReadFile(dir / "daemon2.log");
  size_t header_end = response.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string::npos);
  std::string headers = response.substr(0, header_end);
  std::string body = response.substr(header_end + 4);
  EXPECT_EQ(headers.rfind("HTTP/1.0 200", 0), 0u) << headers;
  EXPECT_NE(headers.find("Content-Type: text/html"), std::string::npos) << headers;
  EXPECT_EQ(body.rfind("<!DOCTYPE html>", 0), 0u) << body.substr(0, 200);
  // Every plot of the report, the residuals one included (there is a fit), each an inline SVG.
  for (const char* figure :
       {"fig-isoflop", "fig-frontier", "fig-nopt", "fig-dopt", "fig-tpp", "fig-residuals"})
    EXPECT_NE(body.find(std::string("<figure id=\"") + figure + "\""), std::string::npos) << figure;
  EXPECT_EQ(Count(body, "<svg "), 6u);
  EXPECT_EQ(Count(body, "</svg>"), 6u);
  EXPECT_NE(body.find("<h2 id=\"plan\">"), std::string::npos);
  // Every run of both sweeps, by its sweep/name id.
  auto status = GetStatus(db);
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->runs.size(), 15u);
  for (const RunStatus& r : status->runs)
    EXPECT_NE(body.find(r.sweep + "/" + r.name), std::string::npos) << r.sweep << "/" << r.name;

  // The JSON API is unchanged beside it.
  std::string api = testing::HttpResponse("GET", port, "/api/runs");
  EXPECT_NE(api.find("Content-Type: application/json"), std::string::npos);
  json runs = json::parse(testing::Http("GET", port, "/api/runs"), nullptr, false);
  ASSERT_TRUE(runs.is_array());
  EXPECT_EQ(runs.size(), 15u);

  auto n = CancelRuns(db, "", /*all=*/true);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(testing::WaitExit(daemon), 0) << ReadFile(dir / "daemon2.log");
}

}  // namespace
}  // namespace isoflop::orchestrator
