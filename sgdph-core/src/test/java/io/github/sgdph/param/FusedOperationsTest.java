package io.github.sgdph.param;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.fixtures.ArrayAlgebra;
import io.github.sgdph.fixtures.Dense;
import io.github.sgdph.fixtures.QuadraticObjective;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The operations added for fewer passes per step: {@code axpby}, the one-check finiteness of a
 * whole vector and the gradient with a Hessian-vector product in one call; their defaults are
 * the operations they replace.
 */
class FusedOperationsTest {
  private static final ParameterLayout LAYOUT =
      ParameterLayout.of(ParameterBlock.of("a", 2, 2), ParameterBlock.of("b", 3));

  private static ParameterVector vector(double... values) {
    return ParameterVector.fromArray(ArrayAlgebra.INSTANCE, LAYOUT, values);
  }

  @Test
  void axpbyIsScaleThenAxpy() {
    try (ParameterVector x = vector(1, 2, 3, 4, 5, 6, 7);
        ParameterVector y = vector(0.5, -1, 2, 0, 3, -2, 1);
        ParameterVector expected = x.copy().scale(0.9).axpy(-0.3, y)) {
      x.axpby(-0.3, y, 0.9);
      assertArrayEquals(expected.toDoubleArray(), x.toDoubleArray(), 0);
    }
  }

  @Test
  void finitenessIsCheckedOverAllBlocksAndNamesTheBlock() {
    try (ParameterVector fine = vector(1, 2, 3, 4, 5, 6, 7);
        ParameterVector huge = vector(1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308);
        ParameterVector nanInB = vector(1, 2, 3, 4, 5, Double.NaN, 7);
        ParameterVector infInA = vector(1, Double.NEGATIVE_INFINITY, 3, 4, 5, 6, 7)) {
      assertTrue(fine.allFinite());
      assertNull(fine.firstNonFiniteBlock());
      assertTrue(huge.allFinite(), "entries whose sum overflows are finite");
      assertFalse(nanInB.allFinite());
      assertEquals("b", nanInB.firstNonFiniteBlock());
      assertEquals("a", infInA.firstNonFiniteBlock());
      assertTrue(ArrayAlgebra.INSTANCE.allFinite());
    }
  }

  @Test
  void gradientAndHvpByDefaultIsTheTwoCalls() {
    SplittableRandom rnd = new SplittableRandom(3);
    double[] theta = new double[7];
    for (int i = 0; i < theta.length; i++) {
      theta[i] = rnd.nextGaussian();
    }
    QuadraticObjective o = new QuadraticObjective(LAYOUT, Dense.randomSpd(7, 0.1, rnd),
        new double[7], 0.5, theta);
    ParameterLayout b = LAYOUT.select(1);
    try (Curvature c = o.curvature();
        ParameterVector v = ParameterVector.fromArray(ArrayAlgebra.INSTANCE, b,
            new double[] {1, 1, 1});
        Curvature.GradientAndHvp gh = c.gradientAndHvp(v);
        ParameterVector g = c.gradient();
        ParameterVector hv = c.hvp(v)) {
      assertArrayEquals(g.toDoubleArray(), gh.gradient().toDoubleArray(), 0);
      assertArrayEquals(hv.toDoubleArray(), gh.hvp().toDoubleArray(), 0);
      assertEquals(b, gh.hvp().layout());
    }
  }
}
