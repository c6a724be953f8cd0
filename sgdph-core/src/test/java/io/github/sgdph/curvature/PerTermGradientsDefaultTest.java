package io.github.sgdph.curvature;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.fixtures.LinearLeastSquaresObjective;
import io.github.sgdph.fixtures.QuadraticObjective;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The core's default per-term gradients: {@code Jᵀ} of row {@code i} of {@code n ∂L/∂z}, and a
 * named refusal where a backend gives neither {@code ∂L/∂z} nor {@code Jᵀu}.
 */
class PerTermGradientsDefaultTest {

  /** For independent samples the per-term gradient is the gradient of the sample alone. */
  @Test
  void defaultIsTheHandComputedGradientOfEachTerm() {
    LinearLeastSquaresObjective o = LinearLeastSquaresObjective.random(5, 3, 2,
        new SplittableRandom(7));
    List<ParameterVector> per = o.perTermGradients();
    List<ParameterVector> alone = o.isolatedSampleGradients();
    assertEquals(5, per.size());
    double[] mean = new double[o.theta().length];
    for (int i = 0; i < 5; i++) {
      double[] a = per.get(i).toDoubleArray();
      assertArrayEquals(alone.get(i).toDoubleArray(), a, 1e-14, "term " + i);
      for (int j = 0; j < a.length; j++) {
        mean[j] += a[j] / 5;
      }
    }
    assertArrayEquals(o.gradient(o.theta()), mean, 1e-14);
  }

  @Test
  void backendWithoutOutputGradientIsRefusedByName() {
    LinearLeastSquaresObjective inner = LinearLeastSquaresObjective.random(3, 2, 1,
        new SplittableRandom(8));
    try (Curvature bare = new Curvature() {
          private final Curvature c = inner.curvature();

          @Override
          public ParameterLayout layout() {
            return c.layout();
          }

          @Override
          public int batchSize() {
            return c.batchSize();
          }

          @Override
          public double loss() {
            return c.loss();
          }

          @Override
          public ParameterVector gradient() {
            return c.gradient();
          }

          @Override
          public ParameterVector hvp(ParameterVector v) {
            return c.hvp(v);
          }

          @Override
          public ParameterVector ggnvp(ParameterVector v) {
            return c.ggnvp(v);
          }

          @Override
          public io.github.sgdph.tensor.Tensor jvp(ParameterVector v) {
            return c.jvp(v);
          }

          @Override
          public void close() {}
        }) {
      UnsupportedOperationException e =
          assertThrows(UnsupportedOperationException.class, bare::perTermGradients);
      assertTrue(e.getMessage().startsWith("outputGradient: "), e.getMessage());
      assertThrows(UnsupportedOperationException.class,
          () -> bare.vjp(io.github.sgdph.fixtures.ArrayAlgebra.INSTANCE.zeros(3, 1)));
    }
  }

  /** One sample: the per-term gradient is the gradient. */
  @Test
  void oneSampleBatchHasTheGradientAsItsTerm() {
    ParameterLayout layout = ParameterLayout.of(io.github.sgdph.param.ParameterBlock.of("w", 2));
    QuadraticObjective q = new QuadraticObjective(layout, new double[][] {{2, 1}, {1, 3}},
        new double[] {0.5, -1}, 0.1, new double[] {0.3, -0.7});
    List<ParameterVector> per = q.perTermGradients();
    assertEquals(1, per.size());
    assertArrayEquals(q.gradient(q.theta()), per.get(0).toDoubleArray(), 0);
  }
}
