package io.github.sgdph.kfac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Kfac;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.ReferenceAlgebra;
import io.github.sgdph.train.Evaluation;
import io.github.sgdph.train.Training;
import io.github.sgdph.train.TrainingReport;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The KFAC optimizer on the reference backend: a step computed by hand, and training. */
class KfacOptimizerTest {

  /**
   * A linear model {@code z = w·x + b}, MSE, one sample {@code x = (1, 2)}, {@code y = 1}, {@code
   * w = (0.5, −0.5)}, {@code b = 0.1}: {@code ã = (1, 2, 1)}, {@code δ = 2(z − y)}, {@code A = ã
   * ãᵀ}, {@code G = δ²}, {@code π = √((|ã|²/3)/δ²)}. With the empirical Fisher, the damped
   * inverse applied to {@code g = δ ã} is, by Sherman–Morrison, {@code δ ã / ((δ² + √λ/π)(|ã|² +
   * π√λ))}; the second step (t_inv 100) reuses step 0's inverse: {@code (A + cI)⁻¹ v = (v − ã
   * ãᵀv/(|ã|² + c))/c}. Momentum: {@code buf = p}, then {@code μ buf + p}. Agreement to 1e-14
   * (a few roundings of O(1) numbers).
   */
  @Test
  void twoStepsMatchTheHandComputation() {
    ModelSpec spec = new ModelSpec(new int[] {2}, List.of(new LayerSpec.Dense(2, 1, true)),
        LossKind.MSE);
    double lr = 0.1;
    double mu = 0.5;
    double lambda = 0.01;
    double[] x = {1, 2};
    double y = 1;
    try (SpecModel model = KfacFixtures.build(spec, 1)) {
      try (ParameterVector p0 = ParameterVector.fromArray(ReferenceAlgebra.INSTANCE,
          model.layout(), new double[] {0.5, -0.5, 0.1})) {
        model.setParameters(p0);
      }
      ArrayBatch batch = new ArrayBatch(x, new int[] {1, 2}, new double[] {y}, new int[] {1, 1});
      Optimizer opt = Kfac.builder().lr(lr).momentum(mu).damping(lambda).klClip(0)
          .fisher(FisherType.EMPIRICAL).tCov(1).tInv(100).build();
      double[] at = {1, 2, 1};
      double norm2 = 6;
      double[] theta = {0.5, -0.5, 0.1};
      // step 1
      double z = theta[0] * x[0] + theta[1] * x[1] + theta[2];
      double delta = 2 * (z - y);
      double pi = Math.sqrt((norm2 / 3) / (delta * delta));
      double cA = pi * Math.sqrt(lambda);
      double cG = Math.sqrt(lambda) / pi;
      double gInv = 1 / (delta * delta + cG);
      double[] buf = new double[3];
      for (int j = 0; j < 3; j++) {
        buf[j] = gInv * delta * at[j] / (norm2 + cA);
        theta[j] -= lr * buf[j];
      }
      assertEquals((z - y) * (z - y), opt.step(model.objective(batch)).loss(), 1e-15);
      assertParameters(model, theta);
      // step 2: new gradient, step 0's inverse
      z = theta[0] * x[0] + theta[1] * x[1] + theta[2];
      double delta2 = 2 * (z - y);
      double[] g = new double[3];
      double ag = 0;
      for (int j = 0; j < 3; j++) {
        g[j] = delta2 * at[j];
        ag += at[j] * g[j];
      }
      for (int j = 0; j < 3; j++) {
        double p = gInv * (g[j] - at[j] * ag / (norm2 + cA)) / cA;
        buf[j] = mu * buf[j] + p;
        theta[j] -= lr * buf[j];
      }
      opt.step(model.objective(batch));
      assertParameters(model, theta);
    }
  }

  private static void assertParameters(SpecModel model, double[] want) {
    try (ParameterVector p = model.parameters()) {
      double[] got = p.toDoubleArray();
      for (int j = 0; j < want.length; j++) {
        assertEquals(want[j], got[j], 1e-14, "θ[" + j + "]");
      }
    }
  }

  /** 6 inputs, 3 classes: the class is the largest of three fixed linear scores. */
  static ArrayDataset blobs(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    double[] x = new double[n * 6];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      double[] s = new double[3];
      for (int j = 0; j < 6; j++) {
        double v = r.nextGaussian();
        x[i * 6 + j] = v;
        s[j % 3] += (j < 3 ? 1 : 0.5) * v;
      }
      y[i] = s[0] >= s[1] && s[0] >= s[2] ? 0 : s[1] >= s[2] ? 1 : 2;
    }
    return new ArrayDataset("blobs", x, new int[] {6}, y, new int[0]);
  }

  /**
   * KFAC built by name from a case-file style spec trains an MLP with train-mode batch norm (its
   * scale and shift on the diagonal block) through the training loop: test accuracy from chance
   * to at least 0.85 in 5 epochs of 40 steps, with each Fisher type.
   */
  @Test
  void kfacTrainsThroughTheTrainingLoop() {
    ModelSpec spec = new ModelSpec(new int[] {6}, List.of(
        new LayerSpec.Dense(6, 8, true),
        new LayerSpec.BatchNorm(8, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
        new LayerSpec.Activation(ActivationKind.TANH),
        new LayerSpec.Dense(8, 3, true)), LossKind.SOFTMAX_CROSS_ENTROPY);
    ArrayDataset train = blobs(400, 1);
    ArrayDataset test = blobs(200, 2);
    for (String fisher : List.of("mc", "empirical", "exact")) {
      try (SpecModel m = KfacFixtures.build(spec, 3)) {
        double before = Evaluation.of(m, test, 64).accuracy();
        Optimizer o = Optimizers.create(new OptimizerSpec("kfac", Map.of("lr", 0.1,
            "momentum", 0, "damping", 0.1, "kl_clip", 0, "t_cov", 2, "t_inv", 5, "fisher",
            fisher)));
        TrainingReport r = Training.builder().model(m).optimizer(o).trainingData(train)
            .testData(test).epochs(5).batchSize(10).seed(7).build().run();
        assertTrue(r.completed(), r.stopReason());
        double after = r.lastTest().accuracy();
        assertTrue(after >= 0.85 && after > before + 0.2,
            fisher + ": test accuracy " + before + " -> " + after);
        assertTrue(r.epochs().get(4).trainLoss() < r.epochs().get(0).trainLoss(), fisher);
      }
    }
  }

  @Test
  void badHyperParametersAreRefusedByName() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Optimizers.create(new OptimizerSpec("kfac", Map.of("damping", 0))));
    assertTrue(e.getMessage().contains("damping"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Optimizers.create(new OptimizerSpec("kfac", Map.of("fisher", "typo"))));
    assertTrue(e.getMessage().contains("optimizer.fisher"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Optimizers.create(new OptimizerSpec("kfac", Map.of("t_inv", 0))));
    assertTrue(e.getMessage().contains("t_inv"), e.getMessage());
    assertTrue(Optimizers.names().contains("kfac"));
  }
}
