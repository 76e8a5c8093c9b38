// The report in a real browser: Debian's chromium, headless. The page loads with no console
// messages and no resource requests beyond itself, every plot is in the DOM, the SVGs parse
// as XML (checked by chromium's own XML parser), and a 1280-px screenshot renders.
// Skips when chromium is not installed (scripts/setup installs it).
#include <unistd.h>

#include <sys/wait.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "isoflop/report.h"
#include "report_fixtures.h"

namespace isoflop::report {
namespace {

std::string FindChromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

struct BrowserRun {
  int exit_code = -1;
  std::string dom;  // --dump-dom output
  std::string log;  // chromium's stderr log (--enable-logging=stderr --v=1)
};

// One headless chromium process with a fresh profile. `mode` is "--dump-dom" or
// "--screenshot=PATH".
BrowserRun Chromium(const std::string& url, const std::string& mode, const std::string& tag) {
  static int counter = 0;
  const std::string dir = ::testing::TempDir() + "/report_browser_" + std::to_string(getpid()) + "_" +
                          std::to_string(counter++) + "_" + tag;
  const std::string cmd =
      "rm -rf '" + dir + "' && mkdir -p '" + dir + "' && cd '" + dir + "' && timeout 120 " + FindChromium() +
      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
      " --disable-component-update --disable-sync --hide-scrollbars --user-data-dir='" +
      dir + "/profile' --window-size=1280,2600 --enable-logging=stderr --v=1 " + mode + " '" + url + "' > '" +
      dir + "/dom.txt' 2> '" + dir + "/log.txt'";
  BrowserRun run;
  const int status = std::system(cmd.c_str());
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.dom = Slurp(dir + "/dom.txt");
  run.log = Slurp(dir + "/log.txt");
  return run;
}

// Console messages the page produced ("INFO:CONSOLE(..)" / ":CONSOLE:" lines).
std::vector<std::string> ConsoleLines(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line))
    if (line.find(":CONSOLE") != std::string::npos) out.push_back(line);
  return out;
}

// URLs chromium's file loader fetched other than the page itself.
std::vector<std::string> OtherFileLoads(const std::string& log, const std::string& page_url) {
  std::vector<std::string> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    const size_t p = line.find("FileURLLoader::Start: ");
    if (p == std::string::npos) continue;
    const std::string url = line.substr(p + 22);
    if (url != page_url) out.push_back(url);
  }
  return out;
}

// Every SVG of the page in one XHTML document: chromium parses it as XML and shows a
// <parsererror> when any SVG is not well-formed.
std::string SvgsAsXhtml(const std::string& html) {
  std::string doc =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><body>";
  size_t p = 0;
  while ((p = html.find("<svg ", p)) != std::string::npos) {
    const size_t e = html.find("</svg>", p);
    if (e == std::string::npos) break;
    doc += html.substr(p, e + 6 - p);
    p = e + 6;
  }
  return doc + "</body></html>\n";
}

class ReportBrowser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (FindChromium().empty()) GTEST_SKIP() << "chromium not installed (scripts/setup installs it)";
  }
};

TEST_F(ReportBrowser, DetectorsCatchConsoleErrorsExternalLoadsAndBrokenSvg) {
  // Positive control: the checks below would see a console error, a fetched file and an SVG
  // that is not well-formed.
  const std::string page = ::testing::TempDir() + "/report_control.html";
  Spit(page,
       "<!DOCTYPE html><html><body><img src=\"missing.png\"><script>console.error('control-marker')"
       "</script></body></html>");
  BrowserRun run = Chromium("file://" + page, "--dump-dom", "control");
  ASSERT_EQ(run.exit_code, 0) << run.log.substr(0, 2000);
  const auto console = ConsoleLines(run.log);
  ASSERT_EQ(console.size(), 1u);
  EXPECT_NE(console[0].find("control-marker"), std::string::npos);
  EXPECT_EQ(OtherFileLoads(run.log, "file://" + page).size(), 1u);
  const std::string svg = ::testing::TempDir() + "/report_control.xhtml";
  Spit(svg, SvgsAsXhtml("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>a & b</text></svg>"));
  BrowserRun xml = Chromium("file://" + svg, "--dump-dom", "control_xml");
  EXPECT_NE(xml.dom.find("parsererror"), std::string::npos) << xml.dom;
}

