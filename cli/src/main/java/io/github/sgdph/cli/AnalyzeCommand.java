package io.github.sgdph.cli;

import io.github.sgdph.analysis.AnalysisListener;
import io.github.sgdph.analysis.DatasetCurvature;
import io.github.sgdph.analysis.EigenspaceAlignment;
import io.github.sgdph.analysis.Eigenpairs;
import io.github.sgdph.analysis.FisherCurvature;
import io.github.sgdph.analysis.HutchPlusPlus;
import io.github.sgdph.analysis.Hutchinson;
import io.github.sgdph.analysis.Lanczos;
import io.github.sgdph.analysis.PartialHessianPremise;
import io.github.sgdph.analysis.PowerIteration;
import io.github.sgdph.analysis.SampleGradients;
import io.github.sgdph.analysis.ScaleInvariantSharpness;
import io.github.sgdph.analysis.SpectralDensity;
import io.github.sgdph.analysis.StochasticLanczosQuadrature;
import io.github.sgdph.analysis.TraceEstimate;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.kfac.FisherType;
import io.github.sgdph.kfac.KroneckerFactors;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sgdph analyze}: Hessian-based analysis of a case's model on all of its batches
 * (ALGORITHMS.md §4): top eigenvalues of the Hessian and the Gauss-Newton matrix (Lanczos),
 * the trace (Hutchinson, Hutch++, each with its standard error; exact from the basis vectors
 * when there are no more parameters than samples), the alignment of the Hessian's top
 * eigenspace with the second moment of per-sample gradients (the per-term gradients of each
 * batch's loss, {@link SampleGradients#PER_TERM}; {@code --sample-gradients isolated} for each
 * sample alone, labelled so), a scale-invariant sharpness, SGD-PH's premise check,
 * and the spectral density (stochastic Lanczos quadrature; its first two moments with standard
 * errors over the probe vectors), plotted as a PNG when asked ({@code --plot}, {@code --out}).
 */
@Command(
    name = "analyze",
    mixinStandardHelpOptions = true,
    description = {
      "Analyses the curvature of a case's model over all of its batches (averaged like a"
          + " full-data Hessian): top-k eigenvalues of the Hessian H and the Gauss-Newton"
          + " matrix G, the trace of H, the alignment of H's top eigenspace with the second"
          + " moment M of per-sample gradients, a scale-invariant sharpness, SGD-PH's premise"
          + " check on every channel-wise tensor, and the moments of H's spectral density (a"
          + " PNG plot with --plot or --out; no file is written unless asked).",
      "Exit code 2 for bad usage or input."
    })
final class AnalyzeCommand implements Callable<Integer> {

  /** The format tag of {@code --json}'s result. */
  static final String FORMAT = "sgdph-analysis-result/1";

  @Mixin CaseOptions cases;

  @Option(names = "--backend", defaultValue = "reference", paramLabel = "NAME",
      description = "Backend to run on: reference, djl, tensorflow or dl4j"
          + " (default: ${DEFAULT-VALUE}).")
  String backend;

  @Option(names = "--dtype", description = "float32|float64; default: the case's own.")
  String dtype;

  @Option(names = {"-k", "--top"}, defaultValue = "5",
      description = "Number of top eigenvalues (default: ${DEFAULT-VALUE}).")
  int k;

  @Option(names = "--seed", defaultValue = "0",
      description = "Seed of every random vector (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--after-steps", defaultValue = "0", paramLabel = "N",
      description = "Replay the case's optimizer for N steps first (default: analyse the"
          + " initial parameters).")
  int afterSteps;

  @Option(names = "--trace-samples", defaultValue = "100",
      description = "Hutchinson samples; Hutch++ gets the same number of products. At least"
          + " as many as parameters: the trace is computed exactly from the basis vectors"
          + " (default: ${DEFAULT-VALUE}).")
  int traceSamples;

  @Option(names = "--density-steps", defaultValue = "90",
      description = "Lanczos steps per density run, capped at the dimension"
          + " (default: ${DEFAULT-VALUE}).")
  int densitySteps;

