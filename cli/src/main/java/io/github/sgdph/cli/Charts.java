package io.github.sgdph.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import io.github.sgdph.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** PNG charts drawn with JFreeChart, written atomically (temporary file, then rename). */
final class Charts {
  private Charts() {}

  /** A named line: x and y values. */
  record Line(String name, double[] x, double[] y) {}

  /** A panel: lines sharing a y axis. */
  record Panel(String yLabel, List<Line> lines) {}

  /**
   * Panels stacked over one shared x axis.
   *
   * @param title the chart's title
   * @param xLabel the shared x axis's label
   * @param integerX whether the x axis has integer ticks only (epochs)
   * @param panels top to bottom
   * @param file the PNG to write, replaced atomically
   */
  static void write(String title, String xLabel, boolean integerX, List<Panel> panels, Path file,
      int width, int height) throws IOException {
    NumberAxis x = new NumberAxis(xLabel);
    x.setAutoRangeIncludesZero(false);
    if (integerX) {
      x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    }
    CombinedDomainXYPlot plot = new CombinedDomainXYPlot(x);
    plot.setGap(12);
    for (Panel p : panels) {
      XYSeriesCollection data = new XYSeriesCollection();
      for (Line l : p.lines()) {
        XYSeries s = new XYSeries(l.name(), false, true);
        for (int i = 0; i < l.x().length; i++) {
          if (Double.isFinite(l.y()[i])) {
            s.add(l.x()[i], l.y()[i]);
          }
        }
        data.addSeries(s);
      }
      NumberAxis y = new NumberAxis(p.yLabel());
      y.setAutoRangeIncludesZero(false);
      XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
      for (int i = 0; i < p.lines().size(); i++) {
        r.setSeriesStroke(i, new BasicStroke(2f));
      }
      XYPlot sub = new XYPlot(data, null, y, r);
      sub.setBackgroundPaint(Color.WHITE);
      sub.setDomainGridlinePaint(Color.LIGHT_GRAY);
      sub.setRangeGridlinePaint(Color.LIGHT_GRAY);
      plot.add(sub, 1);
    }
    JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
    chart.setBackgroundPaint(Color.WHITE);
    AtomicFiles.write(file, out -> ChartUtils.writeChartAsPNG(out, chart, width, height));
  }
}
