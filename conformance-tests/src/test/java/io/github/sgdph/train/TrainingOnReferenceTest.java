package io.github.sgdph.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.data.EpochOrder;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LayerSpec.Mode;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The training loop on the reference backend: it learns, it resumes bit-identically (at an epoch
 * boundary and mid-epoch, with every optimizer), it stops on a non-finite step with the
 * parameters of the last good one, and it refuses what does not fit.
 */
class TrainingOnReferenceTest {
  private static final SpecBackend REF = SpecBackend.find("reference");

  /** 6 inputs, 3 classes: the class is the largest of three fixed linear scores. */
  static ArrayDataset blobs(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    double[] x = new double[n * 6];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      double[] s = new double[3];
      for (int j = 0; j < 6; j++) {
        double v = r.nextGaussian();
        x[i * 6 + j] = v;
        s[j % 3] += (j < 3 ? 1 : 0.5) * v;
      }
      int best = s[0] >= s[1] && s[0] >= s[2] ? 0 : s[1] >= s[2] ? 1 : 2;
      y[i] = best;
    }
    return new ArrayDataset("blobs", x, new int[] {6}, y, new int[0]);
  }

  static ModelSpec mlp() {
    return new ModelSpec(
        new int[] {6},
        List.of(
            new LayerSpec.Dense(6, 8, true),
            new LayerSpec.BatchNorm(8, 1e-5, 0.1, Mode.TRAIN),
            new LayerSpec.Activation(ActivationKind.TANH),
            new LayerSpec.Dense(8, 3, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  static SpecModel model(long seed) {
    ModelSpec spec = mlp();
    return REF.build(spec, DefaultInitializer.initialize(spec, new SplittableRandom(seed)),
        DType.FLOAT64);
  }

  static Optimizer optimizer(String name) {
    Map<String, Object> hp =
        switch (name) {
          case "sgd" -> Map.of("lr", 0.1, "momentum", 0.9);
          case "adam" -> Map.of("lr", 0.01);
          case "sgdph" -> Map.of("lr", 0.1);
          case "sgn" -> Map.of("max_cg_iters", 5);
          case "bdhf", "hf" -> Map.of();
          case "kfac" -> Map.of("lr", 0.05, "t_cov", 2, "t_inv", 3);
          default -> throw new IllegalArgumentException(name);
        };
    return Optimizers.create(new OptimizerSpec(name, hp));
  }

  private static Training.Builder run(SpecModel m, Optimizer o, ArrayDataset train,
      ArrayDataset test, int epochs) {
    return Training.builder().model(m).optimizer(o).trainingData(train).testData(test)
        .epochs(epochs).batchSize(10).seed(7);
  }

  @Test
  void sgdPhLearnsTheBlobs() {
    ArrayDataset train = blobs(400, 1);
    ArrayDataset test = blobs(200, 2);
    try (SpecModel m = model(3)) {
      double before = Evaluation.of(m, test, 64).accuracy();
      TrainingReport r = run(m, optimizer("sgdph"), train, test, 5).build().run();
      assertTrue(r.completed());
      assertEquals(5, r.epochs().size());
      assertEquals(200, r.steps());
      double after = r.lastTest().accuracy();
      assertTrue(after >= 0.85 && after > before + 0.2,
          "test accuracy " + before + " -> " + after);
      assertTrue(r.epochs().get(4).trainLoss() < r.epochs().get(0).trainLoss());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"sgd", "adam", "sgdph", "sgn", "bdhf", "hf", "kfac"})
  void resumingIsBitIdenticalAtEpochEndsAndMidEpoch(String opt) {
    ArrayDataset train = blobs(64, 4); // 7 batches: six of 10 and one of 4
    ArrayDataset test = blobs(30, 5);
    List<TrainingState> saved = new ArrayList<>();
    TrainingReport whole;
    List<NamedArray> finalParams;
    List<NamedArray> finalStats;
    try (SpecModel m = model(6)) {
      Optimizer o = optimizer(opt);
      whole = run(m, o, train, test, 3).checkpoints(saved::add, 5).build().run();
      finalParams = m.exportParameters();
      finalStats = m.runningStatistics();
      assertTrue(whole.completed(), whole.stopReason());
    }
    // checkpoints: steps 5, 10, 15, 20 within epochs, and the three epoch ends
    TrainingState epochEnd = saved.stream().filter(s -> s.epoch() == 1 && s.batch() == 0)
        .findFirst().orElseThrow();
    TrainingState midEpoch = saved.stream().filter(s -> s.step() == 10).findFirst().orElseThrow();
    assertEquals(1, midEpoch.epoch());
    assertEquals(3, midEpoch.batch());
    for (TrainingState from : List.of(epochEnd, midEpoch)) {
      try (SpecModel m = model(99)) { // other initial values: the checkpoint must replace them
        TrainingReport rest = run(m, optimizer(opt), train, test, 3).resume(from).build().run();
        assertTrue(rest.completed());
        assertEquals(whole.steps(), rest.steps());
        same(finalParams, m.exportParameters(), opt + " parameters from step " + from.step());
        same(finalStats, m.runningStatistics(), opt + " running statistics");
        EpochResult a = whole.epochs().get(2);
        EpochResult b = rest.epochs().get(rest.epochs().size() - 1);
        assertEquals(a.trainLoss(), b.trainLoss(), 0.0, opt + " epoch 2 train loss");
        assertEquals(a.test(), b.test(), opt + " epoch 2 evaluation");
        EpochResult a1 = whole.epochs().get(1);
        EpochResult b1 = rest.epochs().get(0);
        assertEquals(a1.trainLoss(), b1.trainLoss(), 0.0, opt + " epoch 1 train loss");
      }
    }
  }

  private static void same(List<NamedArray> e, List<NamedArray> a, String what) {
    assertEquals(e.size(), a.size(), what);
    for (int i = 0; i < e.size(); i++) {
      assertArrayEquals(e.get(i).values(), a.get(i).values(), 0.0, what + ": " + e.get(i).name());
    }
  }

  @Test
  void aCheckpointOfAnotherRunIsRefusedListingEveryDifferenceAndNothingChanges() {
    ArrayDataset train = blobs(64, 4);
    List<TrainingState> saved = new ArrayList<>();
    try (SpecModel m = model(6)) {
      run(m, optimizer("sgd"), train, null, 1).checkpoints(saved::add, 0).build().run();
    }
    TrainingState s = saved.get(0);
    try (SpecModel m = model(8)) {
      List<NamedArray> before = m.exportParameters();
      Training t = Training.builder().model(m).optimizer(optimizer("adam")).trainingData(train)
          .batchSize(16).seed(8).epochs(2).resume(s).build();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, t::run);
      assertTrue(e.getMessage().contains("optimizer: saved sgd"), e.getMessage());
      assertTrue(e.getMessage().contains("seed: saved 7"), e.getMessage());
      assertTrue(e.getMessage().contains("batch size: saved 10"), e.getMessage());
      same(before, m.exportParameters(), "parameters after a refused resume");
    }
  }

  @Test
  void aNonFiniteStepEndsTheRunWithAReportAndTheLastGoodParameters() {
    ArrayDataset train = blobs(64, 4);
    List<NamedArray>[] lastGood = new List[1];
    try (SpecModel m = model(6)) {
      Optimizer o = Optimizers.create(new OptimizerSpec("sgd", Map.of("lr", 1e300)));
      TrainingReport r = run(m, o, train, null, 2)
          .listener(new TrainingListener() {
            @Override
            public void stepped(StepEvent e) {
              lastGood[0] = m.exportParameters();
            }
          })
          .build().run();
      assertFalse(r.completed());
      assertTrue(r.stopReason().startsWith("non-finite step at epoch 0, batch "), r.stopReason());
      for (NamedArray a : m.exportParameters()) {
        for (double v : a.valuesView()) {
          assertTrue(Double.isFinite(v), a.name());
        }
      }
      if (lastGood[0] != null) {
        same(lastGood[0], m.exportParameters(), "parameters after the refused step");
      }
    }
  }

  @Test
  void dataThatDoesNotFitAndOneSampleBatchNormBatchesAreRefused() {
    try (SpecModel m = model(6)) {
      ArrayDataset wrong = new ArrayDataset("w", new double[20], new int[] {5}, new double[4],
          new int[0]);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Training.builder().model(m).optimizer(optimizer("sgd")).trainingData(wrong)
              .build());
      assertTrue(e.getMessage().startsWith("trainingData: samples of [5]"), e.getMessage());
      ArrayDataset eleven = blobs(11, 1);
      IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
          () -> run(m, optimizer("sgd"), eleven, null, 1).build());
      assertTrue(e2.getMessage().contains("one value per channel"), e2.getMessage());
      run(m, optimizer("sgd"), eleven, null, 1).dropLast(true).build();
      assertThrows(IllegalStateException.class, () -> Training.builder().model(m).build());
    }
  }

  @Test
  void evaluationOfMseHasNoAccuracy() {
    ModelSpec spec = new ModelSpec(new int[] {2}, List.of(new LayerSpec.Dense(2, 2, false)),
        LossKind.MSE);
    List<NamedArray> p = List.of(new NamedArray("0.weight", new int[] {2, 2},
        new double[] {1, 0, 0, 1}, true));
    try (SpecModel m = REF.build(spec, p, DType.FLOAT64)) {
      ArrayDataset d = new ArrayDataset("d", new double[] {1, 2, 3, 4}, new int[] {2},
          new double[] {1, 1, 3, 3}, new int[] {2});
      Evaluation e = Evaluation.of(m, d, 1);
      assertEquals(2, e.samples());
      assertEquals((0 + 1 + 0 + 1) / 4.0, e.loss(), 1e-15);
      assertTrue(Double.isNaN(e.accuracy()));
      // outputs (1, 2) and (3, 4) against (1, 1) and (3, 3): squared errors 1 and 1 per sample
      assertEquals(1.0, e.reconstructionError(), 1e-15);
    }
  }

  @Test
  void reconstructionErrorOfSigmoidCrossEntropyIsOnProbabilities() {
    ModelSpec spec = new ModelSpec(new int[] {2}, List.of(new LayerSpec.Dense(2, 2, false)),
        LossKind.SIGMOID_BINARY_CROSS_ENTROPY);
    List<NamedArray> p = List.of(new NamedArray("0.weight", new int[] {2, 2},
        new double[] {1, 0, 0, 1}, true));
    try (SpecModel m = REF.build(spec, p, DType.FLOAT64)) {
      ArrayDataset d = new ArrayDataset("d", new double[] {0, Math.log(3)}, new int[] {2},
          new double[] {0.25, 1}, new int[] {2});
      Evaluation e = Evaluation.of(m, d, 1);
      // σ(0) = 0.5 against 0.25, σ(log 3) = 0.75 against 1: 0.0625 + 0.0625
      assertEquals(0.125, e.reconstructionError(), 1e-15);
    }
    ModelSpec classifier = new ModelSpec(new int[] {2},
        List.of(new LayerSpec.Dense(2, 2, false)), LossKind.SOFTMAX_CROSS_ENTROPY);
    try (SpecModel m = REF.build(classifier, p, DType.FLOAT64)) {
      ArrayDataset d = new ArrayDataset("d", new double[] {0, 1}, new int[] {2},
          new double[] {1}, new int[] {});
      assertTrue(Double.isNaN(Evaluation.of(m, d, 1).reconstructionError()));
    }
    assertThrows(IllegalStateException.class, () -> LossKind.SOFTMAX_CROSS_ENTROPY
        .reconstructionError(new double[] {0, 0}, new double[] {0}, 2, 0));
  }

  @Test
  void epochOrdersArePermutationsFixedBySeedAndEpoch() {
    int[] a = EpochOrder.shuffled(100, 7, 3);
    assertArrayEquals(a, EpochOrder.shuffled(100, 7, 3));
    assertFalse(java.util.Arrays.equals(a, EpochOrder.shuffled(100, 7, 4)));
    boolean[] seen = new boolean[100];
    for (int i : a) {
      assertFalse(seen[i]);
      seen[i] = true;
    }
    assertFalse(java.util.Arrays.equals(a, EpochOrder.shuffled(100, 8, 3)));
  }
}
