package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.nn.Block;
import ai.djl.nn.recurrent.RecurrentBlock;
import io.github.sgdph.conformance.FiniteDifferences;
import io.github.sgdph.conformance.LstmSpecs;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Spec LSTMs on DJL (issue 20) beyond the bundled cases, which the conformance kit replays (a
 * two-layer LSTM returning its last hidden state, then a dense head): a whole returned sequence
 * through {@code flatten}, an LSTM node in a graph with a residual add over the sequence feeding a
 * stacked LSTM, and a single time step. In float64 against the reference backend ({@link
 * DjlGraphModelTest}'s check: loss, gradient, Hessian-, Gauss-Newton- and Jacobian-vector
 * products, a restricted product, per-term gradients and predictions to 1e-11 normwise relative;
 * both sides are exact, so they agree to rounding) and against central finite differences
 * ({@link FiniteDifferences}, step 1e-5 along a unit direction: truncation ~1e-10 and rounding
 * ~1e-11 relative, so 1e-7 separates an exact product from a wrong one).
 */
class DjlLstmTest {
  static final double FD_TOL = 1e-7;

  static Stream<ModelSpec> specs() {
    return LstmSpecs.all();
  }

  @ParameterizedTest
  @MethodSource("specs")
  void productsAgreeWithTheReference(ModelSpec spec) {
    new DjlGraphModelTest().productsAgreeWithTheReference(spec);
  }

  @ParameterizedTest
  @MethodSource("specs")
  void gradientAndHvpMatchCentralFiniteDifferences(ModelSpec spec) {
    List<NamedArray> p = DefaultInitializer.initialize(spec, new SplittableRandom(11));
    ArrayBatch b = RandomBatches.forSpec(spec, 3, new SplittableRandom(12));
    try (DjlSpecModel m = new DjlBackend().build(spec, p, DType.FLOAT64);
        ParameterVector v = ParameterVector.randomNormal(m.algebra(), m.layout(),
            new SplittableRandom(13))) {
      v.scale(1 / v.norm());
      Objective o = m.objective(b);
      try (Curvature c = o.curvature(); ParameterVector g = c.gradient();
          ParameterVector h = c.hvp(v)) {
        double gv = g.dot(v);
        double fd = FiniteDifferences.directional(o, v, 1e-5);
        double e = Math.abs(gv - fd) / Math.max(Math.abs(gv), Math.abs(fd));
        assertTrue(e <= FD_TOL, spec + ": gᵀv = " + gv + ", finite differences " + fd);
        double[] hv = h.toDoubleArray();
        double[] fdHv = FiniteDifferences.hessianVector(m, o, v, 1e-5);
        double d = 0;
        double n = 0;
        for (int i = 0; i < hv.length; i++) {
          d += (hv[i] - fdHv[i]) * (hv[i] - fdHv[i]);
          n += fdHv[i] * fdHv[i];
        }
        assertTrue(n > 0, spec + ": Hv by finite differences is zero");
        assertTrue(Math.sqrt(d / n) <= FD_TOL,
            spec + ": Hv vs finite differences, relative error " + Math.sqrt(d / n));
      }
    }
  }

  /** The LSTM is unrolled from ordinary operations: no DJL recurrent (fused) block is built. */
  @Test
  void noFusedRecurrentBlockIsBuilt() {
    specs().forEach(spec -> {
      List<NamedArray> p = DefaultInitializer.initialize(spec, new SplittableRandom(1));
      try (DjlSpecModel m = new DjlBackend().build(spec, p, DType.FLOAT64)) {
        assertTrue(contains(m.block(), SpecLstm.class), spec + ": no SpecLstm");
        assertFalse(contains(m.block(), RecurrentBlock.class), spec + ": a fused block");
      }
    });
  }

  private static boolean contains(Block block, Class<?> type) {
    return type.isInstance(block)
        || block.getChildren().values().stream().anyMatch(c -> contains(c, type));
  }
}
