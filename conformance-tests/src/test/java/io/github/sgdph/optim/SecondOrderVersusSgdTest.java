package io.github.sgdph.optim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.reference.ReferenceBackend;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestReporter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The second-order methods at their default settings (and block-diagonal and full HF also with
 * the whole batch as curvature batch) against SGD tuned over a grid, on the
 * reference backend: an MLP 10-16-3 with tanh and softmax cross-entropy on a deterministic
 * synthetic problem of 500 samples labelled by a random teacher network (10 % of the labels
 * replaced by random ones), full batch, the same number of steps for every method. SGD's grid
 * is lr in {0.01, 0.03, ..., 10} with momentum 0 and 0.9; its best lies inside the grid. The numbers (loss after N steps and wall time) go to the
 * log and the test report.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecondOrderVersusSgdTest {
  private static final Logger LOG = LoggerFactory.getLogger(SecondOrderVersusSgdTest.class);

  static final int STEPS = 50;
  static final int SAMPLES = 500;
  static final double LABEL_NOISE = 0.1;
  static final ModelSpec MLP =
      new ModelSpec(new int[] {10},
          List.of(new LayerSpec.Dense(10, 16, true),
              new LayerSpec.Activation(LayerSpec.ActivationKind.TANH),
              new LayerSpec.Dense(16, 3, true)),
          LossKind.SOFTMAX_CROSS_ENTROPY);

  /** A run: the loss before the first step, after the last, and the wall time. */
  record Run(String label, double initialLoss, double finalLoss, double seconds) {}

  private ArrayBatch data;
  private List<NamedArray> init;
  private final Map<String, Run> runs = new LinkedHashMap<>();
  private Run bestSgd;

  /** Labels from a random teacher 10-16-3 tanh network: learnable, not separable by a line. */
  static ArrayBatch teacherData(long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double[][] w1 = new double[16][10];
    double[] b1 = new double[16];
    double[][] w2 = new double[3][16];
    for (int o = 0; o < 16; o++) {
      for (int i = 0; i < 10; i++) {
        w1[o][i] = rnd.nextGaussian() * 0.8;
      }
      b1[o] = rnd.nextGaussian() * 0.5;
    }
    for (int o = 0; o < 3; o++) {
      for (int i = 0; i < 16; i++) {
        w2[o][i] = rnd.nextGaussian();
      }
    }
    double[] x = new double[SAMPLES * 10];
    double[] y = new double[SAMPLES];
    for (int s = 0; s < SAMPLES; s++) {
      double[] h = new double[16];
      for (int i = 0; i < 10; i++) {
        x[s * 10 + i] = rnd.nextGaussian();
      }
      for (int o = 0; o < 16; o++) {
        double a = b1[o];
        for (int i = 0; i < 10; i++) {
          a += w1[o][i] * x[s * 10 + i];
        }
        h[o] = Math.tanh(a);
      }
      int best = 0;
      double bestV = Double.NEGATIVE_INFINITY;
      for (int o = 0; o < 3; o++) {
        double v = 0;
        for (int i = 0; i < 16; i++) {
          v += w2[o][i] * h[i];
        }
        if (v > bestV) {
          bestV = v;
          best = o;
        }
      }
      y[s] = rnd.nextDouble() < LABEL_NOISE ? rnd.nextInt(3) : best;
    }
    return new ArrayBatch(x, new int[] {SAMPLES, 10}, y, new int[] {SAMPLES});
  }

  Run train(String label, Supplier<Optimizer> optimizer) {
    try (SpecModel m = new ReferenceBackend().build(MLP, init, DType.FLOAT64)) {
      Optimizer o = optimizer.get();
      double initial = m.objective(data).loss();
      long start = System.nanoTime();
      for (int t = 0; t < STEPS; t++) {
        o.step(m.objective(data));
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      double fin = m.objective(data).loss();
      Run r = new Run(label, initial, Double.isFinite(fin) ? fin : Double.POSITIVE_INFINITY,
          seconds);
      runs.put(label, r);
      return r;
    } catch (NonFiniteException e) {
      Run r = new Run(label, Double.NaN, Double.POSITIVE_INFINITY, Double.NaN);
      runs.put(label, r);
      return r;
    }
  }

  @BeforeAll
  void trainEveryMethod() {
    data = teacherData(2026);
    init = DefaultInitializer.initialize(MLP, new SplittableRandom(7));
    List<Run> grid = new ArrayList<>();
    for (double momentum : new double[] {0, 0.9}) {
      for (double lr : new double[] {0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0}) {
        grid.add(train(String.format(Locale.ROOT, "sgd lr=%s momentum=%s", lr, momentum),
            () -> Sgd.builder().lr(lr).momentum(momentum).build()));
      }
    }
    bestSgd = grid.stream().min((a, b) -> Double.compare(a.finalLoss(), b.finalLoss()))
        .orElseThrow();
    train("sgdph", () -> Optimizers.create(OptimizerSpec.of("sgdph")));
    train("sgdph lr=3.0 (best SGD lr)",
        () -> Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 3.0))));
    train("sgn", () -> Optimizers.create(OptimizerSpec.of("sgn")));
    train("bdhf", () -> Optimizers.create(OptimizerSpec.of("bdhf")));
    train("hf", () -> Optimizers.create(OptimizerSpec.of("hf")));
    train("bdhf whole-batch curvature", () -> Optimizers.create(
        new OptimizerSpec("bdhf", Map.of("curvature_batch_fraction", 1.0))));
    train("hf whole-batch curvature", () -> Optimizers.create(
        new OptimizerSpec("hf", Map.of("curvature_batch_fraction", 1.0))));
    train("hf as Martens 2010", () -> Optimizers.create(new OptimizerSpec("hf",
        Map.of("lambda", 45.0, "cg_max_iter", 250, "cg_progress_tol", 5e-4,
            "preconditioner", "martens", "reduction_ratio", "martens"))));
    train("hf as Martens 2010, whole batch", () -> Optimizers.create(new OptimizerSpec("hf",
        Map.of("lambda", 45.0, "cg_max_iter", 250, "cg_progress_tol", 5e-4,
            "preconditioner", "martens", "reduction_ratio", "martens",
            "curvature_batch_fraction", 1.0))));
  }

  @Test
  void reportTheComparison(TestReporter report) {
    for (Run r : runs.values()) {
      String line = String.format(Locale.ROOT, "%-26s loss %.3e -> %.4e after %d steps, %.3f s",
          r.label(), r.initialLoss(), r.finalLoss(), STEPS, r.seconds());
      LOG.info(line);
      report.publishEntry(r.label(), line);
    }
    LOG.info("best SGD of the grid: {}", bestSgd.label());
    report.publishEntry("best sgd", bestSgd.label());
    assertTrue(bestSgd.finalLoss() < bestSgd.initialLoss(), "SGD's grid contains a working lr");
    assertTrue(!bestSgd.label().contains("lr=0.01 ") && !bestSgd.label().contains("lr=10.0 "),
        "the best SGD learning rate lies inside the grid: " + bestSgd.label());
  }

  @Test
  void sgnEndsWellBelowTheBestSgd() {
    assertWellBelow("sgn");
  }

  /**
   * With the whole batch as its curvature batch, block-diagonal HF ends far below the tuned SGD;
   * at its defaults (Gauss-Newton products on the first tenth of the batch, 50 of 500 samples)
   * it trains but, on this small full-batch problem, does not beat it (the numbers are in the
   * report and in the README).
   */
  @Test
  void blockDiagonalHfEndsWellBelowTheBestSgd() {
    assertWellBelow("bdhf whole-batch curvature");
    assertTrains("bdhf");
  }

  /**
   * Full HF likewise, and with Martens' (2010) own settings (λ₀ 45, 250 CG iterations, ε 5e-4,
   * his preconditioner and reduction ratio) on the whole batch.
   */
  @Test
  void fullHfEndsWellBelowTheBestSgd() {
    assertWellBelow("hf whole-batch curvature");
    assertWellBelow("hf as Martens 2010, whole batch");
    assertTrains("hf");
  }

  void assertTrains(String name) {
    Run r = runs.get(name);
    assertTrue(r.finalLoss() < 0.3 * r.initialLoss(), name + " " + r);
  }

  /**
   * SGD-PH at its defaults is SGD with momentum (lr 0.1, μ 0.9) on the weights plus small
   * curvature-scaled steps on the biases: it trains, and ends close to SGD with the same lr and
   * momentum — not below the tuned SGD (the numbers are in the report).
   */
  @Test
  void sgdPhTrainsLikeSgdWithTheSameLrAndMomentum() {
    Run r = runs.get("sgdph");
    Run same = runs.get("sgd lr=0.1 momentum=0.9");
    assertTrue(r.finalLoss() < 0.6 * r.initialLoss(), r.toString());
    assertTrue(Math.abs(r.finalLoss() - same.finalLoss()) < 0.1 * same.finalLoss(),
        r + " vs " + same);
  }

  /**
   * At the learning rate the grid found best for SGD, SGD-PH (the same momentum SGD on the
   * weights, curvature-scaled steps on the biases) ends below the tuned SGD.
   */
  @Test
  void sgdPhAtTheTunedLearningRateEndsBelowTheTunedSgd() {
    Run r = runs.get("sgdph lr=3.0 (best SGD lr)");
    assertTrue(bestSgd.label().contains("lr=3.0 "),
        "SGD-PH is run at the grid's best lr, which must be 3.0: " + bestSgd);
    assertTrue(r.finalLoss() < bestSgd.finalLoss(), r + " vs best SGD " + bestSgd);
  }

  void assertWellBelow(String name) {
    Run r = runs.get(name);
    assertTrue(r.finalLoss() < 0.5 * bestSgd.finalLoss(),
        name + " " + r + " vs best SGD " + bestSgd);
  }
}
