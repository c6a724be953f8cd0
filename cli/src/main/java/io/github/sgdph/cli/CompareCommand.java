package io.github.sgdph.cli;

import io.github.sgdph.analysis.DatasetCurvature;
import io.github.sgdph.analysis.Eigenpairs;
import io.github.sgdph.analysis.Hutchinson;
import io.github.sgdph.analysis.Lanczos;
import io.github.sgdph.analysis.PartialHessianPremise;
import io.github.sgdph.analysis.TraceEstimate;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.CaseReplay;
import io.github.sgdph.cases.Float32Tolerance;
import io.github.sgdph.cases.Trajectory;
import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.cases.json.CaseJson;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.tensor.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * {@code sgdph compare}: replays each case on every backend × dtype and prints an agreement
 * matrix: for every pair of runs the largest relative deviation over the trajectory (losses,
 * final parameters, probe), whether it is within the pair's tolerance and, if not, the first step
 * beyond it.
 */
@Command(
    name = "compare",
    mixinStandardHelpOptions = true,
    description = {
      "Replays cases on every backend and dtype and prints, per case, an agreement matrix: the"
          + " largest relative deviation between every two runs over the whole trajectory"
          + " (losses, final parameters, probe), marked X<t> beyond the pair's tolerance from"
          + " step t. Tolerances: 1e-9 per float64 run, the case's derived float32 tolerance"
          + " per float32 run (printed), summed over the pair.",
      "Backends that are not installed or whose native library does not load are shown as"
          + " unavailable and skipped.",
      "Exit code 0 when every pair agrees, 1 when any disagrees, 2 for bad usage or input."
    })
final class CompareCommand implements Callable<Integer> {

  /** The format tag of {@code --json}'s result. */
  static final String FORMAT = "sgdph-compare-result/1";

  /** Eigenvalues per operator with --analysis. */
  static final int TOP = 3;

  /** Hutchinson samples with --analysis. */
  static final int TRACE_SAMPLES = 30;

  /** The largest channel-wise block the premise check builds densely with --analysis. */
  static final int MAX_BLOCK = 256;

  @Mixin CaseOptions cases;

  @Option(names = "--backends", split = ",", paramLabel = "NAME",
      defaultValue = "reference,djl,tensorflow,dl4j",
      description = "Backends to compare, comma-separated (default: ${DEFAULT-VALUE}).")
  List<String> backends;

  @Option(names = "--dtypes", split = ",", paramLabel = "D", defaultValue = "float64,float32",
      description = "Dtypes to run each backend in, where it has them (default:"
          + " ${DEFAULT-VALUE}).")
  List<String> dtypes;

  @Option(names = "--tolerance", paramLabel = "X",
      description = "One tolerance for every pair instead of the derived ones.")
  Double tolerance;

  @Option(names = "--analysis",
      description = "Also compare analysis quantities at the initial parameters over all"
          + " batches: top-" + TOP + " eigenvalues of H and G (Lanczos, same start vector),"
          + " SGD-PH's premise statistics, and Hutchinson's trace of H (" + TRACE_SAMPLES
          + " samples) within its standard errors.")
  boolean analysis;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Write every run's trajectory to DIR/<case>.<backend>-<dtype>.trajectory.json.")
  Path out;

  @Option(names = "--json", paramLabel = "FILE",
      description = "Also write the result as JSON (" + FORMAT + ", docs/CLI.md).")
  Path json;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** One backend in one dtype, and the layer types it builds. */
  private record Config(String backend, SpecBackend b, DType dtype, List<String> layers) {
    String label() {
      String b = switch (backend) {
        case "reference" -> "ref";
        case "tensorflow" -> "tf";
        default -> backend;
      };
      return b + " " + (dtype == DType.FLOAT64 ? "f64" : "f32");
    }
  }

  /**
   * What one run produced: a trajectory (and analysis), the reason it failed, or the reason it
   * was not made (the backend does not build a layer type of the case, as {@code sgdph
   * backends} lists them).
   */
  private record Run(Trajectory trajectory, Analysis analysis, String error, String skipped) {
    Run(Trajectory trajectory, Analysis analysis, String error) {
      this(trajectory, analysis, error, null);
    }
  }

  /** The analysis quantities of one run. */
  private record Analysis(double[] hTop, double[] gTop, double[] premise, double trace,
      double traceSe, boolean traceExact, double lanczosTolerance) {}

