package io.github.sgdph.spark;

import static io.github.sgdph.spark.SparkTests.relative;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.ReferenceBackend;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.train.TrainingReport;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Train-mode batch norm with {@link BatchNormStatistics#PER_PARTITION}: each partition's share is
 * normalised with its own statistics (DDP without SyncBatchNorm), so the distributed objective is
 * {@code Σ_p (n_p/N) L_p} with {@code L_p} the single-machine loss of partition {@code p}'s
 * share, and so are its gradient and products; running statistics follow partition 0's share.
 */
class BatchNormTest {
  static final ModelSpec SPEC = SparkTests.batchNormMlp();
  static final ArrayDataset DATA = SparkTests.data(14, 31, true);
  static final List<NamedArray> INIT = DefaultInitializer.initialize(SPEC, new SplittableRandom(4));

  @Test
  void required_perPartitionStatisticsGiveTheWeightedSumOfThePartitionsObjectives() {
    int[] batch = {0, 9, 3, 12, 6, 1, 10, 4}; // partitions [0,7) and [7,14): shares 5 and 3
    int[][] shares = {{0, 3, 6, 1, 4}, {9, 12, 10}};
    try (SpecModel one = new ReferenceBackend().build(SPEC, INIT, DType.FLOAT64);
        SparkDataset d = SparkDataset.distribute(SparkTests.context(), DATA, 2);
        SparkModel m = SparkModel.builder().dataset(d).spec(SPEC).parameters(INIT).build()) {
      Objective od = m.objective(batch);
      double loss = 0;
      double[] g = new double[Math.toIntExact(one.layout().dimension())];
      double[] gv = new double[g.length];
      try (ParameterVector v = ParameterVector.randomNormal(one.algebra(), one.layout(),
          new SplittableRandom(6))) {
        for (int[] s : shares) {
          double w = (double) s.length / batch.length;
          try (Curvature c = one.objective(DATA.batch(s)).curvature();
              ParameterVector gs = c.gradient();
              ParameterVector ps = c.ggnvp(v)) {
            loss += w * c.loss();
            double[] ga = gs.toDoubleArray();
            double[] pa = ps.toDoubleArray();
            for (int i = 0; i < g.length; i++) {
              g[i] += w * ga[i];
              gv[i] += w * pa[i];
            }
          }
        }
        try (Curvature cd = od.curvature();
            ParameterVector vd = ParameterVector.fromArray(m.algebra(), m.layout(),
                v.toDoubleArray());
            ParameterVector gd = cd.gradient();
            ParameterVector pd = cd.ggnvp(vd)) {
          assertTrue(relative(cd.loss(), loss) <= 1e-13);
          assertTrue(relative(gd.toDoubleArray(), g) <= 1e-13);
          assertTrue(relative(pd.toDoubleArray(), gv) <= 1e-13);
        }
      }
      // running statistics: those of the lowest partition with samples in the batch (partition 0)
      od.updateRunningStatistics();
      one.objective(DATA.batch(shares[0])).updateRunningStatistics();
      List<NamedArray> expected = one.runningStatistics();
      List<NamedArray> actual = m.driverModel().runningStatistics();
      assertEquals(expected.size(), actual.size());
      for (int i = 0; i < expected.size(); i++) {
        assertTrue(relative(actual.get(i).values(), expected.get(i).values()) == 0,
            expected.get(i).name());
      }
    }
  }

  @Test
  void required_withOnePartitionTheBatchNormRunIsTheSingleMachineOne() {
    try (SpecModel one = new ReferenceBackend().build(SPEC, INIT, DType.FLOAT64);
        SparkDataset d = SparkDataset.distribute(SparkTests.context(), DATA, 1);
        SparkModel m = SparkModel.builder().dataset(d).spec(SPEC).parameters(INIT).build()) {
      Map<String, Object> hp = Map.of("max_cg_iters", 4, "trust_region", true);
      Objective os = one.objective(DATA.batch(SparkTests.range(14)));
      Objective od = m.objective();
      var a = Optimizers.create(new OptimizerSpec("sgn", hp));
      var b = Optimizers.create(new OptimizerSpec("sgn", hp));
      for (int s = 0; s < 3; s++) {
        os.updateRunningStatistics();
        od.updateRunningStatistics();
        a.step(os);
        b.step(od);
      }
      try (ParameterVector ps = one.parameters(); ParameterVector pd = m.parameters()) {
        assertTrue(relative(pd, ps) <= 1e-12, "deviation " + relative(pd, ps));
      }
      assertTrue(relative(SparkModel.flatten(m.driverModel().runningStatistics()),
          SparkModel.flatten(one.runningStatistics())) <= 1e-12);
    }
  }

  @Test
  void required_aBatchNormModelTrainsAndEvaluatesOnTheDriver() {
    ArrayDataset data = SparkTests.data(48, 2, true);
    try (SparkDataset d = SparkDataset.distribute(SparkTests.context(), data, 2);
        SparkModel m = SparkModel.builder().dataset(d).spec(SPEC).parameters(INIT).build()) {
      TrainingReport r = SparkTraining.builder(m)
          .optimizer(Optimizers.create(new OptimizerSpec("sgn",
              Map.of("max_cg_iters", 4, "trust_region", true))))
          .testData(data).epochs(2).batchSize(16).seed(1).build().run();
      assertTrue(r.completed());
      assertEquals(6, r.steps());
      assertTrue(Double.isFinite(r.epochs().get(1).test().loss()), r.epochs().toString());
      // the running means left their initial zeros (evaluation mode used them)
      double[] mean = m.driverModel().runningStatistics().get(0).values();
      assertTrue(java.util.Arrays.stream(mean).anyMatch(x -> x != 0));
    }
  }
}
