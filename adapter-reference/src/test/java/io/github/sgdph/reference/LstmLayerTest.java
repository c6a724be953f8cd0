package io.github.sgdph.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The reference LSTM's forward pass and gradient against numbers computed by hand (in Python's
 * float64, from PyTorch's documented equations with gate order i, f, g, o), and its batch and
 * sequence layout. The exactness of its gradient and curvature products against finite
 * differences is in {@link CurvatureExactnessTest}, {@link GraphCurvatureTest} and {@link
 * RestrictedProductTest} ({@link Fixtures#recurrentCases()}).
 */
class LstmLayerTest {
  /** One input feature, one hidden unit: {@code weight_ih} rows are the gates i, f, g, o. */
  private static final double[] W_IH = {0.1, -0.2, 0.3, 0.4};

  private static final double[] W_HH = {0.7, -0.5, 0.6, 0.8};
  private static final double[] BIAS = {0.05, 0.1, -0.1, 0.2};

  private static ReferenceModel scalarLstm(int steps, boolean sequences) {
    ModelSpec spec = new ModelSpec(new int[] {steps, 1},
        sequences
            ? List.of(new LayerSpec.Lstm(1, 1, 1, true), new LayerSpec.Flatten())
            : List.of(new LayerSpec.Lstm(1, 1, 1, false)),
        LossKind.MSE);
    return Fixtures.BACKEND.build(spec, List.of(
        new NamedArray("0.weight_ih_l0", new int[] {4, 1}, W_IH, true),
        new NamedArray("0.weight_hh_l0", new int[] {4, 1}, W_HH, true),
        new NamedArray("0.bias_l0", new int[] {4}, BIAS, true)), DType.FLOAT64);
  }

  private static ArrayBatch batch(double[] x, int steps, int outputs) {
    int n = x.length / steps;
    return new ArrayBatch(x, new int[] {n, steps, 1}, new double[n * outputs],
        new int[] {n, outputs});
  }

  /**
   * x = 0.5, c₀ = h₀ = 0: z = W_ih x + b = (0.1, 0, 0.05, 0.4), c = σ(0.1) tanh(0.05),
   * h = σ(0.4) tanh(c); ∂h/∂z = (δc g i(1−i), 0, δc i (1−g²), tanh(c) o(1−o)) with
   * δc = o (1 − tanh²c); ∂h/∂W_ih = x ∂h/∂z, ∂h/∂W_hh = 0 (h₀ = 0), ∂h/∂b = ∂h/∂z.
   */
  @Test
  void oneStepOfOneUnitMatchesTheHandComputation() {
    ReferenceModel m = scalarLstm(1, false);
    ArrayBatch b = batch(new double[] {0.5}, 1, 1);
    assertEquals(0.015698246137640214, m.outputs(b)[0], 1e-17);
    double[] dz = {0.007453575148704403, 0.0, 0.3132985673516477, 0.006299899889627057};
    try (Curvature c = m.objective(b).curvature()) {
      double[] jt = c.vjp(ReferenceAlgebra.INSTANCE.wrap(new double[] {1.0}, 1, 1))
          .toDoubleArray();
      double[] expected = new double[12];
      for (int k = 0; k < 4; k++) {
        expected[k] = 0.5 * dz[k];
        expected[8 + k] = dz[k];
      }
      assertArrayEquals(expected, jt, 1e-17);
    }
  }

  /** Two steps, x = (0.5, −1.5): h₁ as above, h₂ through W_hh and the forget gate. */
  @Test
  void twoStepsMatchTheHandComputationAndTheSequenceEndsInTheLastState() {
    ArrayBatch b = batch(new double[] {0.5, -1.5}, 2, 1);
    assertEquals(-0.08757961769185664, scalarLstm(2, false).outputs(b)[0], 1e-17);
    ArrayBatch seq = batch(new double[] {0.5, -1.5}, 2, 2);
    assertArrayEquals(new double[] {0.015698246137640214, -0.08757961769185664},
        scalarLstm(2, true).outputs(seq), 1e-17);
  }

  /**
   * A batch of sequences {@code [n, T, F]} gives each sample's own output (the time-major
   * reordering inside the layer does not mix samples), and the last step of the returned
   * sequence is the last hidden state.
   */
  @Test
  void samplesAreIndependentAndTheLastStepOfTheSequenceIsTheLastState() {
    int steps = 3;
    ModelSpec last = new ModelSpec(new int[] {steps, 2},
        List.of(new LayerSpec.Lstm(2, 3, 2, false)), LossKind.MSE);
    ModelSpec seq = new ModelSpec(new int[] {steps, 2},
        List.of(new LayerSpec.Lstm(2, 3, 2, true), new LayerSpec.Flatten()), LossKind.MSE);
    List<NamedArray> p = Fixtures.parameters(last, 3);
    ReferenceModel ml = Fixtures.BACKEND.build(last, p, DType.FLOAT64);
    ReferenceModel ms = Fixtures.BACKEND.build(seq, p, DType.FLOAT64);
    double[] x = new double[3 * steps * 2];
    SplittableRandom r = new SplittableRandom(4);
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextGaussian();
    }
    double[] all = ml.outputs(new ArrayBatch(x, new int[] {3, steps, 2}, new double[9],
        new int[] {3, 3}));
    double[] sequences = ms.outputs(new ArrayBatch(x, new int[] {3, steps, 2}, new double[27],
        new int[] {3, 9}));
    for (int s = 0; s < 3; s++) {
      double[] one = java.util.Arrays.copyOfRange(x, s * steps * 2, (s + 1) * steps * 2);
      double[] alone = ml.outputs(new ArrayBatch(one, new int[] {1, steps, 2}, new double[3],
          new int[] {1, 3}));
      for (int j = 0; j < 3; j++) {
        assertEquals(alone[j], all[s * 3 + j], 0.0, "sample " + s);
        assertEquals(alone[j], sequences[s * 9 + (steps - 1) * 3 + j], 0.0, "sample " + s);
      }
    }
    assertTrue(Math.abs(all[0] - all[3]) > 1e-3, "different samples, different outputs");
  }
}