  @Override
  public Integer call() throws IOException {
    PrintWriter o = spec.commandLine().getOut();
    if (tolerance != null && !(tolerance >= 0)) {
      throw new IllegalArgumentException("--tolerance: must be >= 0 but was " + tolerance);
    }
    List<DType> dts = new ArrayList<>();
    for (String d : dtypes) {
      DType t = Backends.dtype("--dtypes", d.strip());
      if (!dts.contains(t)) {
        dts.add(t);
      }
    }
    List<String> names = new ArrayList<>();
    for (String n : backends) {
      String s = n.strip();
      if (!Backends.KNOWN.contains(s) && Backends.probe(s).backend() == null) {
        throw new IllegalArgumentException("--backends: unknown backend '" + s + "'; known: "
            + String.join(", ", Backends.KNOWN));
      }
      if (!names.contains(s)) {
        names.add(s);
      }
    }
    List<CaseOptions.Named> todo = cases.load("compare");

    List<Config> configs = new ArrayList<>();
    Map<String, Object> backendsJson = new LinkedHashMap<>();
    List<Backends.Probe> probes = new ArrayList<>();
    o.println("backends:");
    for (String n : names) {
      Backends.Probe p = Backends.probe(n);
      Map<String, Object> bj = new LinkedHashMap<>();
      if (!p.available()) {
        o.printf(Locale.ROOT, "  %-11s unavailable: %s%n", n, p.reason());
        bj.put("available", false);
        bj.put("reason", p.reason());
      } else {
        probes.add(p);
        List<String> used = new ArrayList<>();
        for (DType d : dts) {
          if (p.backend().supportedDTypes().contains(d)) {
            used.add(d.jsonName());
          }
        }
        o.printf(Locale.ROOT, "  %-11s %s; %s%n", n, p.description().framework(),
            used.isEmpty() ? "none of the dtypes asked for" : String.join(", ", used));
        bj.put("available", true);
        bj.put("framework", p.description().framework());
        bj.put("native_library", p.description().nativeLibrary());
        bj.put("dtypes", used);
      }
      backendsJson.put(n, bj);
    }
    for (DType d : dts) { // every float64 run, then every float32 run
      for (Backends.Probe p : probes) {
        if (p.backend().supportedDTypes().contains(d)) {
          configs.add(new Config(p.name(), p.backend(), d,
              p.description().restrictedTo(p.backend()).layers()));
        }
      }
    }
    if (configs.size() < 2) {
      throw new IllegalArgumentException("compare: needs at least two runs (backend × dtype)"
          + " but has " + configs.size() + " of --backends " + String.join(",", names)
          + " --dtypes " + String.join(",", dtypes));
    }
    if (out != null) {
      Files.createDirectories(out);
    }

    CaseTolerances tolerances = new CaseTolerances();
    int pairs = 0;
    int skippedPairs = 0;
    int disagreements = 0;
    List<String> failed = new ArrayList<>();
    double[][] worstRatio = new double[configs.size()][configs.size()];
    boolean[][] compared = new boolean[configs.size()][configs.size()];
    List<Object> casesJson = new ArrayList<>();
    for (CaseOptions.Named n : todo) {
      CaseFile c = n.caseFile();
      boolean anyF32 = configs.stream().anyMatch(k -> k.dtype() == DType.FLOAT32);
      Float32Tolerance f32 = anyF32 && tolerance == null ? tolerances.float32(n.name(), c) : null;
      o.printf(Locale.ROOT, "%n== %s — %s, %d step%s%s%n", n.name(), c.optimizer().name(),
          c.steps(), c.steps() == 1 ? "" : "s", f32 == null
              ? (tolerance != null ? String.format(Locale.ROOT, "; tolerance %.1e (--tolerance)",
                  tolerance) : "")
              : String.format(Locale.ROOT, "; float32 tolerance %.1e = %.0f × sensitivity %.1e",
                  f32.tolerance(), Float32Tolerance.FACTOR, f32.sensitivity()));
      Run[] runs = new Run[configs.size()];
      for (int i = 0; i < runs.length; i++) {
        runs[i] = run(c, configs.get(i));
        if (runs[i].trajectory() != null && out != null) {
          Config k = configs.get(i);
          CaseJson.writeTrajectory(runs[i].trajectory(), out.resolve(n.name()
              .replaceFirst("\\.json$", "") + "." + k.backend() + "-" + k.dtype().jsonName()
              + ".trajectory.json"));
        }
      }
      String[][] cells = new String[runs.length][runs.length];
      List<Object> pairsJson = new ArrayList<>();
      for (int i = 0; i < runs.length; i++) {
        for (int j = 0; j < i; j++) {
          Config a = configs.get(j);
          Config b = configs.get(i);
          if (runs[i].skipped() != null || runs[j].skipped() != null) {
            skippedPairs++;
            cells[i][j] = "n/a";
            continue;
          }
          pairs++;
          compared[i][j] = true;
          double tol = tolerance != null ? tolerance
              : tolerances.pair(n.name(), c, a.dtype(), b.dtype());
          Map<String, Object> pj = new LinkedHashMap<>();
          pj.put("a", a.label());
          pj.put("b", b.label());
          pj.put("tolerance", tol);
          boolean ok;
          if (runs[i].error() != null || runs[j].error() != null) {
            ok = false;
            cells[i][j] = "error";
            pj.put("error", runs[i].error() != null ? b.label() + ": " + runs[i].error()
                : a.label() + ": " + runs[j].error());
            worstRatio[i][j] = Double.POSITIVE_INFINITY;
          } else {
            TrajectoryComparison cmp =
                TrajectoryComparison.compare(runs[i].trajectory(), runs[j].trajectory());
            TrajectoryComparison.Deviation w = cmp.worst();
            OptionalInt first = cmp.firstStepAbove(tol);
            ok = first.isEmpty();
            cells[i][j] = String.format(Locale.ROOT, "%.1e", w.relative())
                + (ok ? "" : " X" + first.getAsInt());
            worstRatio[i][j] = Math.max(worstRatio[i][j], w.relative() / Math.max(tol, 1e-300));
            pj.put("deviation", JsonResult.number(w.relative()));
            pj.put("field", w.field());
            pj.put("first_step_above", first.isPresent() ? first.getAsInt() : null);
            if (analysis) {
              Map<String, Object> aj = compareAnalysis(runs[j].analysis(), runs[i].analysis(),
                  tol);
              pj.put("analysis", aj);
              if (!(Boolean) aj.get("ok")) {
                ok = false;
                cells[i][j] += " A";
              }
            }
          }
          pj.put("ok", ok);
          if (!ok) {
            disagreements++;
            failed.add(n.name() + ": " + a.label() + " vs " + b.label());
          }
          pairsJson.add(pj);
        }
      }
      printMatrix(o, configs, cells);
      for (int i = 0; i < runs.length; i++) {
        if (runs[i].error() != null) {
          o.printf(Locale.ROOT, "  %s failed: %s%n", configs.get(i).label(), runs[i].error());
        } else if (runs[i].skipped() != null) {
          o.printf(Locale.ROOT, "  %s not run: %s%n", configs.get(i).label(), runs[i].skipped());
        }
      }
      if (analysis) {
        printAnalysis(o, configs, runs);
      }
      Map<String, Object> cj = new LinkedHashMap<>();
      cj.put("case", n.name());
      cj.put("optimizer", c.optimizer().name());
      cj.put("steps", c.steps());
      if (f32 != null) {
        Map<String, Object> fj = new LinkedHashMap<>();
        fj.put("sensitivity", f32.sensitivity());
        fj.put("field", f32.field());
        fj.put("factor", Float32Tolerance.FACTOR);
        fj.put("tolerance", f32.tolerance());
        cj.put("float32_tolerance", fj);
      } else {
        cj.put("float32_tolerance", null);
      }
      Map<String, Object> notRun = new LinkedHashMap<>();
      for (int i = 0; i < runs.length; i++) {
        if (runs[i].skipped() != null) {
          notRun.put(configs.get(i).label(), runs[i].skipped());
        }
      }
      cj.put("not_run", notRun);
      cj.put("pairs", pairsJson);
      casesJson.add(cj);
    }

    if (todo.size() > 1) {
      o.printf(Locale.ROOT, "%n== all %d cases: largest deviation / tolerance per pair%n",
          todo.size());
      String[][] cells = new String[configs.size()][configs.size()];
      for (int i = 0; i < configs.size(); i++) {
        for (int j = 0; j < i; j++) {
          double r = worstRatio[i][j];
          cells[i][j] = !compared[i][j] ? "n/a" : Double.isInfinite(r) ? "error"
              : String.format(Locale.ROOT, "%.2f", r) + (r > 1 ? " X" : "");
        }
      }
      printMatrix(o, configs, cells);
    }
    o.println();
    o.println("X<t>: beyond the pair's tolerance from step t (0: the probe or the first loss;"
        + " the number of steps: the final parameters)" + (analysis ? "; A: analysis" : ""));
    String notMade = skippedPairs == 0 ? "" : String.format(Locale.ROOT,
        "; %d pair%s not compared: a backend does not build the case's layer types", skippedPairs,
        skippedPairs == 1 ? "" : "s");
    if (disagreements == 0) {
      o.printf(Locale.ROOT, "all %d pairs agree (%d case%s × %d runs%s)%n", pairs, todo.size(),
          todo.size() == 1 ? "" : "s", configs.size(), notMade);
    } else {
      o.printf(Locale.ROOT, "%d of %d pairs disagree%s: %s%n", disagreements, pairs, notMade,
          String.join("; ", failed));
    }
    if (json != null) {
      Map<String, Object> root = new LinkedHashMap<>();
      root.put("format", FORMAT);
      root.put("backends", backendsJson);
      List<String> runsJson = new ArrayList<>();
      configs.forEach(k -> runsJson.add(k.label()));
      root.put("runs", runsJson);
      root.put("cases", casesJson);
      root.put("pairs", pairs);
      root.put("pairs_not_compared", skippedPairs);
      root.put("disagreements", disagreements);
      root.put("exit_code", disagreements == 0 ? Main.EXIT_OK : Main.EXIT_DEVIATION);
      JsonResult.write(root, json);
    }
    return disagreements == 0 ? Main.EXIT_OK : Main.EXIT_DEVIATION;
  }

