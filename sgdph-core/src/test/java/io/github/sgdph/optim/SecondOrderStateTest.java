package io.github.sgdph.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.fixtures.DenseObjective;
import io.github.sgdph.fixtures.LinearLeastSquaresObjective;
import io.github.sgdph.fixtures.QuadraticObjective;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Save and restore mid-run reproduce the uninterrupted trajectory bit for bit, for each
 * second-order optimizer, with every piece of state in use (momentum, curvature estimates,
 * adapted damping, CG warm starts).
 */
class SecondOrderStateTest {

  static Stream<Arguments> optimizers() {
    return Stream.of(
        Arguments.of("sgdph", (Supplier<DenseObjective>) () -> SgdPhTest.tiny(12, 0.3),
            new OptimizerSpec("sgdph", Map.of("weight_decay", 0.01, "tau", 0.01))),
        Arguments.of("sgdph non-reference, refresh every 2",
            (Supplier<DenseObjective>) () -> SgdPhTest.tiny(12, 0.3),
            new OptimizerSpec("sgdph", Map.of("reference", false, "refresh_every", 2))),
        Arguments.of("sgn", (Supplier<DenseObjective>) () -> SgnTest.quadratic(13, 0.2),
            new OptimizerSpec("sgn", Map.of("beta", 0.9, "trust_region", true, "k_cg", 3,
                "min_cg_iters", 2))),
        Arguments.of("bdhf", (Supplier<DenseObjective>) () ->
                BlockDiagonalHessianFreeTest.quadratic(14, 0.2),
            new OptimizerSpec("bdhf", Map.of("cg_max_iter", 20))),
        Arguments.of("hf with a curvature sub-batch", (Supplier<DenseObjective>) () ->
                LinearLeastSquaresObjective.random(30, 3, 2, new SplittableRandom(15)),
            new OptimizerSpec("hf", Map.of("curvature_batch_size", 10, "lambda", 0.1))),
        Arguments.of("bdhf at the default curvature fraction, Martens' preconditioner and rho",
            (Supplier<DenseObjective>) () ->
                LinearLeastSquaresObjective.random(30, 3, 2, new SplittableRandom(16)),
            new OptimizerSpec("bdhf", Map.of("lambda", 0.1, "preconditioner", "martens",
                "reduction_ratio", "martens"))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("optimizers")
  void saveAndRestoreMidRunReproducesTheTrajectoryBitForBit(
      String label, Supplier<DenseObjective> problem, OptimizerSpec spec) {
    int steps = 8;
    int split = 4;
    List<double[]> straight = new ArrayList<>();
    List<StepReport> straightReports = new ArrayList<>();
    DenseObjective a = problem.get();
    Optimizer o = Optimizers.create(spec);
    for (int t = 0; t < steps; t++) {
      straightReports.add(o.step(a));
      straight.add(a.theta());
    }
    DenseObjective b = problem.get();
    Optimizer first = Optimizers.create(spec);
    for (int t = 0; t < split; t++) {
      first.step(b);
    }
    OptimizerState saved = first.saveState();
    Optimizer fresh = Optimizers.create(spec);
    fresh.restoreState(saved);
    assertEquals(saved, fresh.saveState(), "state survives a round trip before any step");
    for (int t = split; t < steps; t++) {
      StepReport r = fresh.step(b);
      assertArrayEquals(straight.get(t), b.theta(), label + " step " + (t + 1));
      assertEquals(straightReports.get(t), r, label + " report " + (t + 1));
    }
    assertEquals(o.saveState(), fresh.saveState());
    assertTrue(saved.scalar("t", -1) == split);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("optimizers")
  void aStateOfAnotherOptimizerIsRejected(
      String label, Supplier<DenseObjective> problem, OptimizerSpec spec) {
    Optimizer o = Optimizers.create(spec);
    OptimizerState other = new OptimizerState("adam", Map.of(), Map.of());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> o.restoreState(other));
    assertTrue(e.getMessage().startsWith("state:"), e.getMessage());
  }

  @org.junit.jupiter.api.Test
  void aBufferThatDoesNotFitTheModelIsRejectedNamingIt() {
    QuadraticObjective obj = SgnTest.quadratic(16, 0.1);
    Sgn sgn = Sgn.builder().beta(0.5).build();
    sgn.restoreState(new OptimizerState("sgn", Map.of("t", 1.0, "rho", 1e-3),
        Map.of("exp_avg", new double[][] {{1, 2}})));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sgn.step(obj));
    assertTrue(e.getMessage().startsWith("state.exp_avg:"), e.getMessage());
    IllegalArgumentException neg = assertThrows(IllegalArgumentException.class,
        () -> sgn.restoreState(new OptimizerState("sgn", Map.of("t", -1.0), Map.of())));
    assertTrue(neg.getMessage().startsWith("state.t:"), neg.getMessage());
  }
}