void CheckReportInBrowser(const ReportInput& input, const std::string& name, int expected_plots) {
  auto html = RenderHtml(input, ReportOptions{});
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  const std::string page = ::testing::TempDir() + "/" + name + ".html";
  Spit(page, *html);
  const std::string url = "file://" + page;
  BrowserRun run = Chromium(url, "--dump-dom", name);
  ASSERT_EQ(run.exit_code, 0) << run.log.substr(0, 2000);
  EXPECT_TRUE(ConsoleLines(run.log).empty()) << ConsoleLines(run.log)[0];
  const auto loads = OtherFileLoads(run.log, url);
  EXPECT_TRUE(loads.empty()) << loads[0];
  // The DOM chromium built: every plot, with data drawn in it.
  const std::regex svg_re("<svg[^>]* id=\"(plot-[a-z]+)\"");
  int plots = 0;
  for (auto it = std::sregex_iterator(run.dom.begin(), run.dom.end(), svg_re); it != std::sregex_iterator();
       ++it)
    ++plots;
  EXPECT_EQ(plots, expected_plots);
  for (const char* id : {"plot-isoflop", "plot-frontier", "plot-nopt", "plot-dopt", "plot-tpp"}) {
    const size_t p = run.dom.find(std::string("id=\"") + id + "\"");
    ASSERT_NE(p, std::string::npos) << id;
    const std::string svg = run.dom.substr(p, run.dom.find("</svg>", p) - p);
    EXPECT_NE(svg.find("class=\"data\""), std::string::npos) << id;
    EXPECT_NE(svg.find("class=\"legend\""), std::string::npos) << id;
    EXPECT_NE(svg.find("<path"), std::string::npos) << id;
  }
  // The SVGs are well-formed XML.
  const std::string xhtml = ::testing::TempDir() + "/" + name + "_svgs.xhtml";
  Spit(xhtml, SvgsAsXhtml(*html));
  BrowserRun xml = Chromium("file://" + xhtml, "--dump-dom", name + "_xml");
  ASSERT_EQ(xml.exit_code, 0);
  EXPECT_EQ(xml.dom.find("parsererror"), std::string::npos) << xml.dom.substr(0, 2000);
  // A 1280-px screenshot renders (docs/report.md shows how docs/report-screenshot.png is made).
  const std::string png = ::testing::TempDir() + "/" + name + ".png";
  std::remove(png.c_str());
  BrowserRun shot = Chromium(url, "--screenshot=" + png, name + "_shot");
  ASSERT_EQ(shot.exit_code, 0) << shot.log.substr(0, 2000);
  const std::string bytes = Slurp(png);
  ASSERT_GT(bytes.size(), 50000u);
  ASSERT_EQ(bytes.substr(1, 3), "PNG");
  // IHDR width, big-endian at offset 16.
  const unsigned width = (static_cast<unsigned char>(bytes[16]) << 24) |
                         (static_cast<unsigned char>(bytes[17]) << 16) |
                         (static_cast<unsigned char>(bytes[18]) << 8) | static_cast<unsigned char>(bytes[19]);
  EXPECT_EQ(width, 1280u);
  if (const char* out = std::getenv("ISOFLOP_REPORT_SCREENSHOT_DIR"))
    Spit(std::string(out) + "/" + name + ".png", bytes);
}

TEST_F(ReportBrowser, ChinchillaReportLoadsCleanly) {
  CheckReportInBrowser(testing::ChinchillaInput(), "chinchilla_report", 6);
}

TEST_F(ReportBrowser, LiveSweepReportLoadsCleanly) {
  CheckReportInBrowser(testing::LlamaSweepInput(), "llama3_sweep_report", 6);
}

}  // namespace
}  // namespace isoflop::report