  private Run run(CaseFile c, Config k) {
    List<String> missing = new ArrayList<>();
    for (LayerSpec l : c.model().layers()) {
      if (!k.layers().contains(l.type()) && !missing.contains(l.type())) {
        missing.add(l.type());
      }
    }
    if (!missing.isEmpty()) {
      return new Run(null, null, null, k.backend() + " does not build " + String.join(", ", missing)
          + (c.model().isSequential() ? "" : " (a graph model)"));
    }
    if (!c.model().isSequential() && !k.b().supportsGraphModels()) {
      return new Run(null, null, null, k.backend() + " does not build graph models");
    }
    Trajectory t;
    try {
      t = CaseReplay.replay(c, k.b(), k.dtype(), null);
    } catch (RuntimeException | LinkageError e) {
      return new Run(null, null, Main.oneLine(String.valueOf(e.getMessage())));
    }
    Analysis a = null;
    if (analysis) {
      try {
        a = analyse(c, k);
      } catch (RuntimeException | LinkageError e) {
        return new Run(t, null, "analysis: " + Main.oneLine(String.valueOf(e.getMessage())));
      }
    }
    return new Run(t, a, null);
  }

  private static Analysis analyse(CaseFile c, Config k) {
    Lanczos lanczos = Lanczos.withDefaults();
    double lt = k.dtype() == DType.FLOAT64 ? lanczos.tolerance() : Math.max(lanczos.tolerance(),
        1e-4);
    try (SpecModel model = k.b().build(c.model(), c.parameters(), k.dtype());
        DatasetCurvature data = DatasetCurvature.of(model, c.batches())) {
      int kk = (int) Math.min(TOP, data.layout().dimension());
      double[] h;
      double[] g;
      try (Eigenpairs e = lanczos.largest(data.hessian(), data.algebra(), kk,
          new SplittableRandom(1))) {
        h = e.values();
      }
      try (Eigenpairs e = lanczos.largest(data.ggn(), data.algebra(), kk,
          new SplittableRandom(3))) {
        g = e.values();
      }
      PartialHessianPremise p = PartialHessianPremise.check(data, MAX_BLOCK,
          io.github.sgdph.analysis.AnalysisListener.NONE);
      List<Double> mass = new ArrayList<>();
      for (PartialHessianPremise.Block b : p.blocks()) {
        if (b.evaluated()) {
          mass.add(b.offDiagonalMass());
        }
      }
      TraceEstimate tr = Hutchinson.builder().samples(TRACE_SAMPLES).build()
          .trace(data.hessian(), data.algebra(), new SplittableRandom(4));
      return new Analysis(h, g, mass.stream().mapToDouble(Double::doubleValue).toArray(),
          tr.estimate(), tr.standardError(), tr.exact(), lt);
    }
  }

