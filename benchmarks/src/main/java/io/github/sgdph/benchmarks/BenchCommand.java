package io.github.sgdph.benchmarks;

import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.tensor.DType;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sgdph bench}: where each adapter stands. For each backend, model and dtype, in one JVM,
 * the variants of {@link BenchSession} run interleaved; the command prints one {@code RATIO}
 * line per figure and a Markdown report (BENCHMARKS.md).
 *
 * <p>Run it with the {@code ./sgdph} launcher of the repository ({@code ./sgdph bench ...}),
 * which puts this module and every adapter with its native library on the classpath.
 *
 * <p>Exit codes: 0 every session ran; 1 a session failed (the others still run; the report
 * lists the failure); 2 bad usage.
 */
@Command(
    name = "sgdph bench",
    sortOptions = false,
    description = {
      "Per-step cost of sgdph's optimizers and curvature products against each framework's own"
          + " SGD step, variants interleaved in one JVM, medians (BENCHMARKS.md).",
      "Prints one line per figure: RATIO backend=<b> model=<m> metric=<metric> value=<x>."
    })
public final class BenchCommand implements Callable<Integer> {

  /** Exit code when a session failed. */
  public static final int EXIT_FAILED = 1;

  /** Exit code for bad usage. */
  public static final int EXIT_USAGE = 2;

  /** Every backend, in run order. */
  static final List<String> ALL_BACKENDS = List.of("reference", "djl", "tensorflow", "dl4j");

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  boolean help;

  @Option(names = "--quick",
      description = "A short run: float32, 1 warm-up and 3 timed rounds unless given; all"
          + " backends in a few minutes, noisier figures.")
  boolean quick;

  @Option(names = "--backend", split = ",", paramLabel = "NAME",
      description = "Backends to run, repeatable or comma-separated: reference, djl, tensorflow,"
          + " dl4j (default: all).")
  List<String> backends;

  @Option(names = "--model", split = ",", paramLabel = "MODEL",
      description = "Models: mlp, cnn (default: both).")
  List<String> models;

  @Option(names = "--dtype", split = ",", paramLabel = "DTYPE",
      description = "float32, float64 (default: float32,float64; --quick: float32). The RATIO"
          + " lines are of the first; the reference backend runs float64 only.")
  List<String> dtypes;

  @Option(names = "--rounds", paramLabel = "N",
      description = "Timed rounds, >= 1 (default 30; --quick: 3).")
  Integer rounds;

