package io.github.sgdph.cli;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.CaseReplay;
import io.github.sgdph.cases.Float32Tolerance;
import io.github.sgdph.cases.ProbeResult;
import io.github.sgdph.cases.Trajectory;
import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.cases.json.CaseJson;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.optim.StepReport;
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
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/** {@code sgdph replay}: replays case files on a backend and writes trajectories. */
@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    description = {
      "Replays case files (sgdph-case/1) on a backend, prints the loss of every step and, when a"
          + " case has an expected trajectory (or --expected gives one), the largest relative"
          + " deviation from it.",
      "Exit code 1 when a deviation exceeds the tolerance, 2 for bad usage or input."
    })
final class ReplayCommand implements Callable<Integer> {

  /** The format tag of {@code --json}'s result. */
  static final String FORMAT = "sgdph-replay-result/1";

  @Mixin CaseOptions cases;

  @Option(names = "--backend", defaultValue = "reference", paramLabel = "NAME",
      description = "Backend to run on: reference, djl, tensorflow or dl4j"
          + " (default: ${DEFAULT-VALUE}).")
  String backend;

  @Option(names = "--dtype", paramLabel = "D",
      description = "Precision to run in (float32|float64); default: the case's own.")
  String dtype;

  @Option(names = "--out", paramLabel = "PATH",
      description = "Write the trajectory here (a file for one case; a directory for several,"
          + " one <case>.trajectory.json each).")
  Path out;

  @Option(names = "--expected", paramLabel = "TRAJ.json",
      description = "Compare with this trajectory file (sgdph-trajectory/1, e.g. written by"
          + " --out) instead of the case's own expected member; one case only.")
  Path expected;

  @Option(names = "--tolerance", paramLabel = "X",
      description = "Largest accepted relative deviation from the expectation; default 1e-9 per"
          + " float64 side and the case's derived tolerance per float32 side (printed).")
  Double tolerance;

  @Option(names = "--json", paramLabel = "FILE",
      description = "Also write the result as JSON (" + FORMAT + ", docs/CLI.md).")
  Path json;