  /**
   * The analysis of two runs against each other: eigenvalues within the pair's tolerance plus
   * each side's Lanczos residual tolerance (a converged Ritz value is within its residual of an
   * eigenvalue), premise masses (ratios of quadratic forms of products) within 4× the pair's
   * tolerance, the traces within two standard errors of their difference (exact traces within
   * the pair's tolerance, relative).
   */
  private static Map<String, Object> compareAnalysis(Analysis a, Analysis b, double tol) {
    Map<String, Object> m = new LinkedHashMap<>();
    double eigTol = tol + a.lanczosTolerance() + b.lanczosTolerance();
    double dh = TrajectoryComparison.relative(b.hTop(), a.hTop());
    double dg = TrajectoryComparison.relative(b.gTop(), a.gTop());
    double dp = 0;
    if (a.premise().length != b.premise().length) {
      dp = Double.POSITIVE_INFINITY;
    } else {
      for (int i = 0; i < a.premise().length; i++) {
        dp = Math.max(dp, Math.abs(a.premise()[i] - b.premise()[i]));
      }
    }
    double se = Math.sqrt(sq(a.traceSe()) + sq(b.traceSe()));
    double dt = Math.abs(a.trace() - b.trace());
    // an exact trace (as many samples as parameters) has no standard error: the pair's tolerance
    boolean exact = a.traceExact() || b.traceExact() || !(se > 0);
    boolean traceOk = exact ? dt <= tol * Math.abs(a.trace()) : dt <= 2 * se;
    boolean ok = dh <= eigTol && dg <= eigTol && dp <= 4 * tol && traceOk;
    m.put("h_top_deviation", JsonResult.number(dh));
    m.put("g_top_deviation", JsonResult.number(dg));
    m.put("eigenvalue_tolerance", eigTol);
    m.put("premise_mass_difference", JsonResult.number(dp));
    m.put("premise_tolerance", 4 * tol);
    m.put("trace_difference", dt);
    m.put("trace_exact", exact);
    m.put("trace_standard_error", JsonResult.number(se));
    m.put("ok", ok);
    return m;
  }

