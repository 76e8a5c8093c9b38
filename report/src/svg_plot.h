// A small SVG plotter for the report: log or linear axes, ticks, lines, markers, bands,
// legend. Written here because no Debian-packaged C++ library draws SVG plots (see
// docs/report.md, "Why our own plotting"); it is ~400 lines and has no dependencies.
#ifndef ISOFLOP_REPORT_SRC_SVG_PLOT_H_
#define ISOFLOP_REPORT_SRC_SVG_PLOT_H_

#include <optional>
#include <string>
#include <vector>

namespace isoflop::report::internal {

enum class Scale { kLinear, kLog };
// Shapes differ so that series stay apart when printed in greyscale.
enum class Marker { kNone, kCircle, kSquare, kTriangle, kDiamond, kCross, kPlus, kStar, kTriangleDown };

struct Style {
  std::string color = "#000000";
  std::string dash;  // SVG stroke-dasharray, empty for solid
  double line_width = 1.8;
  Marker marker = Marker::kNone;
  double marker_size = 4.5;  // half-width in px
  bool hollow = false;       // outline-only marker (e.g. runs still running)
  double opacity = 1.0;
  bool legend_with_line = false;  // points whose legend swatch also shows the series' line
};

struct Axis {
  Axis(std::string label_text, Scale axis_scale) : label(std::move(label_text)), scale(axis_scale) {}
  std::string label;  // with units, e.g. "parameters N"
  Scale scale = Scale::kLog;
  std::optional<double> min, max;  // forced range; else from the data
};

class SvgPlot {
 public:
  SvgPlot(std::string id, Axis x, Axis y, int width_px, int height_px);

  // A polyline through finite (x, y); non-finite values break the line.
  void AddLine(std::string label, std::vector<double> x, std::vector<double> y, Style style);
  // Markers at (x, y); `tooltips` (optional, one per point) become <title> elements.
  void AddPoints(std::string label, std::vector<double> x, std::vector<double> y, Style style,
                 std::vector<std::string> tooltips = {});
  // A shaded band between lo(x) and hi(x).
  void AddBand(std::string label, std::vector<double> x, std::vector<double> lo, std::vector<double> hi,
               std::string color, double opacity);
  // A horizontal reference line across the plot.
  void AddHorizontal(std::string label, double y, Style style);
  // A small text label next to a data point.
  void AddAnnotation(double x, double y, std::string text);
  // Forces the y range (data outside is clipped).
  void SetYRange(double lo, double hi) { y_axis_.min = lo, y_axis_.max = hi; }

  // The SVG element (no XML prolog), well-formed XML.
  std::string Render() const;

 private:
  struct Item {
    enum class Kind { kLine, kPoints, kBand, kHorizontal } kind;
    std::string label;
    std::vector<double> x, y, y2;
    Style style;
    std::vector<std::string> tooltips;
  };
  struct Annotation {
    double x, y;
    std::string text;
  };
  std::string id_;
  Axis x_axis_, y_axis_;
  int width_, height_;
  std::vector<Item> items_;
  std::vector<Annotation> annotations_;
};

// Tick positions and labels for an axis range; exposed for tests.
struct Tick {
  double value;
  std::string label_svg;  // SVG text content (may hold <tspan> for exponents)
  bool major;
};
std::vector<Tick> MakeTicks(Scale scale, double lo, double hi);
// "1.23e+21" style numbers as "1.2×10²¹"-like SVG text; plain numbers when moderate.
std::string FormatNumberSvg(double v);
// Plain-text number for tables: 3 significant digits, SI-free scientific when large.
std::string FormatNumber(double v, int significant = 3);

}  // namespace isoflop::report::internal

#endif  // ISOFLOP_REPORT_SRC_SVG_PLOT_H_
