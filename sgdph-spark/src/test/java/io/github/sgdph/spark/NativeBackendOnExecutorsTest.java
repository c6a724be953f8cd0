package io.github.sgdph.spark;

import static io.github.sgdph.spark.SparkTests.relative;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Native backends on the executors: DJL (PyTorch), TensorFlow and DL4J replicas in float32, built
 * on the executors from the spec, the backend's name and the dtype, take the same SGN steps as the
 * same backend on one machine.
 * Tolerance 1e-4 relative, the conformance kit's for float32 against another evaluation order
 * ({@code Tolerances}: float32's unit roundoff 6e-8, accumulated over the per-sample sums, CG's
 * iterations and the steps); the log also shows what reordering the samples on one machine
 * does, the scale of float32 rounding on this trajectory.
 */
class NativeBackendOnExecutorsTest {
  private static final Logger LOG = LoggerFactory.getLogger(NativeBackendOnExecutorsTest.class);
  static final double FLOAT32 = 1e-4;
  static final int N = 30;
  static final int STEPS = 4;
  static final ModelSpec SPEC = SparkTests.mlp();
  static final ArrayDataset DATA = SparkTests.data(N, 11, false);
  static final List<NamedArray> INIT = DefaultInitializer.initialize(SPEC, new SplittableRandom(3));
  static final OptimizerSpec SGN =
      new OptimizerSpec("sgn", Map.of("max_cg_iters", 5, "trust_region", true, "rho", 1e-2));

  static double[] oneMachine(String backend, int[] order) {
    try (SpecModel m = SpecBackend.find(backend).build(SPEC, INIT, DType.FLOAT32)) {
      Optimizer opt = Optimizers.create(SGN);
      for (int s = 0; s < STEPS; s++) {
        Objective o = m.objective(DATA.batch(order));
        opt.step(o);
      }
      try (ParameterVector p = m.parameters()) {
        return p.toDoubleArray();
      }
    }
  }

  static double[] distributed(String backend, int partitions) {
    try (SparkDataset d = SparkDataset.distribute(SparkTests.context(), DATA, partitions);
        SparkModel m = SparkModel.builder().dataset(d).spec(SPEC).parameters(INIT)
            .backend(backend).dtype(DType.FLOAT32).build()) {
      Optimizer opt = Optimizers.create(SGN);
      for (int s = 0; s < STEPS; s++) {
        opt.step(m.objective(SparkTests.range(N)));
      }
      try (ParameterVector p = m.parameters()) {
        return p.toDoubleArray();
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"djl", "tensorflow", "dl4j"})
  void required_float32ReplicasOnExecutorsTakeTheSingleMachineSgnSteps(String backend) {
    double[] one = oneMachine(backend, SparkTests.range(N));
    int[] reversed = new int[N];
    for (int i = 0; i < N; i++) {
      reversed[i] = N - 1 - i;
    }
    double noise = relative(oneMachine(backend, reversed), one);
    double dev = relative(distributed(backend, 2), one);
    LOG.info("{} float32, {} SGN steps over 2 partitions: deviation {} (one machine, samples"
        + " reversed: {})", backend, STEPS, dev, noise);
    assertTrue(dev <= FLOAT32, "deviation " + dev);
    // and the run moved: the comparison is not of two unchanged starting points
    double[] start;
    try (SpecModel m = SpecBackend.find(backend).build(SPEC, INIT, DType.FLOAT32);
        ParameterVector p = m.parameters()) {
      start = p.toDoubleArray();
    }
    assertTrue(relative(one, start) > 100 * FLOAT32, "SGN did not move the parameters");
  }
}