  private static double sq(double x) {
    return x * x;
  }

  private static void printAnalysis(PrintWriter o, List<Config> configs, Run[] runs) {
    o.println("  analysis at the initial parameters:");
    for (int i = 0; i < runs.length; i++) {
      Analysis a = runs[i].analysis();
      if (a == null) {
        continue;
      }
      o.printf(Locale.ROOT, "  %-10s H top %s  G top %s  trace %s ± %s%n", configs.get(i).label(),
          nums(a.hTop()), nums(a.gTop()), AnalyzeCommand.num(a.trace()),
          AnalyzeCommand.num(a.traceSe()));
    }
  }

  private static String nums(double[] v) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < v.length; i++) {
      sb.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.6g", v[i]));
    }
    return sb.toString();
  }

  /** A lower-triangular matrix: rows and columns are the runs. */
  private static void printMatrix(PrintWriter o, List<Config> configs, String[][] cells) {
    int w = 10;
    for (Config k : configs) {
      w = Math.max(w, k.label().length() + 2);
    }
    for (String[] row : cells) {
      for (String s : row) {
        if (s != null) {
          w = Math.max(w, s.length() + 2);
        }
      }
    }
    StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "  %-10s", ""));
    for (int j = 0; j < configs.size() - 1; j++) {
      head.append(String.format(Locale.ROOT, "%-" + w + "s", configs.get(j).label()));
    }
    o.println(head.toString().stripTrailing());
    for (int i = 1; i < configs.size(); i++) {
      StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %-10s",
          configs.get(i).label()));
      for (int j = 0; j < i; j++) {
        row.append(String.format(Locale.ROOT, "%-" + w + "s", cells[i][j]));
      }
      o.println(row.toString().stripTrailing());
    }
  }
}
