package io.github.sgdph.spark;

import static io.github.sgdph.spark.SparkTests.relative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.io.CheckpointFile;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.reference.ReferenceBackend;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.train.Training;
import io.github.sgdph.train.TrainingReport;
import io.github.sgdph.train.TrainingState;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints of {@link SparkTraining} are {@code Training}'s ({@link CheckpointFile}), and a
 * distributed run resumed from one is bit for bit the uninterrupted distributed run: parameters,
 * running statistics and every later step (the partition-ordered sums make each step a function
 * of the parameters, the batch and the partitioning alone). The optimizers carry state across
 * steps (SGN's trust-region radius, SGD-PH's momentum), which the checkpoint must restore.
 */
class SparkResumeTest {
  private static final Logger LOG = LoggerFactory.getLogger(SparkResumeTest.class);

  /** 48 samples, batch 16: 3 steps per epoch, 3 epochs. */
  static final int EPOCHS = 3;

  static Stream<Arguments> runs() {
    return Stream.of(
        Arguments.of("mlp, sgn with trust region, 3 partitions", SparkTests.mlp(), false, 3,
            new OptimizerSpec("sgn", Map.of("max_cg_iters", 4, "trust_region", true,
                "rho", 1e-2))),
        Arguments.of("train-mode batch norm, sgdph, 2 partitions", SparkTests.batchNormMlp(),
            true, 2,
            new OptimizerSpec("sgdph", Map.of("lr", 0.05, "momentum", 0.9))));
  }

  record End(double[] parameters, double[] runningStatistics, long steps) {}

  static End train(ModelSpec spec, ArrayDataset data, int partitions, OptimizerSpec opt,
      Path checkpoints, TrainingState resume) {
    List<NamedArray> init = DefaultInitializer.initialize(spec, new SplittableRandom(9));
    try (SparkDataset d = SparkDataset.distribute(SparkTests.context(), data, partitions);
        SparkModel m = SparkModel.builder().dataset(d).spec(spec).parameters(init).build()) {
      Training.Builder b = SparkTraining.builder(m)
          .optimizer(Optimizers.create(opt)).epochs(EPOCHS).batchSize(16).seed(5);
      if (checkpoints != null) {
        // every checkpoint in a file of its own (the CLI's sink replaces one file)
        b.checkpoints(s -> CheckpointFile.write(s, checkpoints.resolve("step-" + s.step())), 2);
      }
      if (resume != null) {
        b.resume(resume);
      }
      TrainingReport r = b.build().run();
      assertTrue(r.completed(), String.valueOf(r.stopReason()));
      try (var p = m.parameters()) {
        return new End(p.toDoubleArray(),
            SparkModel.flatten(m.driverModel().runningStatistics()), r.steps());
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runs")
  void required_aResumedDistributedRunIsBitForBitTheUninterruptedOne(String name,
      ModelSpec spec, boolean regression, int partitions, OptimizerSpec opt,
      @TempDir Path dir) {
    ArrayDataset data = SparkTests.data(48, 5, regression);
    End whole = train(spec, data, partitions, opt, dir, null);
    assertEquals(9, whole.steps());
    // step 2: within epoch 0 (batch 2 next); step 3: an epoch's end; step 8: within epoch 2
    for (int step : new int[] {2, 3, 8}) {
      TrainingState s = CheckpointFile.read(dir.resolve("step-" + step));
      assertEquals(step, s.step());
      End resumed = train(spec, data, partitions, opt, null, s);
      assertArrayEquals(whole.parameters(), resumed.parameters(), name + " from step " + step);
      assertArrayEquals(whole.runningStatistics(), resumed.runningStatistics(),
          name + " from step " + step);
    }
  }

  /**
   * The file is the one-machine format: {@code Training} on one machine resumes a distributed
   * run's checkpoint (and then differs from the distributed run only by the order of its sums).
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("runs")
  void required_oneMachineTrainingResumesADistributedCheckpoint(String name, ModelSpec spec,
      boolean regression, int partitions, OptimizerSpec opt, @TempDir Path dir) {
    if (regression) {
      // per-partition batch statistics (the distributed default) are another objective than
      // one machine's: only the format is shared then, which the first case shows
      return;
    }
    ArrayDataset data = SparkTests.data(48, 5, false);
    End whole = train(spec, data, partitions, opt, dir, null);
    TrainingState s = CheckpointFile.read(dir.resolve("step-2"));
    List<NamedArray> other = DefaultInitializer.initialize(spec, new SplittableRandom(1));
    try (SpecModel one = new ReferenceBackend().build(spec, other, DType.FLOAT64)) {
      TrainingReport r = Training.builder().model(one).optimizer(Optimizers.create(opt))
          .trainingData(data).epochs(EPOCHS).batchSize(16).seed(5).resume(s).build().run();
      assertEquals(9, r.steps());
      try (var p = one.parameters()) {
        double dev = relative(p.toDoubleArray(), whole.parameters());
        LOG.info("{}: one machine resumed from the distributed step 2: deviation {}", name, dev);
        assertTrue(dev <= DistributedExactnessTest.TRAJECTORY, "deviation " + dev);
      }
    }
  }
}