  @Option(names = {"-q", "--quiet"}, description = "Print one summary line per case, not every"
      + " step.")
  boolean quiet;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    PrintWriter o = spec.commandLine().getOut();
    if (tolerance != null && !(tolerance >= 0)) {
      throw new IllegalArgumentException("--tolerance: must be >= 0 but was " + tolerance);
    }
    DType forced = dtype == null ? null : Backends.dtype("--dtype", dtype);
    List<CaseOptions.Named> todo = cases.load("replay");
    Trajectory given = null;
    if (expected != null) {
      if (todo.size() != 1) {
        throw new IllegalArgumentException("--expected: compares one case, but " + todo.size()
            + " were given");
      }
      given = readTrajectory(expected);
      try {
        CaseJson.checkExpectation(todo.get(0).caseFile(), given);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(expected + ": does not fit "
            + todo.get(0).name() + ": " + e.getMessage(), e);
      }
    }
    SpecBackend b = Backends.open("--backend", backend);
    for (CaseOptions.Named n : todo) {
      Backends.requireDtype("--dtype", b, forced == null ? n.caseFile().dtype() : forced);
    }
    if (out != null && todo.size() > 1) {
      Files.createDirectories(out);
    }
    CaseTolerances tolerances = new CaseTolerances();
    List<Object> results = new ArrayList<>();
    int failures = 0;
    int skipped = 0;
    for (CaseOptions.Named n : todo) {
      CaseFile c = n.caseFile();
      DType dt = forced == null ? c.dtype() : forced;
      String unsupported = b.unsupportedReason(c.model());
      if (unsupported != null && todo.size() > 1) {
        // several cases (e.g. --bundled): one the backend does not build is skipped, saying so;
        // a single case is an error (UnsupportedOperationException from build, exit 2)
        o.printf(Locale.ROOT, "%n== %s — skipped: %s%n", n.name(), unsupported);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("case", n.name());
        r.put("skipped", unsupported);
        results.add(r);
        skipped++;
        continue;
      }
      o.printf(Locale.ROOT, "%n== %s — %s, %d step%s, %s %s%n", n.name(), c.optimizer().name(),
          c.steps(), c.steps() == 1 ? "" : "s", b.name(), dt.jsonName());
      if (!quiet && c.steps() > 0) {
        o.println(" step          loss   step size     damping   CG  CG stop");
      }
      Trajectory t = CaseReplay.replay(c, b, dt, quiet ? null : r -> o.println(row(r)));
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("case", n.name());
      r.put("optimizer", c.optimizer().name());
      r.put("steps", c.steps());
      r.put("dtype", dt.jsonName());
      r.put("loss", t.loss());
      if (t.probe() != null) {
        ProbeResult p = t.probe();
        o.printf(Locale.ROOT, "probe: loss %.10g  |grad| %.6g  |Hv| %.6g  |Gv| %.6g%n",
            p.loss(), norm(p.gradient()), norm(p.hvp()), norm(p.ggnvp()));
        Map<String, Object> pj = new LinkedHashMap<>();
        pj.put("loss", p.loss());
        pj.put("gradient_norm", norm(p.gradient()));
        pj.put("hvp_norm", norm(p.hvp()));
        pj.put("ggnvp_norm", norm(p.ggnvp()));
        r.put("probe", pj);
      } else {
        r.put("probe", null);
      }
      if (quiet && t.loss().length > 0) {
        o.printf(Locale.ROOT, "loss %.10g -> %.10g%n", t.loss()[0], t.loss()[t.loss().length - 1]);
      }
      Trajectory e = given != null ? given : c.expected();
      if (e != null) {
        DType et = e.dtype() != null ? e.dtype() : c.dtype();
        double tol;
        String how;
        Double sensitivity = null;
        if (tolerance != null) {
          tol = tolerance;
          how = "--tolerance";
        } else if (dt == DType.FLOAT64 && et == DType.FLOAT64) {
          tol = tolerances.pair(n.name(), c, dt, et);
          how = "float64";
        } else {
          Float32Tolerance f = tolerances.float32(n.name(), c);
          tol = f.forPair(dt, et, CaseTolerances.FLOAT64);
          sensitivity = f.sensitivity();
          how = String.format(Locale.ROOT, "derived: %.0f × float32 sensitivity %.2g",
              Float32Tolerance.FACTOR, f.sensitivity());
        }
        TrajectoryComparison cmp = TrajectoryComparison.compare(t, e);
        TrajectoryComparison.Deviation w = cmp.worst();
        boolean ok = cmp.within(tol);
        OptionalInt first = cmp.firstStepAbove(tol);
        o.printf(Locale.ROOT, "expected%s: largest relative deviation %.3g in %s (tolerance %.2g,"
                + " %s) %s%n", given != null ? " (" + expected + ")" : "", w.relative(),
            w.field(), tol, how,
            ok ? "OK" : "FAILED from step " + first.getAsInt());
        if (!ok) {
          failures++;
        }
        Map<String, Object> ej = new LinkedHashMap<>();
        ej.put("source", given != null ? expected.toString() : "case");
        ej.put("deviation", JsonResult.number(w.relative()));
        ej.put("field", w.field());
        ej.put("tolerance", tol);
        ej.put("tolerance_source", tolerance != null ? "option"
            : sensitivity == null ? "float64" : "derived");
        ej.put("float32_sensitivity", sensitivity);
        ej.put("first_step_above", first.isPresent() ? first.getAsInt() : null);
        ej.put("ok", ok);
        r.put("expected", ej);
      } else {
        r.put("expected", null);
      }
      Path target = null;
      if (out != null) {
        target = todo.size() > 1
            ? out.resolve(n.name().replaceFirst("\\.json$", "") + ".trajectory.json")
            : out;
        Path dir = target.toAbsolutePath().getParent();
        if (dir != null) {
          Files.createDirectories(dir);
        }
        CaseJson.writeTrajectory(t, target);
        o.println("trajectory written to " + target);
      }
      r.put("trajectory", target == null ? null : target.toString());
      results.add(r);
    }
    int replayed = todo.size() - skipped;
    o.printf(Locale.ROOT, "%n%d case%s replayed on %s, %d deviation%s above tolerance%s%n",
        replayed, replayed == 1 ? "" : "s", b.name(), failures, failures == 1 ? "" : "s",
        skipped == 0 ? "" : ", " + skipped + " skipped (not built by this backend)");
    if (json != null) {
      Map<String, Object> root = new LinkedHashMap<>();
      root.put("format", FORMAT);
      root.put("backend", b.name());
      root.put("cases", results);
      root.put("deviations_above_tolerance", failures);
      root.put("exit_code", failures == 0 ? Main.EXIT_OK : Main.EXIT_DEVIATION);
      JsonResult.write(root, json);
    }
    return failures == 0 ? Main.EXIT_OK : Main.EXIT_DEVIATION;
  }

  private static Trajectory readTrajectory(Path p) {
    if (!Files.exists(p)) {
      throw new IllegalArgumentException(p + ": no such file");
    }
    try {
      return CaseJson.readTrajectory(p);
    } catch (IOException e) {
      throw new IllegalArgumentException(p + ": cannot read: " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(p + ": " + e.getMessage(), e);
    }
  }

  static String row(StepReport r) {
    return String.format(Locale.ROOT, "%5d  %12.8f  %10s  %10s  %3s  %s", r.step(), r.loss(),
        num(r.stepSize()), num(r.damping()), r.cgIterations() < 0 ? "-" : r.cgIterations(),
        r.cgStopReason() == null ? "-" : r.cgStopReason());
  }

  private static String num(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4g", v);
  }

  static double norm(double[] v) {
    double s = 0;
    for (double x : v) {
      s += x * x;
    }
    return Math.sqrt(s);
  }
}
