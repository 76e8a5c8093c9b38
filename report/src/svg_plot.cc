#include "svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "isoflop/report.h"

namespace isoflop::report::internal {
namespace {

constexpr double kMarginLeft = 78;
constexpr double kMarginRight = 14;
constexpr double kMarginTop = 14;
constexpr double kMarginBottom = 52;
constexpr double kLegendWidth = 178;
constexpr double kLegendRow = 18;

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

bool Usable(double v, Scale s) {
  return std::isfinite(v) && (s == Scale::kLinear || v > 0);
}

double Transform(double v, Scale s) {
  return s == Scale::kLog ? std::log10(v) : v;
}

// Unicode superscript digits read well in every font and need no <tspan> tricks.
std::string Superscript(int k) {
  static const char* digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
  std::string out;
  if (k < 0) out += "⁻";
  std::string s = std::to_string(std::abs(k));
  for (char c : s) out += digits[c - '0'];
  return out;
}

// The marker outline as an SVG element centred at (cx, cy).
std::string MarkerSvg(Marker m, double cx, double cy, double r, const Style& st) {
  const std::string fill = st.hollow ? "#ffffff" : st.color;
  const std::string common = " stroke=\"" + st.color + "\" stroke-width=\"1.5\" fill=\"" + fill + "\"";
  const std::string line_only = " stroke=\"" + st.color + "\" stroke-width=\"2\" fill=\"none\"";
  std::ostringstream o;
  switch (m) {
    case Marker::kNone:
      break;
    case Marker::kCircle:
      o << "<circle cx=\"" << Num(cx) << "\" cy=\"" << Num(cy) << "\" r=\"" << Num(r) << "\"" << common
        << "/>";
      break;
    case Marker::kSquare:
      o << "<rect x=\"" << Num(cx - r * 0.9) << "\" y=\"" << Num(cy - r * 0.9) << "\" width=\""
        << Num(1.8 * r) << "\" height=\"" << Num(1.8 * r) << "\"" << common << "/>";
      break;
    case Marker::kTriangle:
    case Marker::kTriangleDown: {
      const double s = m == Marker::kTriangle ? 1 : -1;
      o << "<path d=\"M" << Num(cx) << "," << Num(cy - s * r * 1.2) << " L" << Num(cx + r * 1.1) << ","
        << Num(cy + s * r * 0.8) << " L" << Num(cx - r * 1.1) << "," << Num(cy + s * r * 0.8) << " Z\""
        << common << "/>";
      break;
    }
    case Marker::kDiamond:
      o << "<path d=\"M" << Num(cx) << "," << Num(cy - r * 1.3) << " L" << Num(cx + r) << "," << Num(cy)
        << " L" << Num(cx) << "," << Num(cy + r * 1.3) << " L" << Num(cx - r) << "," << Num(cy) << " Z\""
        << common << "/>";
      break;
    case Marker::kCross:
      o << "<path d=\"M" << Num(cx - r) << "," << Num(cy - r) << " L" << Num(cx + r) << "," << Num(cy + r)
        << " M" << Num(cx - r) << "," << Num(cy + r) << " L" << Num(cx + r) << "," << Num(cy - r) << "\""
        << line_only << "/>";
      break;
    case Marker::kPlus:
      o << "<path d=\"M" << Num(cx - r) << "," << Num(cy) << " L" << Num(cx + r) << "," << Num(cy) << " M"
        << Num(cx) << "," << Num(cy - r) << " L" << Num(cx) << "," << Num(cy + r) << "\"" << line_only
        << "/>";
      break;
    case Marker::kStar: {
      o << "<path d=\"";
      for (int i = 0; i < 10; ++i) {
        const double rr = (i % 2 == 0) ? r * 1.6 : r * 0.7;
        const double a = -M_PI / 2 + i * M_PI / 5;
        o << (i == 0 ? "M" : " L") << Num(cx + rr * std::cos(a)) << "," << Num(cy + rr * std::sin(a));
      }
      o << " Z\"" << common << "/>";
      break;
    }
  }
  return o.str();
}

std::string LineAttrs(const Style& st) {
  std::string s = " fill=\"none\" stroke=\"" + st.color + "\" stroke-width=\"" + Num(st.line_width) + "\"";
  if (!st.dash.empty()) s += " stroke-dasharray=\"" + st.dash + "\"";
  if (st.opacity < 1) s += " stroke-opacity=\"" + Num(st.opacity) + "\"";
  return s;
}

}  // namespace

std::string FormatNumber(double v, int significant) {
  if (!std::isfinite(v)) return "–";
  char buf[48];
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e6 || a < 1e-3)) {
    std::snprintf(buf, sizeof(buf), "%.*e", std::max(0, significant - 1), v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.*g", significant, v);
  }
  return buf;
}

