package io.github.sgdph.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.Mode;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.tensor.DType;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Running statistics and evaluation mode against hand-computed values: PyTorch's {@code
 * BatchNorm1d/2d} in {@code train()} mode updates {@code running_mean ← (1 − m) running_mean + m
 * μ} and {@code running_var ← (1 − m) running_var + m σ² M/(M − 1)} (the unbiased batch variance
 * over the {@code M = N·H·W} values of a channel), starting from 0 and 1; {@code eval()} mode
 * normalises with them: {@code γ (x − r_μ)/√(r_σ² + ε) + β}.
 */
class RunningStatisticsTest {
  private static final double EPS = 1e-5;

  /** A batch norm straight on the inputs: γ = (2, 1), β = (0.5, 0), momentum 0.25. */
  private static ReferenceModel bn1d() {
    ModelSpec spec =
        new ModelSpec(
            new int[] {2},
            List.of(new LayerSpec.BatchNorm(2, EPS, 0.25, Mode.TRAIN), new LayerSpec.Flatten()),
            LossKind.MSE);
    return (ReferenceModel)
        Fixtures.BACKEND.build(
            spec,
            List.of(
                new NamedArray("0.weight", new int[] {2}, new double[] {2, 1}, true),
                new NamedArray("0.bias", new int[] {2}, new double[] {0.5, 0}, true)),
            DType.FLOAT64);
  }

  private static ArrayBatch batch(double[] x, int n, int... sample) {
    int[] xs = new int[sample.length + 1];
    xs[0] = n;
    System.arraycopy(sample, 0, xs, 1, sample.length);
    int k = x.length / n;
    return new ArrayBatch(x, xs, new double[x.length], new int[] {n, k});
  }

  @Test
  void freshModelHasPyTorchsInitialStatistics() {
    try (ReferenceModel m = bn1d()) {
      List<NamedArray> r = m.runningStatistics();
      assertEquals("0.running_mean", r.get(0).name());
      assertEquals("0.running_var", r.get(1).name());
      assertArrayEquals(new double[] {0, 0}, r.get(0).values());
      assertArrayEquals(new double[] {1, 1}, r.get(1).values());
    }
  }

  @Test
  void updateFollowsPyTorchsFormulaWithTheUnbiasedVariance() {
    // feature 0: 1, 2, 6 -> mean 3, biased var 14/3, unbiased 7; feature 1: 0, 0, 3 -> 1, 2, 3
    ArrayBatch b = batch(new double[] {1, 0, 2, 0, 6, 3}, 3, 2);
    try (ReferenceModel m = bn1d()) {
      m.objective(b).updateRunningStatistics();
      List<NamedArray> r = m.runningStatistics();
      assertArrayEquals(new double[] {0.25 * 3, 0.25 * 1}, r.get(0).values(), 1e-15);
      assertArrayEquals(
          new double[] {0.75 + 0.25 * 7, 0.75 + 0.25 * 3}, r.get(1).values(), 1e-15);
      m.objective(b).updateRunningStatistics();
      r = m.runningStatistics();
      assertArrayEquals(
          new double[] {0.75 * 0.75 + 0.25 * 3, 0.75 * 0.25 + 0.25 * 1},
          r.get(0).values(), 1e-15);
      assertArrayEquals(
          new double[] {0.75 * 2.5 + 0.25 * 7, 0.75 * 1.5 + 0.25 * 3}, r.get(1).values(), 1e-15);

      // evaluation mode: gamma (x - r_mu) / sqrt(r_var + eps) + beta, per sample
      double[] z = m.predict(batch(new double[] {4, -1}, 1, 2));
      double mu0 = 0.75 * 0.75 + 0.75;
      double mu1 = 0.75 * 0.25 + 0.25;
      double v0 = 0.75 * 2.5 + 1.75;
      double v1 = 0.75 * 1.5 + 0.75;
      assertEquals(2 * (4 - mu0) / Math.sqrt(v0 + EPS) + 0.5, z[0], 1e-14);
      assertEquals((-1 - mu1) / Math.sqrt(v1 + EPS), z[1], 1e-14);
    }
  }

  @Test
  void twoDimensionalStatisticsRunOverBatchAndSpace() {
    // one channel, 2 samples of 1x2: values 1, 3, 5, 11 -> M = 4, mean 5, unbiased var 56/3
    ModelSpec spec =
        new ModelSpec(
            new int[] {1, 1, 2},
            List.of(new LayerSpec.BatchNorm(1, EPS, 0.1, Mode.TRAIN), new LayerSpec.Flatten()),
            LossKind.MSE);
    try (ReferenceModel m =
        (ReferenceModel)
            Fixtures.BACKEND.build(
                spec,
                List.of(
                    new NamedArray("0.weight", new int[] {1}, new double[] {1}, true),
                    new NamedArray("0.bias", new int[] {1}, new double[] {0}, true)),
                DType.FLOAT64)) {
      m.objective(batch(new double[] {1, 3, 5, 11}, 2, 1, 1, 2)).updateRunningStatistics();
      List<NamedArray> r = m.runningStatistics();
      assertEquals(0.1 * 5, r.get(0).values()[0], 1e-15);
      assertEquals(0.9 + 0.1 * 56 / 3.0, r.get(1).values()[0], 1e-14);
    }
  }

  @Test
  void updatingLeavesTheTrainModeLossAlone() {
    ArrayBatch b = batch(new double[] {1, 0, 2, 0, 6, 3}, 3, 2);
    try (ReferenceModel m = bn1d()) {
      double before = m.objective(b).loss();
      m.objective(b).updateRunningStatistics();
      assertEquals(before, m.objective(b).loss(), 0.0);
    }
  }

  @Test
  void oneValuePerChannelIsRefused() {
    try (ReferenceModel m = bn1d()) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> m.objective(batch(new double[] {1, 2}, 1, 2)).updateRunningStatistics());
      assertTrue(e.getMessage().contains("at least two"), e.getMessage());
      assertArrayEquals(new double[] {0, 0}, m.runningStatistics().get(0).values());
    }
  }

  @Test
  void setRunningStatisticsValidatesAndNamesTheEntry() {
    try (ReferenceModel m = bn1d()) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  m.setRunningStatistics(
                      List.of(
                          new NamedArray("0.running_mean", new int[] {2}, new double[2], false),
                          new NamedArray(
                              "0.running_var", new int[] {2}, new double[] {1, Double.NaN},
                              false))));
      assertTrue(e.getMessage().contains("0.running_var"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> m.setRunningStatistics(List.of()));
    }
  }
}