  @Option(names = "--warmup", paramLabel = "N",
      description = "Untimed warm-up rounds, >= 0 (default 5; --quick: 1).")
  Integer warmup;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "128",
      description = "Samples per batch, >= 1 (default ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--lr", paramLabel = "X", defaultValue = "0.01",
      description = "Learning rate of the native step, SGD and SGD-PH, > 0 (default"
          + " ${DEFAULT-VALUE}).")
  double lr;

  @Option(names = "--momentum", paramLabel = "X", defaultValue = "0.9",
      description = "Their momentum, in [0, 1) (default ${DEFAULT-VALUE}; DL4J's Nesterovs"
          + " updater, and then sgdph SGD with Nesterov momentum).")
  double momentum;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "42",
      description = "Seed of the initial parameters, the batch and the product vector (default"
          + " ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--line-search",
      description = "Keep SGN's and block-diagonal HF's line searches and HF's CG backtracking"
          + " (off by default: their loss evaluations vary with the trajectory).")
  boolean lineSearch;

  @Option(names = "--out", paramLabel = "FILE",
      description = "Also write the Markdown report to FILE (atomically; rewritten after each"
          + " session).")
  Path out;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** The options checked and resolved. */
  record Plan(List<String> backends, List<BenchModels> models, List<DType> dtypes,
      BenchSession.Settings settings) {}

  /**
   * Checks the options and resolves the defaults.
   *
   * @return the plan of the run
   * @throws IllegalArgumentException naming the offending option
   */
  Plan plan() {
    int w = warmup != null ? warmup : quick ? 1 : 5;
    int r = rounds != null ? rounds : quick ? 3 : 30;
    if (r < 1) {
      throw new IllegalArgumentException("--rounds: must be >= 1 but was " + r);
    }
    if (w < 0) {
      throw new IllegalArgumentException("--warmup: must be >= 0 but was " + w);
    }
    if (batch < 1) {
      throw new IllegalArgumentException("--batch: must be >= 1 but was " + batch);
    }
    if (!(lr > 0) || Double.isInfinite(lr)) {
      throw new IllegalArgumentException("--lr: must be finite and > 0 but was " + lr);
    }
    if (!(momentum >= 0 && momentum < 1)) {
      throw new IllegalArgumentException("--momentum: must be in [0, 1) but was " + momentum);
    }
    Set<String> available = new TreeSet<>();
    for (SpecBackend b : ServiceLoader.load(SpecBackend.class)) {
      available.add(b.name());
    }
    List<String> bs = new ArrayList<>();
    for (String b : backends == null ? ALL_BACKENDS : distinct(backends)) {
      if (!ALL_BACKENDS.contains(b)) {
        throw new IllegalArgumentException(
            "--backend: unknown '" + b + "'; expected one of " + ALL_BACKENDS);
      }
      if (!available.contains(b)) {
        throw new IllegalArgumentException("--backend: " + b + " is not on the classpath"
            + " (available: " + available + "); run with the ./sgdph launcher");
      }
      bs.add(b);
    }
    List<BenchModels> ms = new ArrayList<>();
    for (String m : models == null ? List.of("mlp", "cnn") : distinct(models)) {
      ms.add(BenchModels.parse(m));
    }
    List<DType> ds = new ArrayList<>();
    for (String d : dtypes == null ? (quick ? List.of("float32") : List.of("float32", "float64"))
        : distinct(dtypes)) {
      try {
        ds.add(DType.parse(d));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "--dtype: expected float32 or float64 but was '" + d + "'");
      }
    }
    return new Plan(bs, ms, ds, new BenchSession.Settings(batch, lr, momentum, seed, w, r, lineSearch));
  }

  private static List<String> distinct(List<String> values) {
    List<String> out = new ArrayList<>();
    for (String v : new LinkedHashSet<>(values)) {
      String t = v.trim().toLowerCase(Locale.ROOT);
      if (t.isEmpty()) {
        continue;
      }
      if (!out.contains(t)) {
        out.add(t);
      }
    }
    return out;
  }

  @Override
  public Integer call() throws IOException {
    Plan p = plan();
    PrintWriter o = spec.commandLine().getOut();
    PrintWriter e = spec.commandLine().getErr();
    MemoryProbe probe = MemoryProbe.create();
    BenchReport.Header header = new BenchReport.Header(p.settings(), quick, p.dtypes(),
        probe.method());
    List<BenchSession.Result> results = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    long start = System.nanoTime();
    for (String backend : p.backends()) {
      Set<DType> supported = SpecBackend.find(backend).supportedDTypes();
      List<DType> run = new ArrayList<>();
      for (DType d : p.dtypes()) {
        if (supported.contains(d)) {
          run.add(d);
        }
      }
      if (run.isEmpty()) {
        // the reference runs float64 only: its figures are float64 whatever --dtype says
        run.add(supported.contains(DType.FLOAT64) ? DType.FLOAT64 : supported.iterator().next());
      }
      for (BenchModels model : p.models()) {
        for (int i = 0; i < run.size(); i++) {
          DType dtype = run.get(i);
          String name = backend + " " + model.cliName() + " " + dtype.jsonName();
          long t0 = System.nanoTime();
          try {
            BenchSession.Result r = BenchSession.run(backend, model, dtype, p.settings(), probe,
                line -> {
                  e.println("bench " + name + ": " + line);
                  e.flush();
                });
            results.add(r);
            if (i == 0) {
              BenchReport.ratioLines(r).forEach(o::println);
              o.flush();
            }
          } catch (RuntimeException | LinkageError ex) {
            String msg = name + ": " + ex;
            failures.add(msg);
            e.println("error: bench " + msg);
            ex.printStackTrace(e);
            e.flush();
          }
          e.println(String.format(Locale.ROOT, "bench %s: %.1f s", name,
              (System.nanoTime() - t0) / 1e9));
          if (out != null) {
            BenchReport.writeAtomically(out, BenchReport.markdown(header, results, failures));
          }
        }
      }
    }
    o.println();
    o.print(BenchReport.markdown(header, results, failures));
    o.flush();
    e.println(String.format(Locale.ROOT, "bench: finished in %.1f s%s",
        (System.nanoTime() - start) / 1e9, out == null ? "" : "; report in " + out));
    e.flush();
    return failures.isEmpty() ? 0 : EXIT_FAILED;
  }

  /**
   * Runs the command and returns its exit code (for tests); never calls {@link System#exit}.
   *
   * @param out where the RATIO lines and the report go
   * @param err where progress and errors go
   * @param args the arguments after {@code bench}
   * @return 0, {@link #EXIT_FAILED} or {@link #EXIT_USAGE}
   */
  public static int execute(PrintWriter out, PrintWriter err, String... args) {
    CommandLine cl = new CommandLine(new BenchCommand());
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
      if (ex instanceof IllegalArgumentException) {
        commandLine.getErr().println("error: " + ex.getMessage());
        commandLine.getErr().flush();
        return EXIT_USAGE;
      }
      throw ex;
    });
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /**
   * Entry point (the {@code ./sgdph} launcher runs it for {@code sgdph bench}).
   *
   * @param args the arguments after {@code bench}
   */
  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8),
        true);
    PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8),
        true);
    System.exit(execute(out, err, args));
  }
}
