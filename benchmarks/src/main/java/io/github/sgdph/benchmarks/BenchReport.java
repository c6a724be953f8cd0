package io.github.sgdph.benchmarks;

import io.github.sgdph.tensor.DType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The figures of {@code sgdph bench}: the machine-readable {@code RATIO} lines and the Markdown
 * report (BENCHMARKS.md describes both).
 */
final class BenchReport {
  /** The metrics of the {@code RATIO} lines, in order. */
  static final List<String> METRICS = List.of("sgd_vs_native", "sgdph_vs_native",
      "sgn10_vs_native", "bdhf10_vs_native", "kfac_vs_native", "kfac_update_vs_native",
      "kfac_amortised_vs_native", "ggnvp_vs_gradient", "hvp_vs_gradient");

  /** KFAC's default factor period {@code t_cov}, of the amortised figure. */
  static final int KFAC_T_COV = 10;

  /** KFAC's default inverse period {@code t_inv}, of the amortised figure. */
  static final int KFAC_T_INV = 100;

  private BenchReport() {}

  /**
   * The ratios of one session by metric. On the reference backend, which has no native
   * framework, the {@code *_vs_native} ratios are to sgdph's SGD on the reference and
   * {@code sgd_vs_native} (1 by definition) is left out.
   *
   * @param r the session
   * @return metric → ratio, only the metrics that were measured
   */
  static Map<String, Double> ratios(BenchSession.Result r) {
    Map<String, Double> out = new LinkedHashMap<>();
    boolean hasNative = r.variants().containsKey(BenchSession.NATIVE);
    double base = r.median(hasNative ? BenchSession.NATIVE : BenchSession.SGD);
    if (hasNative) {
      put(out, "sgd_vs_native", r.median(BenchSession.SGD) / base);
    }
    put(out, "sgdph_vs_native", r.median(BenchSession.SGDPH) / base);
    put(out, "sgn10_vs_native", r.median(BenchSession.SGN10) / base);
    put(out, "bdhf10_vs_native", r.median(BenchSession.BDHF10) / base);
    put(out, "kfac_vs_native", r.median(BenchSession.KFAC) / base);
    put(out, "kfac_update_vs_native", r.median(BenchSession.KFAC_UPDATE) / base);
    put(out, "kfac_amortised_vs_native", kfacAmortised(r) / base);
    double grad = r.median(BenchSession.GRADIENT);
    put(out, "ggnvp_vs_gradient", r.median(BenchSession.GGNVP) / grad);
    put(out, "hvp_vs_gradient", r.median(BenchSession.HVP) / grad);
    return out;
  }

  /**
   * KFAC's mean step time over its default schedule: the plain step, plus a factor update every
   * {@link #KFAC_T_COV} steps and an inverse every {@link #KFAC_T_INV} (from the medians of the
   * three variants; the differences are floored at 0 against noise).
   *
   * @param r the session
   * @return milliseconds per step, NaN without the KFAC variants
   */
  static double kfacAmortised(BenchSession.Result r) {
    double plain = r.median(BenchSession.KFAC);
    double factors = r.median(BenchSession.KFAC_FACTORS);
    double update = r.median(BenchSession.KFAC_UPDATE);
    return plain + Math.max(0, factors - plain) / KFAC_T_COV
        + Math.max(0, update - factors) / KFAC_T_INV;
  }

  private static void put(Map<String, Double> out, String metric, double v) {
    if (Double.isFinite(v)) {
      out.put(metric, v);
    }
  }

  /**
   * The {@code RATIO} lines of one session.
   *
   * @param r the session
   * @return one line per measured metric:
   *     {@code RATIO backend=<b> model=<m> metric=<metric> value=<x>}
   */
  static List<String> ratioLines(BenchSession.Result r) {
    List<String> lines = new ArrayList<>();
    for (Map.Entry<String, Double> e : ratios(r).entrySet()) {
      lines.add(String.format(Locale.ROOT, "RATIO backend=%s model=%s metric=%s value=%.4f",
          r.backend(), r.model().cliName(), e.getKey(), e.getValue()));
    }
    return lines;
  }

  /**
   * The run's context for the report's header.
   *
   * @param settings the settings
   * @param quick whether {@code --quick} chose them
   * @param dtypes the dtypes asked for, the first one that of the {@code RATIO} lines
   * @param memoryMethod how memory was measured
   */
  record Header(BenchSession.Settings settings, boolean quick, List<DType> dtypes,
      String memoryMethod) {}

