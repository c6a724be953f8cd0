package io.github.sgdph.spark;

import static io.github.sgdph.spark.SparkTests.relative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.analysis.DatasetCurvature;
import io.github.sgdph.analysis.Eigenpairs;
import io.github.sgdph.analysis.Hutchinson;
import io.github.sgdph.analysis.Lanczos;
import io.github.sgdph.analysis.TraceEstimate;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.ReferenceBackend;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link BatchNormStatistics#SYNCHRONIZED} (a backend without the seam is refused in {@link
 * BadInputTest}): with train-mode batch norm, a run over 2-4 partitions
 * (barrier stages, the batch norms' sums exchanged with {@code allGather} in every pass) equals
 * the single-machine run on the same global batch, in float64 on the reference backend.
 *
 * <p>Tolerances: single products 1e-13 relative and trajectories 1e-12, as {@link
 * DistributedExactnessTest}: the two runs differ only in the order of the batch sums (partition
 * sums first, then the partitions in order) and in the rescaling of a partition's
 * loss-derivative sums by {@code n_q/n_p}, a few ulps per reduction; 1e-12 leaves room for CG
 * and the line searches to grow that by ~10^3. A different statistic (per-partition statistics,
 * a missing {@code n_p/N} weight, the local instead of the global count) moves these quantities
 * by 1e-2..1 on these batches.
 */
class SynchronizedBatchNormTest {
  private static final Logger LOG = LoggerFactory.getLogger(SynchronizedBatchNormTest.class);
  static final double PRODUCT = 1e-13;
  static final double TRAJECTORY = 1e-12;
  static final int N = 24;
  /** 6 → 8 → BN → tanh → 5 → BN → relu → 3, MSE: two train-mode batch norms. */
  static final ModelSpec SPEC = new ModelSpec(new int[] {6},
      List.of(SparkTests.dense(6, 8), new LayerSpec.BatchNorm(8, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
          new LayerSpec.Activation(LayerSpec.ActivationKind.TANH), SparkTests.dense(8, 5),
          new LayerSpec.BatchNorm(5, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
          new LayerSpec.Activation(LayerSpec.ActivationKind.RELU), SparkTests.dense(5, 3)),
      LossKind.MSE);
  static final ArrayDataset DATA = SparkTests.data(N, 41, true);
  static final List<NamedArray> INIT = DefaultInitializer.initialize(SPEC, new SplittableRandom(9));

  @AfterEach
  void disarm() {
    FlakyBackend.failNext(0);
  }

  static SparkModel synced(SparkDataset d, String backend) {
    return SparkModel.builder().dataset(d).spec(SPEC).parameters(INIT).backend(backend)
        .batchNorm(BatchNormStatistics.SYNCHRONIZED).build();
  }

  static void close(ParameterVector a, ParameterVector b, String what) {
    try (a; b) {
      double r = relative(a, b);
      assertTrue(r <= PRODUCT, what + ": deviation " + r);
    }
  }

  static ParameterVector on(SpecModel m, ParameterVector v) {
    return ParameterVector.fromArray(m.algebra(), v.layout(), v.toDoubleArray());
  }

  static Stream<Arguments> batches() {
    int[] shuffled = {17, 3, 22, 9, 0, 14, 6, 19, 11, 1, 23, 8, 4, 15, 20, 12};
    int[] idle = {13, 2, 9, 7, 15, 1, 10, 4, 11}; // 4 partitions of 6: partition 3 has none
    return Stream.of(Arguments.of(2, shuffled), Arguments.of(3, shuffled),
        Arguments.of(4, shuffled), Arguments.of(4, idle), Arguments.of(3, SparkTests.range(N)));
  }

  @ParameterizedTest(name = "{0} partitions, batch {1}")
  @MethodSource("batches")
  void required_everyProductEqualsTheSingleMachineOneOfTheGlobalBatch(int partitions,
      int[] batch) {
    try (SpecModel one = new ReferenceBackend().build(SPEC, INIT, DType.FLOAT64);
        SparkDataset d = SparkDataset.distribute(SparkTests.context(), DATA, partitions);
        SparkModel m = synced(d, "reference")) {
      Objective os = one.objective(DATA.batch(batch));
      Objective od = m.objective(batch);
      ParameterLayout layout = one.layout();
      try (ParameterVector v = ParameterVector.randomNormal(one.algebra(), layout,
              new SplittableRandom(12));
          ParameterVector vd = on(m.driverModel(), v);
          Curvature cs = os.curvature();
          Curvature cd = od.curvature()) {
        assertTrue(relative(cd.loss(), cs.loss()) <= PRODUCT, "loss");
        assertTrue(relative(od.loss(), os.loss()) <= PRODUCT, "objective loss");
        assertTrue(relative(od.lossAt(vd, 0.3), os.lossAt(v, 0.3)) <= PRODUCT, "lossAt");
        close(cd.gradient(), cs.gradient(), "gradient");
        close(cd.ggnvp(vd), cs.ggnvp(v), "Gv");
        close(cd.hvp(vd), cs.hvp(v), "Hv");
        try (Curvature.GradientAndHvp a = cd.gradientAndHvp(vd);
            Curvature.GradientAndHvp b = cs.gradientAndHvp(v)) {
          assertTrue(relative(a.hvp(), b.hvp()) <= PRODUCT, "gradientAndHvp");
        }
        try (Tensor js = cs.jvp(v); Tensor jd = cd.jvp(vd)) {
          assertTrue(relative(jd.toDoubleArray(), js.toDoubleArray()) <= PRODUCT, "Jv");
          // Jᵀu with u = Jv: the backward seeded with the batch's own rows (unweighted sums)
          try (Tensor ud = m.algebra().fromArray(js.toDoubleArray(), js.shape())) {
            close(cd.vjp(ud), cs.vjp(js), "J^T u");
          }
        }
        // block-restricted products: the first layer's weight and the second batch norm's
        // scale; the second layer's weight alone (the passes start above the first batch norm)
        for (int[] blocks : new int[][] {{0, 6}, {4}}) {
          ParameterLayout sub = layout.select(blocks);
          try (ParameterVector w = ParameterVector.randomNormal(one.algebra(), sub,
                  new SplittableRandom(13));
              ParameterVector wd = on(m.driverModel(), w)) {
            close(cd.ggnvp(wd), cs.ggnvp(w), "block Gv");
            close(cd.hvp(wd), cs.hvp(w), "block Hv");
          }
        }
        // the curvature's forward pass was kept for all of these
        assertTrue(Replicas.size() > 0);
      }
      // a different statistic would be far off: per-partition normalisation moves the loss
      try (SparkModel per = SparkModel.builder().dataset(d).spec(SPEC).parameters(INIT).build()) {
        assertTrue(relative(per.objective(batch).loss(), os.loss()) > 1e-3,
            "per-partition statistics differ on this batch");
      }
      // running statistics: updated with the whole batch's statistics, as on one machine
      os.updateRunningStatistics();
      od.updateRunningStatistics();
      assertTrue(relative(SparkModel.flatten(m.driverModel().runningStatistics()),
          SparkModel.flatten(one.runningStatistics())) <= PRODUCT, "running statistics");
    }
  }

  static Stream<Arguments> runs() {
    return Stream.of(
        Arguments.of("sgn", Map.of("trust_region", true, "max_cg_iters", 6), 2),
        Arguments.of("sgn", Map.of("trust_region", true, "max_cg_iters", 6), 3),
        Arguments.of("bdhf", Map.of("cg_max_iter", 5), 4),
        Arguments.of("sgdph", Map.of("lr", 0.1), 3));
  }

  /** Steps on alternating mini-batches, running statistics updated before each step. */
  static double[][] trajectory(Optimizer opt, Objective a, Objective b, SpecModel model,
      int steps) {
    double[][] out = new double[steps][];
    for (int s = 0; s < steps; s++) {
      Objective o = s % 2 == 0 ? a : b;
      o.updateRunningStatistics();
      double loss = opt.step(o).loss();
      try (ParameterVector p = model.parameters()) {
        double[] x = p.toDoubleArray();
        double[] r = SparkModel.flatten(model.runningStatistics());
        double[] all = java.util.Arrays.copyOf(x, x.length + r.length + 1);
        System.arraycopy(r, 0, all, x.length, r.length);
        all[all.length - 1] = loss;
        out[s] = all;
      }
    }
    return out;
  }

  @ParameterizedTest(name = "{0} over {2} partitions")
  @MethodSource("runs")
  void required_aSynchronizedTrajectoryEqualsTheSingleMachineOne(String optimizer,
      Map<String, Object> hp, int partitions) {
    int steps = 4;
    int[] a = {5, 18, 2, 11, 23, 7, 14, 0, 20, 9, 16, 3};
    int[] b = {1, 22, 8, 13, 4, 19, 10, 15, 6, 21, 12, 17};
    double[][] single;
    try (SpecModel m = new ReferenceBackend().build(SPEC, INIT, DType.FLOAT64)) {
      single = trajectory(Optimizers.create(new OptimizerSpec(optimizer, hp)),
          m.objective(DATA.batch(a)), m.objective(DATA.batch(b)), m, steps);
    }
    double worst = 0;
    try (SparkDataset d = SparkDataset.distribute(SparkTests.context(), DATA, partitions);
        SparkModel m = synced(d, "reference")) {
      double[][] dist = trajectory(Optimizers.create(new OptimizerSpec(optimizer, hp)),
          m.objective(a), m.objective(b), m.driverModel(), steps);
      for (int s = 0; s < steps; s++) {
        worst = Math.max(worst, relative(dist[s], single[s]));
      }
      LOG.info("synchronized {} over {} partitions, {} steps: deviation {}, {}", optimizer,
          partitions, steps, worst, m.stats());
    }
    assertTrue(worst <= TRAJECTORY, "deviation " + worst);
    assertTrue(relative(single[steps - 1], single[0]) > 1e-4, "the parameters moved");
  }

  @Test
  void required_theHessianAnalysisOfTheWholeDatasetEqualsTheSingleMachineOne() {
    try (SpecModel one = new ReferenceBackend().build(SPEC, INIT, DType.FLOAT64);
        SparkDataset d = SparkDataset.distribute(SparkTests.context(), DATA, 3);
        SparkModel m = synced(d, "reference");
        DatasetCurvature cs = DatasetCurvature.of(one.objective(DATA.batch(SparkTests.range(N))));
        DatasetCurvature cd = DatasetCurvature.of(m.objective())) {
      Lanczos lanczos = Lanczos.builder().maxIterations(20).build();
      try (Eigenpairs es = lanczos.largest(cs.hessian(), cs.algebra(), 2, new SplittableRandom(2));
          Eigenpairs ed = lanczos.largest(cd.hessian(), cd.algebra(), 2,
              new SplittableRandom(2))) {
        assertTrue(relative(ed.values(), es.values()) <= TRAJECTORY,
            "eigenvalues " + relative(ed.values(), es.values()));
      }
      Hutchinson h = Hutchinson.builder().samples(6).build();
      TraceEstimate ts = h.trace(cs.ggn(), cs.algebra(), new SplittableRandom(4));
      TraceEstimate td = h.trace(cd.ggn(), cd.algebra(), new SplittableRandom(4));
      assertTrue(relative(td.estimate(), ts.estimate()) <= TRAJECTORY);
    }
  }

  @Test
  void required_perTermGradientsAreRefusedByName() {
    try (SparkDataset d = SparkDataset.distribute(SparkTests.context(), DATA, 2);
        SparkModel m = synced(d, "reference");
        Curvature c = m.objective().curvature()) {
      UnsupportedOperationException e =
          assertThrows(UnsupportedOperationException.class, c::perTermGradients);
      assertTrue(e.getMessage().startsWith("perTermGradients: "), e.getMessage());
    }
  }

  /**
   * An SGN run whose GGN products on partition 0 throw {@code failures} times in step 2: Spark
   * re-runs the whole barrier stage; the replicas agree to redo the forward pass (the failed one
   * lost it) and the result is bit for bit the clean run's.
   */
  static double[] flakyRun(int failures) {
    try (SparkDataset d = SparkDataset.distribute(SparkTests.context(), DATA, 2);
        SparkModel m = synced(d, "flaky-reference")) {
      Optimizer opt = Optimizers.create(new OptimizerSpec("sgn", Map.of("max_cg_iters", 4)));
      Objective o = m.objective(SparkTests.range(16));
      for (int s = 0; s < 3; s++) {
        if (s == 1) {
          FlakyBackend.failNext(failures);
        }
        o.updateRunningStatistics();
        opt.step(o);
      }
      try (ParameterVector p = m.parameters()) {
        double[] x = p.toDoubleArray();
        double[] r = SparkModel.flatten(m.driverModel().runningStatistics());
        double[] all = java.util.Arrays.copyOf(x, x.length + r.length);
        System.arraycopy(r, 0, all, x.length, r.length);
        return all;
      }
    }
  }

  @Test
  void required_aTaskFailingOnceInABarrierStageIsRetriedAndTheRunIsUnchanged() {
    double[] clean = flakyRun(0);
    int before = FlakyBackend.FAILED.get();
    double[] retried = flakyRun(1);
    assertEquals(before + 1, FlakyBackend.FAILED.get(), "one task failed");
    assertArrayEquals(clean, retried, "bit-identical after the retried stage");
  }

  @Test
  void required_tooFewTaskSlotsForTheBarrierStageIsANamedError() {
    int slots = SparkModel.taskSlots(SparkTests.context());
    try (SparkDataset d = SparkDataset.distribute(SparkTests.context(), DATA, slots + 1)) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> synced(d, "reference"));
      assertTrue(e.getMessage().startsWith("batchNorm: ") && e.getMessage().contains("slots"),
          e.getMessage());
      // per-partition statistics need no barrier stage
      try (SparkModel per = SparkModel.builder().dataset(d).spec(SPEC).parameters(INIT)
          .build()) {
        assertTrue(Double.isFinite(per.objective().loss()));
      }
    }
  }

  @Test
  void required_withoutATrainModeBatchNormSynchronizedIsThePlainRun() {
    try (SparkDataset d = SparkDataset.distribute(SparkTests.context(),
            SparkTests.data(12, 3, false), 2);
        SparkModel m = SparkModel.builder().dataset(d).spec(SparkTests.mlp())
            .parameters(DefaultInitializer.initialize(SparkTests.mlp(), new SplittableRandom(1)))
            .batchNorm(BatchNormStatistics.SYNCHRONIZED).build()) {
      assertTrue(!m.synchronizedStatistics());
      assertTrue(Double.isFinite(m.objective().loss()));
    }
  }
}