std::string FormatNumberSvg(double v) {
  if (!std::isfinite(v)) return "–";
  const double a = std::fabs(v);
  if (a == 0) return "0";
  if (a >= 1e-3 && a < 1e5) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", v);
    return buf;
  }
  const int k = static_cast<int>(std::floor(std::log10(a) + 1e-9));
  const double m = v / std::pow(10.0, k);
  std::string out;
  if (std::fabs(m - 1) > 1e-6) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g×", std::round(m * 10) / 10);
    out = buf;
  }
  return out + "10" + Superscript(k);
}

std::vector<Tick> MakeTicks(Scale scale, double lo, double hi) {
  std::vector<Tick> ticks;
  if (!(hi > lo)) return ticks;
  if (scale == Scale::kLinear) {
    const double raw = (hi - lo) / 6;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
      if (m * mag >= raw) {
        step = m * mag;
        break;
      }
    }
    for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
      const double v = std::fabs(t) < step * 1e-9 ? 0.0 : t;
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%g", v);
      ticks.push_back({v, buf, true});
    }
    return ticks;
  }
  const double llo = std::log10(lo), lhi = std::log10(hi);
  const double span = lhi - llo;
  if (span < 1.3) {
    // Less than ~a decade: ticks at m·10^k so the axis still has 4–8 labels.
    for (const auto& mults :
         std::vector<std::vector<double>>{{1, 2, 5},
                                          {1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9},
                                          {1, 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9}}) {
      ticks.clear();
      for (int k = static_cast<int>(std::floor(llo)); k <= static_cast<int>(std::ceil(lhi)); ++k) {
        for (double m : mults) {
          const double v = m * std::pow(10.0, k);
          if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push_back({v, FormatNumberSvg(v), true});
        }
      }
      if (ticks.size() >= 4) break;
    }
    // Many ticks: keep the grid, label only 1, 2 and 5 × 10^k so labels never overlap.
    if (ticks.size() > 7) {
      for (Tick& t : ticks) {
        const double m = t.value / std::pow(10.0, std::floor(std::log10(t.value) + 1e-9));
        if (std::fabs(m - 1) > 1e-6 && std::fabs(m - 2) > 1e-6 && std::fabs(m - 5) > 1e-6)
          t.label_svg.clear(), t.major = false;
      }
    }
    return ticks;
  }
  const int step = span > 16 ? 4 : span > 8 ? 2 : 1;
  for (int k = static_cast<int>(std::ceil(llo - 1e-9)); k <= static_cast<int>(std::floor(lhi + 1e-9)); ++k) {
    const bool major = (k % step) == 0;
    ticks.push_back({std::pow(10.0, k), major ? FormatNumberSvg(std::pow(10.0, k)) : "", major});
  }
  return ticks;
}

SvgPlot::SvgPlot(std::string id, Axis x, Axis y, int width_px, int height_px)
    : id_(std::move(id)),
      x_axis_(std::move(x)),
      y_axis_(std::move(y)),
      width_(width_px),
      height_(height_px) {}

void SvgPlot::AddLine(std::string label, std::vector<double> x, std::vector<double> y, Style style) {
  items_.push_back(
      {Item::Kind::kLine, std::move(label), std::move(x), std::move(y), {}, std::move(style), {}});
}

void SvgPlot::AddPoints(std::string label, std::vector<double> x, std::vector<double> y, Style style,
                        std::vector<std::string> tooltips) {
  items_.push_back({Item::Kind::kPoints,
                    std::move(label),
                    std::move(x),
                    std::move(y),
                    {},
                    std::move(style),
                    std::move(tooltips)});
}