  @Option(names = "--density-runs", defaultValue = "4",
      description = "Random start vectors of the density; the standard errors of its moments"
          + " are over them (default: ${DEFAULT-VALUE}).")
  int densityRuns;

  @Option(names = "--plot", paramLabel = "PNG",
      description = "Write the density plot to this file.")
  Path plot;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Write the density plot to DIR/<case>-density.png.")
  Path out;

  @Option(names = "--json", paramLabel = "FILE",
      description = "Also write the result as JSON (" + FORMAT + ", docs/CLI.md).")
  Path json;

  @Option(names = "--max-block", defaultValue = "1024",
      description = "Premise check: largest channel-wise tensor to build densely"
          + " (default: ${DEFAULT-VALUE}).")
  int maxBlock;

  @Option(names = "--compare-power",
      description = "Also time top-k of H by Lanczos and by power iteration with deflation"
          + " (PyHessian's defaults), medians over --repeats runs.")
  boolean comparePower;

  @Option(names = "--repeats", defaultValue = "3",
      description = "Runs per method for --compare-power (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--per-layer",
      description = "Also print the top eigenvalue of each parameter tensor's Hessian block.")
  boolean perLayer;

  @Option(names = "--sample-gradients", defaultValue = "per-term", paramLabel = "KIND",
      description = "Per-sample gradients g_i of M: per-term (the gradient of each term of"
          + " the batch loss, in the whole batch's forward pass; what BackPACK and curvlinops"
          + " compute) or isolated (each sample alone, as a one-sample batch: another function"
          + " under train-mode batch norm) (default: ${DEFAULT-VALUE}).")
  String sampleGradients;

  @Option(names = "--matrix", split = ",", paramLabel = "NAME",
      description = "Also analyse: fisher (the Monte-Carlo Fisher F_MC, labels drawn from the"
          + " model; its top-k by Lanczos, an estimate of G's), ggn-diagonal (G's exact"
          + " diagonal from the loss Hessian's factors: its trace and per-tensor sums), kfac,"
          + " ekfac (the KFAC / EKFAC matrix of the Monte-Carlo Fisher: top-k by Lanczos, exact"
          + " trace, spectral density by SLQ). Comma-separated or repeated.")
  List<String> matrices = new ArrayList<>();

  @Option(names = "--fisher-draws", defaultValue = "1", paramLabel = "K",
      description = "Label draws per sample for --matrix fisher, kfac and ekfac (default:"
          + " ${DEFAULT-VALUE}).")
  int fisherDraws;

  @Option(names = "--progress", description = "Report progress of long runs on stderr.")
  boolean progress;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    PrintWriter o = spec.commandLine().getOut();
    if (plot != null && out != null) {
      throw new IllegalArgumentException("--plot, --out: give one place for the plot");
    }
    check(k >= 1, "--top: must be >= 1 but was " + k);
    check(afterSteps >= 0, "--after-steps: must be >= 0 but was " + afterSteps);
    check(repeats >= 1, "--repeats: must be >= 1 but was " + repeats);
    check(fisherDraws >= 1, "--fisher-draws: must be >= 1 but was " + fisherDraws);
    for (String m : matrices) {
      check(m.equals("fisher") || m.equals("ggn-diagonal") || m.equals("kfac")
              || m.equals("ekfac"),
          "--matrix: must be fisher, ggn-diagonal, kfac or ekfac but was '" + m + "'");
    }
    SampleGradients kind = switch (sampleGradients) {
      case "per-term" -> SampleGradients.PER_TERM;
      case "isolated" -> SampleGradients.ISOLATED;
      default -> throw new IllegalArgumentException(
          "--sample-gradients: must be per-term or isolated but was '" + sampleGradients + "'");
    };
    if (cases.bundled.contains(CaseOptions.ALL)) {
      throw new IllegalArgumentException("--bundled: analyze takes one case; name it, e.g."
          + " --bundled mlp-tanh-sgd.json");
    }
    DType forced = dtype == null ? null : Backends.dtype("--dtype", dtype);
    List<CaseOptions.Named> todo = cases.load("analyze");
    if (todo.size() != 1) {
      throw new IllegalArgumentException("analyze: takes one case but " + todo.size()
          + " were given");
    }
    String name = todo.get(0).name();
    CaseFile c = todo.get(0).caseFile();
    DType dt = forced == null ? c.dtype() : forced;
    SpecBackend b = Backends.open("--backend", backend);
    Backends.requireDtype("--dtype", b, dt);
    Path png = plot != null ? plot
        : out != null ? out.resolve(name.replaceFirst("\\.json$", "") + "-density.png") : null;
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("format", FORMAT);
    j.put("case", name);
    j.put("backend", b.name());
    j.put("dtype", dt.jsonName());
    j.put("after_steps", afterSteps);
    j.put("seed", seed);
    // validated up front so that a bad option fails before any work
    Hutchinson hutchinson = Hutchinson.builder().samples(traceSamples).listener(listener())
        .build();
    HutchPlusPlus hutchPP = HutchPlusPlus.builder().products(Math.max(3, traceSamples))
        .listener(listener()).build();
    StochasticLanczosQuadrature slq = StochasticLanczosQuadrature.builder().steps(densitySteps)
        .runs(densityRuns).listener(listener()).build();
    Lanczos lanczos = Lanczos.builder().listener(listener()).build();
    long t0 = System.nanoTime();