  /**
   * The Markdown report.
   *
   * @param h the run's context
   * @param results the sessions that finished, in run order
   * @param failures one line per session that failed
   * @return the report
   */
  static String markdown(Header h, List<BenchSession.Result> results, List<String> failures) {
    StringBuilder sb = new StringBuilder();
    BenchSession.Settings s = h.settings();
    Runtime rt = Runtime.getRuntime();
    sb.append("# sgdph bench").append(h.quick() ? " --quick" : "").append("\n\n");
    sb.append(String.format(Locale.ROOT,
        "Java %s (%s), %s %s, %d processors, max heap %d MiB. Batch %d, learning rate %s, "
            + "momentum %s, seed %d; %d warm-up and %d timed rounds, variants interleaved; "
            + "medians. SGN and block-diagonal HF: 10 CG iterations (per block), %s. "
            + "Memory: %s.%n%n",
        System.getProperty("java.version"), System.getProperty("java.vm.name"),
        System.getProperty("os.name"), System.getProperty("os.arch"),
        rt.availableProcessors(), rt.maxMemory() >> 20, s.batch(), fmt(s.lr()),
        fmt(s.momentum()), s.seed(), s.warmup(), s.rounds(),
        s.lineSearch() ? "line searches and CG backtracking on"
            : "line searches and CG backtracking off", h.memoryMethod()));
    sb.append("## Ratios\n\n");
    sb.append("Medians divided by the native step's (reference backend: by sgdph SGD's), and "
        + "the marginal products by a fresh gradient's. `kfac` is a KFAC step without a factor "
        + "or inverse update, `kfac_update` one with both, `kfac_amortised` the mean over KFAC's "
        + "default schedule (factors every " + KFAC_T_COV + " steps, inverse every "
        + KFAC_T_INV + "); backends without the Kronecker-factor SPI have none. The `RATIO` "
        + "lines are the rows of the first dtype asked for (`")
        .append(h.dtypes().get(0).jsonName()).append("`; the reference runs float64 only).\n\n");
    sb.append("| backend | model | dtype |");
    METRICS.forEach(m -> sb.append(' ').append(m).append(" |"));
    sb.append("\n|---|---|---|");
    METRICS.forEach(m -> sb.append("---|"));
    sb.append('\n');
    for (BenchSession.Result r : results) {
      Map<String, Double> ratios = ratios(r);
      sb.append("| ").append(r.backend()).append(" | ").append(r.model().cliName()).append(" | ")
          .append(r.dtype().jsonName()).append(" |");
      for (String m : METRICS) {
        Double v = ratios.get(m);
        sb.append(' ').append(v == null ? "—" : String.format(Locale.ROOT, "%.2f", v))
            .append(" |");
      }
      sb.append('\n');
    }
    if (!failures.isEmpty()) {
      sb.append("\nFailed:\n\n");
      failures.forEach(f -> sb.append("- ").append(f).append('\n'));
    }
    Map<String, List<BenchSession.Result>> byModel = new LinkedHashMap<>();
    for (BenchSession.Result r : results) {
      byModel.computeIfAbsent(r.backend() + " " + r.model().cliName(), k -> new ArrayList<>())
          .add(r);
    }
    for (List<BenchSession.Result> group : byModel.values()) {
      sb.append('\n').append(detail(group));
    }
    return sb.toString();
  }

  /**
   * The table of one backend and model, with a group of columns per dtype.
   *
   * @param group the sessions of one backend and model, one per dtype
   * @return a Markdown section
   */
  static String detail(List<BenchSession.Result> group) {
    BenchSession.Result first = group.get(0);
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "## %s, %s%n%n%s.", first.backend(),
        first.model().cliName(), first.model().description()));
    for (BenchSession.Result r : group) {
      if (r.processRssBytes() >= 0) {
        sb.append(String.format(Locale.ROOT, " Process RSS after the %s rounds: %d MiB.",
            r.dtype().jsonName(), r.processRssBytes() >> 20));
      }
    }
    sb.append("\n\n| variant |");
    StringBuilder rule = new StringBuilder("|---|");
    for (BenchSession.Result r : group) {
      String d = r.dtype().jsonName();
      sb.append(String.format(Locale.ROOT,
          " %s median ms (p10–p90) | %s ratio | %s peak RSS added, MiB | %s Java heap, MiB |",
          d, d, d, d));
      rule.append("---|---|---|---|");
    }
    sb.append(" work per call |\n").append(rule).append("---|\n");
    for (String key : BenchSession.keys()) {
      BenchSession.Variant label = null;
      StringBuilder row = new StringBuilder();
      for (BenchSession.Result r : group) {
        BenchSession.Variant v = r.variants().get(key);
        if (v == null) {
          row.append(" — | — | — | — |");
          continue;
        }
        label = label == null ? v : label;
        Interleaved.Stats st = v.stats();
        boolean product = key.equals(BenchSession.GGNVP) || key.equals(BenchSession.HVP)
            || key.equals(BenchSession.GRADIENT);
        boolean hasNative = r.variants().containsKey(BenchSession.NATIVE);
        double base = r.median(product ? BenchSession.GRADIENT
            : hasNative ? BenchSession.NATIVE : BenchSession.SGD);
        String of = product ? "gradient" : hasNative ? "native" : "SGD";
        row.append(String.format(Locale.ROOT, " %.3f (%.3f–%.3f) | %.2f× %s | %s | %s |",
            st.medianMs(), st.p10Ms(), st.p90Ms(), st.medianMs() / base, of,
            st.peakRssBytes() < 0 ? "n/a"
                : String.format(Locale.ROOT, "%.1f", st.peakRssBytes() / 1048576.0),
            st.javaAllocBytes() < 0 ? "n/a"
                : String.format(Locale.ROOT, "%.2f", st.javaAllocBytes() / 1048576.0)));
      }
      if (label != null) {
        sb.append("| ").append(label.label()).append(" |").append(row).append(' ')
            .append(label.work()).append(" |\n");
      }
    }
    return sb.toString();
  }

  private static String fmt(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15
        ? String.format(Locale.ROOT, "%d", (long) v) : Double.toString(v);
  }

  /**
   * Writes a file atomically: to a temporary file in the same directory, then moved over the
   * target (a plain replace where the file system cannot move atomically).
   *
   * @param target the file
   * @param text its content, UTF-8
   * @throws IOException if it cannot be written
   */
  static void writeAtomically(Path target, String text) throws IOException {
    Path abs = target.toAbsolutePath();
    Path dir = abs.getParent();
    if (dir != null) {
      Files.createDirectories(dir);
    }
    Path tmp = Files.createTempFile(dir, abs.getFileName().toString(), ".tmp");
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
