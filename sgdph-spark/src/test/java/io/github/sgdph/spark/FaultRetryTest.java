package io.github.sgdph.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterVector;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A task that throws once is retried by Spark ({@code local[2,2]}: up to 2 attempts per task),
 * and the step's result is bit for bit that of the run without failure: the failed task drops
 * its replica, the retry rebuilds it from the broadcasts, and the partial sums are added in
 * partition order whatever the timing.
 */
class FaultRetryTest {
  static final ModelSpec SPEC = SparkTests.mlp();
  static final ArrayDataset DATA = SparkTests.data(24, 21, false);
  static final List<NamedArray> INIT = DefaultInitializer.initialize(SPEC, new SplittableRandom(8));

  @AfterEach
  void disarm() {
    FlakyBackend.failNext(0);
  }

  /** Three SGN steps on the whole dataset; before step 2 the next {@code failures} ggnvps throw. */
  static double[] run(int failures) {
    try (SparkDataset d = SparkDataset.distribute(SparkTests.context(), DATA, 2);
        SparkModel m = SparkModel.builder().dataset(d).spec(SPEC).parameters(INIT)
            .backend("flaky-reference").build()) {
      Optimizer opt = Optimizers.create(new OptimizerSpec("sgn", Map.of("max_cg_iters", 6)));
      Objective o = m.objective();
      for (int s = 0; s < 3; s++) {
        if (s == 1) {
          FlakyBackend.failNext(failures);
        }
        opt.step(o);
      }
      try (ParameterVector p = m.parameters()) {
        return p.toDoubleArray();
      }
    }
  }

  @Test
  void required_aTaskThatFailsOnceIsRetriedAndTheStepIsUnchanged() {
    double[] clean = run(0);
    int before = FlakyBackend.FAILED.get();
    double[] retried = run(1);
    assertEquals(before + 1, FlakyBackend.FAILED.get(), "one task failed");
    assertArrayEquals(clean, retried, "bit-identical after the retry");
  }

  @Test
  void required_aTaskThatFailsMoreOftenThanSparkRetriesFailsTheStepWithTheExecutorsError() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> run(2));
    assertTrue(e.getMessage().contains("an executor fails"), e.getMessage());
  }
}
