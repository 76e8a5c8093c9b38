// Number formatting shared by the planner's reports.
#include <cmath>
#include <cstdio>

#include "planner_internal.h"

namespace isoflop::planner::internal {

std::string FormatBytes(double bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

std::string FormatSeconds(double s) {
  char buf[64];
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%.3g s", s);
  } else if (s < 2 * 3600) {
    std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  } else if (s < 3 * 86400) {
    std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f days", s / 86400);
  }
  return buf;
}

std::string FormatCount(double x) {
  char buf[64];
  const char* suffix[] = {"", "K", "M", "B", "T", "P"};
  int i = 0;
  while (std::abs(x) >= 1000 && i < 5) {
    x /= 1000;
    ++i;
  }
  std::snprintf(buf, sizeof buf, "%.3g%s", x, suffix[i]);
  return buf;
}

std::string FormatFlops(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

}  // namespace isoflop::planner::internal
