package io.github.sgdph.cli;

import io.github.sgdph.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Draws a spectral density as a PNG line chart with JFreeChart: a log-scale density axis as in
 * PyHessian and Ghorbani et al. (2019), since most of a Hessian's spectral mass sits near zero,
 * and dashed vertical markers (the top eigenvalues found by Lanczos).
 */
final class DensityPlot {
  private static final int WIDTH = 900;
  private static final int HEIGHT = 560;
  /** Densities below {@code max·FLOOR} are drawn at the floor of the log axis. */
  static final double FLOOR = 1e-8;

  private DensityPlot() {}

  /**
   * Writes the chart of {@code density} over {@code grid} to {@code file}, atomically.
   *
   * @param markers x positions to mark with dashed vertical lines (may be empty)
   */
  static void write(
      double[] grid, double[] density, double[] markers, String title, String markerLabel,
      Path file) throws IOException {
    System.setProperty("java.awt.headless", "true");
    double max = 0;
    for (double d : density) {
      if (Double.isFinite(d)) {
        max = Math.max(max, d);
      }
    }
    double floor = max > 0 ? max * FLOOR : FLOOR;
    XYSeries s = new XYSeries("density", false, true);
    for (int i = 0; i < grid.length; i++) {
      double d = density[i];
      s.add(grid[i], Double.isFinite(d) ? Math.max(d, floor) : floor);
    }
    NumberAxis x = new NumberAxis("eigenvalue");
    x.setAutoRangeIncludesZero(false);
    LogAxis y = new LogAxis("density (log scale)");
    y.setSmallestValue(floor);
    y.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(1.0));
    y.setNumberFormatOverride(new java.text.DecimalFormat("0.#E0"));
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
    r.setSeriesPaint(0, new Color(31, 119, 180));
    r.setSeriesStroke(0, new BasicStroke(2f));
    XYPlot plot = new XYPlot(new XYSeriesCollection(s), x, y, r);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    for (double m : markers) {
      ValueMarker vm = new ValueMarker(m, new Color(214, 39, 40), new BasicStroke(1.2f,
          BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
      plot.addDomainMarker(vm);
    }
    JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, false);
    if (markers.length > 0) {
      chart.addSubtitle(new TextTitle(markerLabel));
    }
    chart.setBackgroundPaint(Color.WHITE);
    java.nio.file.Files.createDirectories(file.toAbsolutePath().getParent());
    AtomicFiles.write(file, out -> ChartUtils.writeChartAsPNG(out, chart, WIDTH, HEIGHT));
  }
}