    try (SpecModel model = b.build(c.model(), c.parameters(), dt)) {
      if (afterSteps > 0) {
        Optimizer opt = Optimizers.create(c.optimizer());
        for (int t = 0; t < afterSteps; t++) {
          opt.step(model.objective(c.batchForStep(t)));
        }
      }
      try (DatasetCurvature data = DatasetCurvature.of(model, c.batches(), kind)) {
        long dim = data.layout().dimension();
        int kk = (int) Math.min(k, dim);
        o.printf(Locale.ROOT, "== %s — %d parameters, %d batch%s (%d samples), %s %s%s%n", name,
            dim, data.batchCount(), data.batchCount() == 1 ? "" : "es", data.sampleCount(),
            b.name(), dt.jsonName(),
            afterSteps > 0 ? ", after " + afterSteps + " " + c.optimizer().name() + " steps" : "");
        o.printf(Locale.ROOT, "loss %.10g%n", data.loss());
        j.put("parameters", dim);
        j.put("samples", data.sampleCount());
        j.put("loss", data.loss());
        long products = 0;

        double[] hTop;
        try (Eigenpairs h = lanczos.largest(data.hessian(), data.algebra(), kk, rng(1))) {
          hTop = h.values();
          products += h.products();
          o.printf(Locale.ROOT, "H top-%d (Lanczos, %d products%s): %s%n", kk, h.products(),
              h.converged() ? "" : ", NOT converged", nums(hTop));
          j.put("h_top", hTop);
          j.put("h_top_converged", h.converged());
        }
        try (Eigenpairs h = lanczos.smallest(data.hessian(), data.algebra(), 1, rng(2))) {
          products += h.products();
          o.printf(Locale.ROOT, "H smallest eigenvalue (Lanczos, %d products): %s%n",
              h.products(), num(h.value(0)));
          j.put("h_smallest", h.value(0));
        }
        try (Eigenpairs g = lanczos.largest(data.ggn(), data.algebra(), kk, rng(3))) {
          products += g.products();
          o.printf(Locale.ROOT, "G top-%d (Lanczos, %d products%s): %s%n", kk, g.products(),
              g.converged() ? "" : ", NOT converged", nums(g.values()));
          j.put("g_top", g.values());
          j.put("g_top_converged", g.converged());
        }

        if (!matrices.isEmpty()) {
          if (matrices.contains("fisher") || matrices.contains("ggn-diagonal")) {
            products += fisherMatrices(o, j, model, c, kk, lanczos);
          }
          products += kroneckerMatrices(o, j, model, c, kk, lanczos, slq);
        }

        if (perLayer) {
          o.println("per-tensor λ_max of the Hessian's diagonal blocks (Lanczos):");
          for (int i = 0; i < data.layout().blockCount(); i++) {
            try (Eigenpairs e = lanczos.largest(data.hessian(data.layout().select(i)),
                data.algebra(), 1, rng(1000 + i))) {
              products += e.products();
              o.printf(Locale.ROOT, "  %-16s %7d  %s%n", data.layout().block(i).name(),
                  data.layout().block(i).size(), num(e.value(0)));
            }
          }
        }

        TraceEstimate th = hutchinson.trace(data.hessian(), data.algebra(), rng(4));
        products += th.products();
        Map<String, Object> tj = new LinkedHashMap<>();
        tj.put("exact", th.exact());
        tj.put("hutchinson", th.estimate());
        tj.put("hutchinson_standard_error", JsonResult.number(th.standardError()));
        tj.put("hutchinson_samples", th.samples());
        j.put("trace", tj);
        if (th.exact()) {
          // as many samples as parameters: Σ e_iᵀ H e_i, and Hutch++ would repeat it
          o.printf(Locale.ROOT, "trace of H: %s exact (%d products with the basis vectors:"
              + " --trace-samples %d >= %d parameters)%n", num(th.estimate()), th.products(),
              traceSamples, dim);
        } else {
          TraceEstimate tpp = hutchPP.trace(data.hessian(), data.algebra(), rng(5));
          products += tpp.products();
          tj.put("hutch_plus_plus", tpp.estimate());
          tj.put("hutch_plus_plus_standard_error", JsonResult.number(tpp.standardError()));
          o.printf(Locale.ROOT, "trace of H: Hutchinson %s (%d samples); Hutch++ %s (%d"
              + " products)%n", pm(th.estimate(), th.standardError()), th.samples(),
              tpp.exact() ? num(tpp.estimate()) + " exact"
                  : pm(tpp.estimate(), tpp.standardError()), tpp.products());
        }

        String mLabel = kind == SampleGradients.PER_TERM ? ""
            : " [g_i = " + kind.description() + "]";
        if (kind == SampleGradients.ISOLATED && hasTrainModeBatchNorm(c)) {
          o.println("note: train-mode batch norm — with --sample-gradients isolated each g_i"
              + " normalises its sample by its own statistics (not a term of the batch loss)");
        }
        EigenspaceAlignment al = EigenspaceAlignment.compute(data.hessian(),
            data.gradientMoment(), data.algebra(), kk, lanczos, rng(6));
        products += al.products();
        double[] deg = al.principalAngles();
        for (int i = 0; i < deg.length; i++) {
          deg[i] = Math.toDegrees(deg[i]);
        }
        o.printf(Locale.ROOT, "alignment of H and M = (1/N) Σ g_i g_iᵀ%s (top-%d): overlap"
            + " ‖U_Hᵀ U_M‖_F²/k = %.6f, principal angles (deg) %s, λ1(H)/λ1(M) = %s%n", mLabel,
            kk, al.overlap(), angles(deg), num(al.topEigenvalueRatio()));
        o.printf(Locale.ROOT, "M top-%d%s: %s%n", kk, mLabel, nums(al.eigenvaluesB()));
        Map<String, Object> aj = new LinkedHashMap<>();
        aj.put("sample_gradients", sampleGradients);
        aj.put("overlap", al.overlap());
        aj.put("principal_angles_degrees", deg);
        aj.put("top_eigenvalue_ratio", JsonResult.number(al.topEigenvalueRatio()));
        aj.put("m_top", al.eigenvaluesB());
        j.put("alignment", aj);

        try (ParameterVector theta = data.parameters()) {
          ScaleInvariantSharpness s = ScaleInvariantSharpness.compute(data.hessian(), theta,
              data.algebra(), lanczos, rng(7));
          products += s.products();
          o.printf(Locale.ROOT, "sharpness: λ_max(H) = %s, scale-invariant λ_max(|θ| H |θ|) ="
              + " %s%n", num(s.topEigenvalue()), num(s.scaleInvariant()));
          Map<String, Object> sj = new LinkedHashMap<>();
          sj.put("top_eigenvalue", s.topEigenvalue());
          sj.put("scale_invariant", s.scaleInvariant());
          j.put("sharpness", sj);
        }

        PartialHessianPremise p = PartialHessianPremise.check(data, maxBlock, listener());
        products += p.products();
        List<Object> pj = new ArrayList<>();
        for (PartialHessianPremise.Block blk : p.blocks()) {
          Map<String, Object> bj = new LinkedHashMap<>();
          bj.put("tensor", blk.name());
          bj.put("size", blk.size());
          bj.put("evaluated", blk.evaluated());
          if (blk.evaluated()) {
            bj.put("off_diagonal_mass", blk.offDiagonalMass());
            bj.put("row_sum_relative_error", JsonResult.number(blk.rowSumRelativeError()));
            bj.put("absolute_row_sum_relative_error",
                JsonResult.number(blk.absoluteRowSumRelativeError()));
          }
          pj.add(bj);
        }
        j.put("premise", pj);
        if (p.blocks().isEmpty()) {
          o.println("SGD-PH premise: the model has no channel-wise tensor");
        } else {
          o.println("SGD-PH premise (channel-wise Hessian blocks; 0 = diagonal):");
          o.println("  tensor            size  off-diag mass  row-sum error  |row sum| error");
          for (PartialHessianPremise.Block blk : p.blocks()) {
            if (blk.evaluated()) {
              o.printf(Locale.ROOT, "  %-16s %5d  %13.6f  %13.6f  %15.6f%n", blk.name(),
                  blk.size(), blk.offDiagonalMass(), blk.rowSumRelativeError(),
                  blk.absoluteRowSumRelativeError());
            } else {
              o.printf(Locale.ROOT, "  %-16s %5d  skipped (larger than --max-block %d)%n",
                  blk.name(), blk.size(), maxBlock);
            }
          }
        }

        SpectralDensity d = slq.density(data.hessian(), data.algebra(), rng(8));
        products += d.products();
        if (png != null) {
          DensityPlot.write(d.grid(), d.density(), hTop,
              "Hessian spectral density — " + name + " (SLQ, " + d.runs() + " x " + d.steps()
                  + " steps)", "dashed: top-" + kk + " eigenvalues (Lanczos)", png);
        }
        o.printf(Locale.ROOT, "spectral density: %d run%s x %d Lanczos steps, mean %s, second"
            + " moment %s (standard errors over the %d probe vector%s; trace/n by Hutchinson: %s)"
            + "%s%n", d.runs(), d.runs() == 1 ? "" : "s", d.steps(),
            pm(d.mean(), d.meanStandardError()), pm(d.moment(2), d.momentStandardError(2)),
            d.runs(), d.runs() == 1 ? "" : "s",
            th.exact() ? num(th.estimate() / dim) + " exact"
                : pm(th.estimate() / dim, th.standardError() / dim),
            png == null ? "" : ", plot written to " + png);
        Map<String, Object> dj = new LinkedHashMap<>();
        dj.put("runs", d.runs());
        dj.put("steps", d.steps());
        dj.put("mean", d.mean());
        dj.put("mean_standard_error", JsonResult.number(d.meanStandardError()));
        dj.put("second_moment", d.moment(2));
        dj.put("second_moment_standard_error", JsonResult.number(d.momentStandardError(2)));
        dj.put("plot", png == null ? null : png.toString());
        j.put("density", dj);

        if (comparePower) {
          products += comparePower(o, data, kk);
        }
        o.printf(Locale.ROOT, "%d curvature products in %.2f s%n", products,
            (System.nanoTime() - t0) / 1e9);
        j.put("products", products);
      }
    }
    if (json != null) {
      JsonResult.write(j, json);
    }
    return 0;
  }

  /** Times top-k by Lanczos and by PyHessian's power iteration; returns the products made. */
  private long comparePower(PrintWriter o, DatasetCurvature data, int kk) {
    long products = 0;
    double[] lzTime = new double[repeats];
    double[] pwTime = new double[repeats];
    long[] lzProducts = new long[repeats];
    long[] pwProducts = new long[repeats];
    double[] lzValues = null;
    double[] pwValues = null;
    LinearOperator h = data.hessian();
    for (int r = 0; r < repeats; r++) {
      long s = System.nanoTime();
      try (Eigenpairs e = Lanczos.withDefaults().largest(h, data.algebra(), kk, rng(100 + r))) {
        lzTime[r] = (System.nanoTime() - s) / 1e9;
        lzProducts[r] = e.products();
        lzValues = e.values();
      }
      s = System.nanoTime();
      try (Eigenpairs e = PowerIteration.withDefaults().dominant(h, data.algebra(), kk,
          rng(200 + r))) {
        pwTime[r] = (System.nanoTime() - s) / 1e9;
        pwProducts[r] = e.products();
        pwValues = e.values();
      }
      products += lzProducts[r] + pwProducts[r];
    }
    o.printf(Locale.ROOT, "top-%d of H, medians of %d runs:%n", kk, repeats);
    o.printf(Locale.ROOT, "  Lanczos                    %6d products  %8.3f s  %s%n",
        median(lzProducts), median(lzTime), nums(lzValues));
    o.printf(Locale.ROOT, "  power iteration + deflation %5d products  %8.3f s  %s%n",
        median(pwProducts), median(pwTime), nums(pwValues));
    return products;
  }

  private AnalysisListener listener() {
    if (!progress) {
      return AnalysisListener.NONE;
    }
    PrintWriter err = spec.commandLine().getErr();
    return p -> {
      if (p.step() == p.limit() || p.step() % 25 == 0) {
        err.printf(Locale.ROOT, "[%s] %d/%d, %d products%s%n", p.task(), p.step(), p.limit(),
            p.products(), Double.isNaN(p.estimate()) ? "" : ", estimate " + num(p.estimate()));
        err.flush();
      }
    };
  }

  /** {@code --matrix}: the Monte-Carlo Fisher's top-k and the exact GGN diagonal. */
  private long fisherMatrices(PrintWriter o, Map<String, Object> j, SpecModel model, CaseFile c,
      int kk, Lanczos lanczos) {
    long products = 0;
    try (FisherCurvature f = FisherCurvature.of(model, c.batches())) {
      if (matrices.contains("fisher")) {
        long fisherSeed = rng(9).nextLong();
        try (Eigenpairs e = lanczos.largest(f.monteCarloFisher(fisherDraws, fisherSeed),
            f.algebra(), kk, rng(10))) {
          products += e.products();
          o.printf(Locale.ROOT, "F_MC top-%d (Lanczos, %d label draw%s per sample, %d"
              + " products%s): %s%n", kk, fisherDraws, fisherDraws == 1 ? "" : "s",
              e.products(), e.converged() ? "" : ", NOT converged", nums(e.values()));
          Map<String, Object> fj = new LinkedHashMap<>();
          fj.put("draws", fisherDraws);
          fj.put("top", e.values());
          fj.put("top_converged", e.converged());
          j.put("fisher_mc", fj);
        }
      }
      if (matrices.contains("ggn-diagonal")) {
        try (ParameterVector d = f.ggnDiagonal()) {
          Map<String, Object> per = new LinkedHashMap<>();
          StringBuilder line = new StringBuilder();
          double trace = 0;
          for (int i = 0; i < d.blockCount(); i++) {
            double t = d.block(i).sum();
            trace += t;
            per.put(d.layout().block(i).name(), t);
            line.append(i == 0 ? "" : ", ").append(d.layout().block(i).name()).append(' ')
                .append(num(t));
          }
          o.printf(Locale.ROOT, "diag G (exact, from the loss Hessian's factors): trace %s;"
              + " per tensor: %s%n", num(trace), line);
          Map<String, Object> gj = new LinkedHashMap<>();
          gj.put("trace", trace);
          gj.put("per_tensor", per);
          j.put("ggn_diagonal", gj);
        }
      }
    }
    return products;
  }

  /**
   * {@code --matrix kfac,ekfac}: the KFAC / EKFAC matrix of the Monte-Carlo Fisher ({@code
   * --fisher-draws} draws per sample), its top-k (Lanczos), exact trace (closed form) and SLQ
   * density.
   */
  private long kroneckerMatrices(PrintWriter o, Map<String, Object> j, SpecModel model,
      CaseFile c, int kk, Lanczos lanczos, StochasticLanczosQuadrature slq) {
    boolean kfac = matrices.contains("kfac");
    boolean ekfac = matrices.contains("ekfac");
    if (!kfac && !ekfac) {
      return 0;
    }
    long products = 0;
    KroneckerFactors kf = KroneckerFactors.compute(model, c.batches(), FisherType.MONTE_CARLO,
        fisherDraws, rng(11).nextLong(), ekfac);
    for (String which : List.of("kfac", "ekfac")) {
      if (!matrices.contains(which)) {
        continue;
      }
      LinearOperator op = which.equals("kfac") ? kf.kfac() : kf.ekfac();
      double trace = which.equals("kfac") ? kf.kfac().trace() : kf.ekfac().trace();
      String label = which.toUpperCase(Locale.ROOT);
      Map<String, Object> kj = new LinkedHashMap<>();
      kj.put("fisher", "mc");
      kj.put("draws", fisherDraws);
      kj.put("layers", kf.layers().size());
      try (Eigenpairs e = lanczos.largest(op, model.algebra(), kk, rng(12))) {
        products += e.products();
        o.printf(Locale.ROOT, "%s top-%d (Monte-Carlo Fisher, %d draw%s per sample; %d factored"
            + " layers; Lanczos, %d products%s): %s%n", label, kk, fisherDraws,
            fisherDraws == 1 ? "" : "s", kf.layers().size(), e.products(),
            e.converged() ? "" : ", NOT converged", nums(e.values()));
        kj.put("top", e.values());
        kj.put("top_converged", e.converged());
      }
      SpectralDensity d = slq.density(op, model.algebra(), rng(13));
      products += d.products();
      long dim = op.dimension();
      o.printf(Locale.ROOT, "%s trace %s exact (closed form); spectral density: mean %s, second"
          + " moment %s (trace/n exact: %s)%n", label, num(trace),
          pm(d.mean(), d.meanStandardError()), pm(d.moment(2), d.momentStandardError(2)),
          num(trace / dim));
      kj.put("trace", trace);
      kj.put("density_mean", d.mean());
      kj.put("density_mean_standard_error", JsonResult.number(d.meanStandardError()));
      kj.put("density_second_moment", d.moment(2));
      kj.put("density_second_moment_standard_error",
          JsonResult.number(d.momentStandardError(2)));
      j.put(which, kj);
    }
    return products;
  }

  private SplittableRandom rng(long stream) {
    return new SplittableRandom(seed * 1_000_003L + stream);
  }

  private static boolean hasTrainModeBatchNorm(CaseFile c) {
    return c.model().layers().stream()
        .anyMatch(l -> l instanceof LayerSpec.BatchNorm bn
            && bn.mode() == LayerSpec.Mode.TRAIN);
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
  }

  private static long median(long[] v) {
    long[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  /**
   * {@code value ± se}, or the value and "± n/a" when there is no standard error (one sample).
   */
  static String pm(double value, double se) {
    return num(value) + (Double.isNaN(se) ? " ± n/a" : " ± " + num(se));
  }

  static String num(double v) {
    return String.format(Locale.ROOT, "%.6g", v);
  }

  private static String nums(double[] v) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < v.length; i++) {
      sb.append(i == 0 ? "" : " ").append(num(v[i]));
    }
    return sb.toString();
  }

  private static String angles(double[] v) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < v.length; i++) {
      sb.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.2f", v[i]));
    }
    return sb.toString();
  }
}