void SvgPlot::AddBand(std::string label, std::vector<double> x, std::vector<double> lo,
                      std::vector<double> hi, std::string color, double opacity) {
  Style st;
  st.color = std::move(color);
  st.opacity = opacity;
  items_.push_back({Item::Kind::kBand, std::move(label), std::move(x), std::move(lo), std::move(hi), st, {}});
}

void SvgPlot::AddHorizontal(std::string label, double y, Style style) {
  items_.push_back({Item::Kind::kHorizontal, std::move(label), {}, {y}, {}, std::move(style), {}});
}

void SvgPlot::AddAnnotation(double x, double y, std::string text) {
  annotations_.push_back({x, y, std::move(text)});
}

std::string SvgPlot::Render() const {
  // Data range over everything drawable.
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  auto take_x = [&](double v) {
    if (Usable(v, x_axis_.scale)) xlo = std::min(xlo, v), xhi = std::max(xhi, v);
  };
  auto take_y = [&](double v) {
    if (Usable(v, y_axis_.scale)) ylo = std::min(ylo, v), yhi = std::max(yhi, v);
  };
  for (const Item& it : items_) {
    for (size_t i = 0; i < it.x.size(); ++i) {
      if (i < it.y.size() && Usable(it.x[i], x_axis_.scale) && Usable(it.y[i], y_axis_.scale)) {
        take_x(it.x[i]);
        take_y(it.y[i]);
        if (i < it.y2.size()) take_y(it.y2[i]);
      }
    }
    if (it.kind == Item::Kind::kHorizontal) take_y(it.y[0]);
  }
  if (x_axis_.min) xlo = *x_axis_.min;
  if (x_axis_.max) xhi = *x_axis_.max;
  if (y_axis_.min) ylo = *y_axis_.min;
  if (y_axis_.max) yhi = *y_axis_.max;
  auto pad = [](double& lo, double& hi, Scale s, bool forced_lo, bool forced_hi) {
    if (!std::isfinite(lo) || !std::isfinite(hi))
      lo = s == Scale::kLog ? 1 : 0, hi = s == Scale::kLog ? 10 : 1;
    if (s == Scale::kLog) {
      double l = std::log10(lo), h = std::log10(hi);
      if (h - l < 1e-9) l -= 0.5, h += 0.5;
      const double p = (h - l) * 0.05;
      if (!forced_lo) l -= p;
      if (!forced_hi) h += p;
      lo = std::pow(10.0, l), hi = std::pow(10.0, h);
    } else {
      if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
      const double p = (hi - lo) * 0.06;
      if (!forced_lo) lo -= p;
      if (!forced_hi) hi += p;
    }
  };
  pad(xlo, xhi, x_axis_.scale, x_axis_.min.has_value(), x_axis_.max.has_value());
  pad(ylo, yhi, y_axis_.scale, y_axis_.min.has_value(), y_axis_.max.has_value());

  const double W = width_, H = height_;
  const double px0 = kMarginLeft, px1 = W - kLegendWidth - kMarginRight;
  const double py0 = kMarginTop, py1 = H - kMarginBottom;
  const double tx0 = Transform(xlo, x_axis_.scale), tx1 = Transform(xhi, x_axis_.scale);
  const double ty0 = Transform(ylo, y_axis_.scale), ty1 = Transform(yhi, y_axis_.scale);
  auto X = [&](double v) { return px0 + (Transform(v, x_axis_.scale) - tx0) / (tx1 - tx0) * (px1 - px0); };
  auto Y = [&](double v) { return py1 - (Transform(v, y_axis_.scale) - ty0) / (ty1 - ty0) * (py1 - py0); };
  auto ok = [&](double x, double y) { return Usable(x, x_axis_.scale) && Usable(y, y_axis_.scale); };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" << XmlEscape(id_)
    << "\" class=\"plot\" viewBox=\"0 0 " << width_ << " " << height_ << "\" width=\"" << width_
    << "\" height=\"" << height_
    << "\" role=\"img\" font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\" font-size=\"12\">";
  o << "<defs><clipPath id=\"" << XmlEscape(id_) << "-clip\"><rect x=\"" << Num(px0) << "\" y=\"" << Num(py0)
    << "\" width=\"" << Num(px1 - px0) << "\" height=\"" << Num(py1 - py0) << "\"/></clipPath></defs>";
  o << "<rect x=\"" << Num(px0) << "\" y=\"" << Num(py0) << "\" width=\"" << Num(px1 - px0) << "\" height=\""
    << Num(py1 - py0) << "\" fill=\"#ffffff\" stroke=\"#555555\" stroke-width=\"1\"/>";

  // Grid and ticks.
  o << "<g class=\"axis x-axis\">";
  for (const Tick& t : MakeTicks(x_axis_.scale, xlo, xhi)) {
    const double x = X(t.value);
    o << "<line x1=\"" << Num(x) << "\" y1=\"" << Num(py0) << "\" x2=\"" << Num(x) << "\" y2=\"" << Num(py1)
      << "\" stroke=\"#e3e3e3\" stroke-width=\"1\"/>";
    o << "<line x1=\"" << Num(x) << "\" y1=\"" << Num(py1) << "\" x2=\"" << Num(x) << "\" y2=\""
      << Num(py1 + 5) << "\" stroke=\"#555555\"/>";
    if (!t.label_svg.empty())
      o << "<text x=\"" << Num(x) << "\" y=\"" << Num(py1 + 19) << "\" text-anchor=\"middle\">" << t.label_svg
        << "</text>";
  }
  o << "<text x=\"" << Num((px0 + px1) / 2) << "\" y=\"" << Num(H - 10)
    << "\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">" << XmlEscape(x_axis_.label)
    << (x_axis_.scale == Scale::kLog ? " (log scale)" : "") << "</text></g>";
  o << "<g class=\"axis y-axis\">";
  for (const Tick& t : MakeTicks(y_axis_.scale, ylo, yhi)) {
    const double y = Y(t.value);
    o << "<line x1=\"" << Num(px0) << "\" y1=\"" << Num(y) << "\" x2=\"" << Num(px1) << "\" y2=\"" << Num(y)
      << "\" stroke=\"#e3e3e3\" stroke-width=\"1\"/>";
    o << "<line x1=\"" << Num(px0 - 5) << "\" y1=\"" << Num(y) << "\" x2=\"" << Num(px0) << "\" y2=\""
      << Num(y) << "\" stroke=\"#555555\"/>";
    if (!t.label_svg.empty())
      o << "<text x=\"" << Num(px0 - 8) << "\" y=\"" << Num(y + 4) << "\" text-anchor=\"end\">" << t.label_svg
        << "</text>";
  }
  o << "<text transform=\"translate(16," << Num((py0 + py1) / 2)
    << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">"
    << XmlEscape(y_axis_.label) << (y_axis_.scale == Scale::kLog ? " (log)" : "") << "</text></g>";

  // Data, clipped to the plot area; bands first so lines and markers sit on top.
  o << "<g class=\"data\" clip-path=\"url(#" << XmlEscape(id_) << "-clip)\">";
  for (int pass = 0; pass < 3; ++pass) {
    for (const Item& it : items_) {
      const int item_pass = it.kind == Item::Kind::kBand ? 0 : it.kind == Item::Kind::kPoints ? 2 : 1;
      if (item_pass != pass) continue;
      switch (it.kind) {
        case Item::Kind::kBand: {
          std::string upper, lower;
          for (size_t i = 0; i < it.x.size(); ++i) {
            if (!ok(it.x[i], it.y[i]) || !ok(it.x[i], it.y2[i])) continue;
            upper += (upper.empty() ? "M" : " L") + Num(X(it.x[i])) + "," + Num(Y(it.y2[i]));
            lower = " L" + Num(X(it.x[i])) + "," + Num(Y(it.y[i])) + lower;
          }
          if (!upper.empty())
            o << "<path class=\"band\" d=\"" << upper << lower << " Z\" fill=\"" << it.style.color
              << "\" fill-opacity=\"" << Num(it.style.opacity) << "\" stroke=\"none\"/>";
          break;
        }
        case Item::Kind::kLine: {
          std::string d;
          bool pen_down = false;
          for (size_t i = 0; i < it.x.size(); ++i) {
            if (!ok(it.x[i], it.y[i])) {
              pen_down = false;
              continue;
            }
            d += (pen_down ? " L" : (d.empty() ? "M" : " M")) + Num(X(it.x[i])) + "," + Num(Y(it.y[i]));
            pen_down = true;
          }
          if (!d.empty()) o << "<path class=\"line\" d=\"" << d << "\"" << LineAttrs(it.style) << "/>";
          break;
        }
        case Item::Kind::kHorizontal: {
          if (!Usable(it.y[0], y_axis_.scale)) break;
          o << "<path class=\"line\" d=\"M" << Num(px0) << "," << Num(Y(it.y[0])) << " L" << Num(px1) << ","
            << Num(Y(it.y[0])) << "\"" << LineAttrs(it.style) << "/>";
          break;
        }
        case Item::Kind::kPoints: {
          o << "<g class=\"points\">";
          for (size_t i = 0; i < it.x.size(); ++i) {
            if (!ok(it.x[i], it.y[i])) continue;
            const bool tip = i < it.tooltips.size() && !it.tooltips[i].empty();
            if (tip) o << "<g><title>" << XmlEscape(it.tooltips[i]) << "</title>";
            o << MarkerSvg(it.style.marker, X(it.x[i]), Y(it.y[i]), it.style.marker_size, it.style);
            if (tip) o << "</g>";
          }
          o << "</g>";
          break;
        }
      }
    }
  }
  for (const Annotation& a : annotations_) {
    if (!ok(a.x, a.y)) continue;
    const double ty = Y(a.y) - 6 < py0 + 12 ? Y(a.y) + 15 : Y(a.y) - 6;  // stay inside the plot
    o << "<text x=\"" << Num(X(a.x) + 7) << "\" y=\"" << Num(ty) << "\" font-size=\"11\" fill=\"#222222\">"
      << XmlEscape(a.text) << "</text>";
  }
  o << "</g>";

  // Legend: swatch (line + marker) and label per labelled item, right of the plot area.
  o << "<g class=\"legend\">";
  double ly = py0 + 8;
  const double lx = px1 + 12;
  for (const Item& it : items_) {
    if (it.label.empty()) continue;
    if (ly > py1 + kMarginBottom - 8) break;
    const double cy = ly + 4;
    o << "<g class=\"legend-item\"><title>" << XmlEscape(it.label) << "</title>";
    if (it.kind == Item::Kind::kBand) {
      o << "<rect x=\"" << Num(lx) << "\" y=\"" << Num(cy - 6) << "\" width=\"26\" height=\"12\" fill=\""
        << it.style.color << "\" fill-opacity=\"" << Num(it.style.opacity) << "\"/>";
    } else {
      if (it.kind != Item::Kind::kPoints || it.style.legend_with_line)
        o << "<path d=\"M" << Num(lx) << "," << Num(cy) << " L" << Num(lx + 26) << "," << Num(cy) << "\""
          << LineAttrs(it.style) << "/>";
      if (it.style.marker != Marker::kNone)
        o << MarkerSvg(it.style.marker, lx + 13, cy, it.style.marker_size, it.style);
    }
    // Long labels wrap onto a second line rather than run off the image.
    std::string label = it.label;
    std::string second;
    if (label.size() > 24) {
      size_t cut = label.rfind(' ', 24);
      if (cut != std::string::npos && cut > 4) second = label.substr(cut + 1), label = label.substr(0, cut);
    }
    o << "<text x=\"" << Num(lx + 32) << "\" y=\"" << Num(cy + 4) << "\" font-size=\"11.5\">"
      << XmlEscape(label) << "</text>";
    if (!second.empty()) {
      ly += kLegendRow - 4;
      o << "<text x=\"" << Num(lx + 32) << "\" y=\"" << Num(ly + 8) << "\" font-size=\"11.5\">"
        << XmlEscape(second) << "</text>";
    }
    ly += kLegendRow;
    o << "</g>";
  }
  o << "</g></svg>";
  return o.str();
}

}  // namespace isoflop::report::internal
