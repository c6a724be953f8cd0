package io.github.sgdph.experiments;

import io.github.sgdph.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.DeviationRenderer;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/** Statistics over seeds, CSV and Markdown files, and PNG plots of mean ± std bands. */
final class Report {
  private static final Color[] COLORS = {
    new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e),
    new Color(0x9467bd), new Color(0x8c564b)
  };

  private Report() {}

  /** The mean of finite values (NaN if none). */
  static double mean(double[] v) {
    double s = 0;
    int n = 0;
    for (double x : v) {
      if (Double.isFinite(x)) {
        s += x;
        n++;
      }
    }
    return n == 0 ? Double.NaN : s / n;
  }

  /** The sample standard deviation (n − 1) of finite values; 0 for one value, NaN for none. */
  static double std(double[] v) {
    double m = mean(v);
    double s = 0;
    int n = 0;
    for (double x : v) {
      if (Double.isFinite(x)) {
        s += (x - m) * (x - m);
        n++;
      }
    }
    return n == 0 ? Double.NaN : n == 1 ? 0 : Math.sqrt(s / (n - 1));
  }

  /** {@code mean ± std} with {@code digits} decimals. */
  static String pm(double[] v, int digits) {
    String f = "%." + digits + "f";
    return String.format(Locale.ROOT, f + " ± " + f, mean(v), std(v));
  }

  /** A number for a CSV cell: empty for NaN. */
  static String cell(double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6g", v);
  }

  /** Writes a UTF-8 text file atomically, creating its directory. */
  static void write(Path file, String text) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    AtomicFiles.write(file, text.getBytes(StandardCharsets.UTF_8));
  }

  /** A curve: mean and standard deviation over seeds at each x. */
  record Band(String name, double[] x, double[] mean, double[] std) {}

  /** A panel: bands sharing a y axis. */
  record Panel(String yLabel, boolean logY, List<Band> bands) {}

  /**
   * Panels of mean ± std bands stacked over one shared x axis, written as a PNG.
   *
   * @param title the chart's title
   * @param xLabel the x axis
   * @param panels top to bottom
   * @param file the PNG, replaced atomically
   * @throws IOException if it cannot be written
   */
  static void plot(String title, String xLabel, List<Panel> panels, Path file)
      throws IOException {
    NumberAxis x = new NumberAxis(xLabel);
    x.setAutoRangeIncludesZero(false);
    CombinedDomainXYPlot plot = new CombinedDomainXYPlot(x);
    plot.setGap(12);
    XYPlot first = null;
    for (Panel p : panels) {
      boolean log = p.logY() && spansDecade(p.bands());
      YIntervalSeriesCollection data = new YIntervalSeriesCollection();
      DeviationRenderer r = new DeviationRenderer(true, true);
      r.setAlpha(0.2f);
      int i = 0;
      for (Band b : p.bands()) {
        YIntervalSeries s = new YIntervalSeries(b.name());
        for (int k = 0; k < b.x().length; k++) {
          double m = b.mean()[k];
          double d = Double.isFinite(b.std()[k]) ? b.std()[k] : 0;
          if (Double.isFinite(m) && (!log || m > 0)) {
            double lo = log ? Math.max(m - d, m * 1e-3) : m - d;
            s.add(b.x()[k], m, lo, m + d);
          }
        }
        data.addSeries(s);
        Color c = COLORS[i % COLORS.length];
        r.setSeriesPaint(i, c);
        r.setSeriesFillPaint(i, c);
        r.setSeriesStroke(i, new BasicStroke(2f));
        i++;
      }
      ValueAxis y;
      if (log) {
        LogAxis la = new LogAxis(p.yLabel() + " (log scale)");
        la.setSmallestValue(1e-8);
        la.setNumberFormatOverride(new java.text.DecimalFormat("0.###E0"));
        y = la;
      } else {
        NumberAxis na = new NumberAxis(p.yLabel());
        na.setAutoRangeIncludesZero(false);
        y = na;
      }
      XYPlot sub = new XYPlot(data, null, y, r);
      sub.setBackgroundPaint(Color.WHITE);
      sub.setDomainGridlinePaint(Color.LIGHT_GRAY);
      sub.setRangeGridlinePaint(Color.LIGHT_GRAY);
      plot.add(sub, 1);
      if (first == null) {
        first = sub;
      }
    }
    if (first != null && sameCurves(panels)) {
      plot.setFixedLegendItems(first.getLegendItems()); // one entry per curve, not per panel
    }
    JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
    chart.setBackgroundPaint(Color.WHITE);
    Files.createDirectories(file.toAbsolutePath().getParent());
    AtomicFiles.write(file,
        out -> ChartUtils.writeChartAsPNG(out, chart, 900, 300 + 250 * panels.size()));
  }

  /** Whether every panel draws the same named curves (then one legend entry each suffices). */
  private static boolean sameCurves(List<Panel> panels) {
    List<String> names = panels.get(0).bands().stream().map(Band::name).toList();
    return panels.stream().allMatch(p -> p.bands().stream().map(Band::name).toList()
        .equals(names));
  }

  /** Whether the bands' means span more than a decade (else a log axis only blurs them). */
  private static boolean spansDecade(List<Band> bands) {
    double lo = Double.POSITIVE_INFINITY;
    double hi = 0;
    for (Band b : bands) {
      for (double m : b.mean()) {
        if (Double.isFinite(m) && m > 0) {
          lo = Math.min(lo, m);
          hi = Math.max(hi, m);
        }
      }
    }
    return hi > 10 * lo;
  }

  /**
   * The band of one figure over runs of several seeds, epoch by epoch, up to the fewest epochs
   * any run has.
   *
   * @param name the band's name
   * @param x per run, the x values (e.g. epochs or seconds)
   * @param y per run, the y values
   * @return mean and std of y at each index; x is averaged too (seconds differ per run)
   */
  static Band band(String name, List<double[]> x, List<double[]> y) {
    int n = Integer.MAX_VALUE;
    for (double[] v : y) {
      n = Math.min(n, v.length);
    }
    if (y.isEmpty()) {
      n = 0;
    }
    double[] xs = new double[n];
    double[] ms = new double[n];
    double[] ss = new double[n];
    for (int k = 0; k < n; k++) {
      double[] col = new double[y.size()];
      double[] xcol = new double[y.size()];
      for (int r = 0; r < y.size(); r++) {
        col[r] = y.get(r)[k];
        xcol[r] = x.get(r)[k];
      }
      xs[k] = mean(xcol);
      ms[k] = mean(col);
      ss[k] = std(col);
    }
    return new Band(name, xs, ms, ss);
  }

  /** A Markdown table. */
  static String table(List<String> header, List<List<String>> rows) {
    StringBuilder sb = new StringBuilder();
    sb.append("| ").append(String.join(" | ", header)).append(" |\n|");
    for (int i = 0; i < header.size(); i++) {
      sb.append("---|");
    }
    sb.append('\n');
    for (List<String> r : rows) {
      sb.append("| ").append(String.join(" | ", r)).append(" |\n");
    }
    return sb.toString();
  }

  /** A CSV document from a header and rows (cells must not contain commas). */
  static String csv(String header, List<String[]> rows) {
    StringBuilder sb = new StringBuilder(header).append('\n');
    for (String[] r : rows) {
      sb.append(String.join(",", r)).append('\n');
    }
    return sb.toString();
  }

  /** Convenience: a list of one value per run. */
  static <T> List<double[]> perRun(List<T> runs, java.util.function.Function<T, double[]> f) {
    List<double[]> out = new ArrayList<>();
    for (T r : runs) {
      out.add(f.apply(r));
    }
    return out;
  }
}
