package io.github.sgdph.benchmarks;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.kfac.FisherType;
import io.github.sgdph.kfac.LabelledObjective;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.BlockDiagonalHessianFree;
import io.github.sgdph.optim.Kfac;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.Sgd;
import io.github.sgdph.optim.SgdPh;
import io.github.sgdph.optim.Sgn;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * One backend, one model, one dtype of {@code sgdph bench}: every variant on its own model
 * (built from the same initial values and batch), run interleaved by {@link Interleaved}.
 *
 * <p>The variants: the framework's native SGD step (none on the reference backend); sgdph's
 * SGD with the same learning rate and momentum (Nesterov's when the native updater is); SGD-PH
 * with the same learning rate and momentum; SGN with exactly 10 CG iterations ({@code
 * max_cg_iters} 10, {@code cg_tol} 0: no early stop) and otherwise the authors' defaults; block-
 * diagonal HF with exactly 10 CG iterations per block ({@code cg_max_iter} and {@code
 * cg_min_iter} 10, progress and residual stops off) and otherwise the defaults (per-layer
 * blocks, curvature batch 1/10 of the batch, Levenberg-Marquardt damping); KFAC with the same
 * learning rate and momentum and its other defaults (Monte-Carlo Fisher where the objective
 * gives its labels, else the empirical one), three ways, on a backend with the Kronecker-factor
 * SPI: a step without a factor or inverse update (t_cov = t_inv = ∞ after the warm-up's first
 * step), a step with a factor update only (t_cov 1), and a step with both (t_cov = t_inv = 1) —
 * {@link BenchReport} amortises them over the default schedule; and, on a separate
 * model whose forward pass is done once, one fresh gradient (a new curvature object: forward
 * and backward) and one more GGN-vector and one more Hessian-vector product on the held
 * curvature object, as inside a CG loop.
 *
 * <p>Unless {@link Settings#lineSearch()}, SGN's Armijo line search and HF's line search and CG
 * backtracking are off, so that every step does the same work on every backend and dtype: how
 * many loss evaluations they make depends on the trajectory, which differs between backends
 * and precisions. The report's "work per call" column shows what each step asked for. Without
 * the line searches SGN and HF take full steps, which on one batch again and again can run
 * away; so before every call, outside the timed interval, each sgdph optimizer's model is reset
 * to the initial parameters (its optimizer keeps its state): every timed step starts from the
 * same point. The native step is not reset: its SGD is stable at the benchmark's learning rate,
 * and its cost, like sgdph SGD's, does not depend on the values.
 */
final class BenchSession {
  /** Variant keys, in the order they are added to the harness. */
  static final String NATIVE = "native";
  static final String SGD = "sgd";
  static final String SGDPH = "sgdph";
  static final String SGN10 = "sgn10";
  static final String BDHF10 = "bdhf10";
  static final String KFAC = "kfac";
  static final String KFAC_FACTORS = "kfac_factors";
  static final String KFAC_UPDATE = "kfac_update";
  static final String GRADIENT = "gradient";
  static final String GGNVP = "ggnvp";
  static final String HVP = "hvp";

  /** CG iterations of the SGN and block-diagonal HF variants. */
  static final int CG_ITERATIONS = 10;

  /**
   * The settings of a run.
   *
   * @param batch samples per batch
   * @param lr the learning rate of the native step, SGD and SGD-PH
   * @param momentum their momentum
   * @param seed the seed of the initial parameters, the batch and the product vector
   * @param warmup untimed rounds
   * @param rounds timed rounds
   * @param lineSearch whether SGN and block-diagonal HF keep their line searches (and HF its CG
   *     backtracking), whose number of loss evaluations depends on the trajectory
   */
  record Settings(int batch, double lr, double momentum, long seed, int warmup, int rounds,
      boolean lineSearch) {}

  /**
   * One variant's result.
   *
   * @param key the variant's key, e.g. {@code sgn10}
   * @param label what it is, for tables
   * @param stats its measurements
   * @param work what one call asked of the backend, e.g. {@code 1 gradient, 10 GGN-vector}
   */
  record Variant(String key, String label, Interleaved.Stats stats, String work) {}

  /**
   * A session's result.
   *
   * @param backend the backend's name
   * @param model the model
   * @param dtype the dtype
   * @param variants the variants by key, in harness order
   * @param processRssBytes the process's resident memory at the end, -1 if unmeasured
   */
  record Result(String backend, BenchModels model, DType dtype, Map<String, Variant> variants,
      long processRssBytes) {
    /** The median of a variant, or NaN if it did not run. */
    double median(String key) {
      Variant v = variants.get(key);
      return v == null ? Double.NaN : v.stats().medianMs();
    }
  }

  private BenchSession() {}

  /**
   * Builds everything, runs the rounds and closes everything.
   *
   * @param backendName the backend
   * @param model the model
   * @param dtype the dtype, one the backend supports
   * @param s the settings
   * @param probe the memory probe
   * @param log receives progress lines
   * @return the measurements
   */
  static Result run(String backendName, BenchModels model, DType dtype, Settings s,
      MemoryProbe probe, Consumer<String> log) {
    SpecBackend backend = SpecBackend.find(backendName);
    if (!backend.supportedDTypes().contains(dtype)) {
      throw new IllegalArgumentException(
          "--dtype: backend " + backendName + " does not run " + dtype.jsonName());
    }
    ModelSpec spec = model.spec();
    SplittableRandom rnd = new SplittableRandom(s.seed());
    List<NamedArray> init = DefaultInitializer.initialize(spec, rnd);
    ArrayBatch batch = RandomBatches.forSpec(spec, s.batch(), rnd);
    Deque<AutoCloseable> resources = new ArrayDeque<>();
    try {
      Interleaved h = new Interleaved();
      Map<String, String> labels = new LinkedHashMap<>();
      Map<String, CountingObjective.Counts> counts = new LinkedHashMap<>();
      boolean nesterov = false;
      if (NativeStep.exists(backendName)) {
        log.accept("building the native step");
        NativeStep nat = NativeStep.create(backendName, spec, init, batch, dtype, s.lr(),
            s.momentum());
        resources.push(nat);
        nesterov = nat.nesterov();
        h.add(NATIVE, nat::step);
        labels.put(NATIVE, "native: " + nat.description());
      }
      log.accept("building the sgdph models");
      Sgd sgd = Sgd.builder().lr(s.lr()).momentum(s.momentum())
          .nesterov(nesterov && s.momentum() != 0).build();
      SgdPh sgdph = SgdPh.builder().lr(s.lr()).momentum(s.momentum()).build();
      Sgn sgn = Sgn.builder().maxCgIters(CG_ITERATIONS).cgTol(0)
          .lineSearch(s.lineSearch()).build();
      BlockDiagonalHessianFree bdhf = BlockDiagonalHessianFree.builder()
          .cgMaxIter(CG_ITERATIONS).cgMinIter(CG_ITERATIONS).cgProgressTol(0).cgTol(0)
          .cgBacktracking(s.lineSearch()).lineSearch(s.lineSearch()).build();
      addOptimizer(h, labels, counts, resources, backend, spec, init, batch, dtype, SGD,
          "sgdph SGD" + (nesterov && s.momentum() != 0 ? " (Nesterov momentum)" : ""), sgd, 0);
      // SGD-PH refreshes one channel-wise tensor per step, in turn: its warm-up covers a whole
      // cycle (-1: as many calls as its second-order tensors), so that a backend that prepares
      // each restricted product once (TensorFlow builds a graph) has prepared them all
      addOptimizer(h, labels, counts, resources, backend, spec, init, batch, dtype, SGDPH,
          "sgdph SGD-PH", sgdph, -1);
      addOptimizer(h, labels, counts, resources, backend, spec, init, batch, dtype, SGN10,
          "sgdph SGN, " + CG_ITERATIONS + " CG iterations", sgn, 0);
      addOptimizer(h, labels, counts, resources, backend, spec, init, batch, dtype, BDHF10,
          "sgdph block-diagonal HF, " + CG_ITERATIONS + " CG iterations per block", bdhf, 0);
      addKfac(h, labels, counts, resources, backend, spec, init, batch, dtype, s, log);

      SpecModel products = backend.build(spec, init, dtype);
      resources.push(products);
      CountingObjective po = CountingObjective.of(products.objective(batch));
      Curvature held = po.curvature();
      resources.push(held);
      held.gradient().close(); // the forward and backward pass of the CG loop, done once
      ParameterVector v = ParameterVector.randomNormal(products.algebra(), products.layout(), rnd);
      resources.push(v);
      h.add(GRADIENT, () -> {
        try (Curvature c = po.curvature(); ParameterVector g = c.gradient()) {
          sink(g);
        }
      });
      labels.put(GRADIENT, "gradient: new curvature object (forward + backward)");
      h.add(GGNVP, () -> {
        try (ParameterVector gv = held.ggnvp(v)) {
          sink(gv);
        }
      });
      labels.put(GGNVP, "one more GGN-vector product (forward pass done)");
      h.add(HVP, () -> {
        try (ParameterVector hv = held.hvp(v)) {
          sink(hv);
        }
      });
      labels.put(HVP, "one more Hessian-vector product (forward pass done)");

      log.accept("running " + s.warmup() + " warm-up and " + s.rounds() + " timed rounds");
      long before = System.nanoTime();
      List<Interleaved.Stats> stats = h.run(s.warmup(), s.rounds(), probe, line -> { });
      log.accept(String.format(java.util.Locale.ROOT, "done in %.1f s",
          (System.nanoTime() - before) / 1e9));
      Map<String, Variant> out = new LinkedHashMap<>();
      for (Interleaved.Stats st : stats) {
        CountingObjective.Counts c = counts.get(st.key());
        out.put(st.key(), new Variant(st.key(), labels.get(st.key()), st,
            c == null ? "" : c.perCall(st.totalCalls())));
      }
      return new Result(backendName, model, dtype, out, probe.residentBytes());
    } finally {
      closeAll(resources);
    }
  }

  private static void addOptimizer(Interleaved h, Map<String, String> labels,
      Map<String, CountingObjective.Counts> counts, Deque<AutoCloseable> resources,
      SpecBackend backend, ModelSpec spec, List<NamedArray> init, ArrayBatch batch, DType dtype,
      String key, String label, Optimizer optimizer, int minWarmupCalls) {
    SpecModel m = backend.build(spec, init, dtype);
    resources.push(m);
    CountingObjective o = CountingObjective.of(m.objective(batch));
    int calls = optimizer instanceof SgdPh ph && minWarmupCalls < 0
        ? ph.secondOrderTensors(m.layout()).size() : minWarmupCalls;
    ParameterVector theta0 = m.parameters();
    resources.push(theta0);
    h.add(key, () -> o.counts().record(optimizer.step(o)), calls, () -> m.setParameters(theta0));
    labels.put(key, label);
    counts.put(key, o.counts());
  }

  /**
   * The three KFAC variants, if the backend has the Kronecker-factor SPI (a probe of its
   * curvature object), else none.
   */
  private static void addKfac(Interleaved h, Map<String, String> labels,
      Map<String, CountingObjective.Counts> counts, Deque<AutoCloseable> resources,
      SpecBackend backend, ModelSpec spec, List<NamedArray> init, ArrayBatch batch, DType dtype,
      Settings s, Consumer<String> log) {
    boolean labelled;
    try (SpecModel probe = backend.build(spec, init, dtype)) {
      Objective o = probe.objective(batch);
      labelled = o instanceof LabelledObjective;
      try (Curvature c = o.curvature()) {
        c.factoredLayers();
      }
    } catch (UnsupportedOperationException e) {
      log.accept("no KFAC variants: " + e.getMessage());
      return;
    }
    FisherType fisher = labelled ? FisherType.MONTE_CARLO : FisherType.EMPIRICAL;
    String f = labelled ? "Monte-Carlo Fisher" : "empirical Fisher";
    int never = Integer.MAX_VALUE;
    addOptimizer(h, labels, counts, resources, backend, spec, init, batch, dtype, KFAC,
        "sgdph KFAC (" + f + "), no factor or inverse update", kfac(s, fisher, never, never), 1);
    addOptimizer(h, labels, counts, resources, backend, spec, init, batch, dtype, KFAC_FACTORS,
        "sgdph KFAC (" + f + "), factor update", kfac(s, fisher, 1, never), 1);
    addOptimizer(h, labels, counts, resources, backend, spec, init, batch, dtype, KFAC_UPDATE,
        "sgdph KFAC (" + f + "), factor and inverse update", kfac(s, fisher, 1, 1), 1);
  }

  private static Kfac kfac(Settings s, FisherType fisher, int tCov, int tInv) {
    return Kfac.builder().lr(s.lr()).momentum(s.momentum()).fisher(fisher).seed(s.seed())
        .tCov(tCov).tInv(tInv).build();
  }

  private static volatile double blackhole;

  /** Keeps a result observable, so no work can be skipped. */
  private static void sink(ParameterVector v) {
    blackhole = v.dimension();
  }

  private static void closeAll(Deque<AutoCloseable> resources) {
    RuntimeException first = null;
    while (!resources.isEmpty()) {
      try {
        resources.pop().close();
      } catch (Exception e) {
        if (first == null) {
          first = new IllegalStateException("closing: " + e.getMessage(), e);
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /** Lists the variants' keys in report order. */
  static List<String> keys() {
    return new ArrayList<>(List.of(NATIVE, SGD, SGDPH, SGN10, BDHF10, KFAC, KFAC_FACTORS,
        KFAC_UPDATE, GRADIENT, GGNVP, HVP));
  }
}
