package io.github.sgdph.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.io.FashionMnist;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The small versions of EXPERIMENTS.md's experiments (CI runs these; the full ones are the
 * scripts in experiments/): every experiment runs end to end on the reference backend with a
 * few hundred images and writes its tables and plots.
 */
class QuickExperimentsTest {
  @TempDir Path dir;

  private static void requireData() {
    assumeTrue(Files.isDirectory(FashionMnist.defaultDirectory()),
        "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
  }

  private String run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = ExperimentCommand.execute(new PrintWriter(out), new PrintWriter(err), args);
    assertEquals(0, code, err.toString());
    return out.toString();
  }

  private static List<String> lines(Path f) throws Exception {
    return Files.readAllLines(f, StandardCharsets.UTF_8);
  }

  @Test
  void optimizerComparisonsRunEndToEnd() throws Exception {
    requireData();
    for (String name : List.of("sgdph-cnn", "sgn-large-batch", "hf-autoencoder")) {
      Path out = dir.resolve(name);
      run(name, "--quick", "--backend", "reference", "--dtype", "float64", "--train", "128",
          "--seeds", "0,1", "--out", out.toString());
      List<String> runs = lines(out.resolve("runs.csv"));
      // 2 tuned methods × 2 rates + one more seed each, or 1 tuned + 2 untuned; 1 epoch each
      assertTrue(runs.size() >= 1 + 6, name + ": " + runs);
      assertTrue(runs.get(0).startsWith("method,lr,seed,reported,epoch"), runs.get(0));
      String summary = Files.readString(out.resolve("summary.md"));
      assertTrue(summary.contains("±"), summary);
      assertTrue(Files.size(out.resolve(name + "-epochs.png")) > 1000);
    }
    assertTrue(Files.exists(dir.resolve("sgn-large-batch/steps.csv")));
    assertTrue(Files.size(dir.resolve("sgn-large-batch/sgn-large-batch-seconds.png")) > 1000);
    assertTrue(Files.readString(dir.resolve("hf-autoencoder/summary.md"))
        .contains("reconstruction error"));
  }

  /**
   * resnet-sgdph on its own backend (DJL, float32; the reference backend takes minutes for the
   * ResNet-8 on 28×28 images): SGD and SGD-PH each try two rates with seed 0, then run seed 1
   * at the chosen one — 6 runs of 2 steps, the built-in ResNet's 77,754 parameters.
   */
  @Test
  void resnetComparisonRunsEndToEnd() throws Exception {
    requireData();
    Path out = dir.resolve("resnet-sgdph");
    String log = run("resnet-sgdph", "--quick", "--train", "256", "--seeds", "0,1", "--out",
        out.toString());
    assertTrue(log.contains("Model `resnet`, backend djl (float32); 256 training"), log);
    List<String> runs = lines(out.resolve("runs.csv"));
    assertEquals(1 + 6, runs.size(), runs.toString());
    assertEquals(3, runs.stream().filter(r -> r.startsWith("SGD,")).count(), runs.toString());
    assertEquals(3, runs.stream().filter(r -> r.startsWith("SGD-PH,")).count(), runs.toString());
    for (String r : runs.subList(1, runs.size())) {
      String[] c = r.split(",", -1);
      assertEquals("2", c[5], r); // step count after the one epoch: 256 / 128
      assertTrue(Double.isFinite(Double.parseDouble(c[7])), r);
    }
    String summary = Files.readString(out.resolve("summary.md"));
    assertTrue(summary.contains("| SGD-PH | lr=") && summary.contains("momentum=0.9"), summary);
    assertTrue(Files.size(out.resolve("resnet-sgdph-epochs.png")) > 1000);
  }

  /**
   * lstm-bdhf on its own backend (DJL, float32): Adam tries two rates with seed 0 and runs seed
   * 1 at the chosen one, HF and block-diagonal HF run at their defaults (CG capped at 20) with
   * both seeds — 7 runs of 2 steps of the built-in two-layer LSTM over image rows.
   */
  @Test
  void lstmComparisonRunsEndToEnd() throws Exception {
    requireData();
    Path out = dir.resolve("lstm-bdhf");
    String log = run("lstm-bdhf", "--quick", "--seeds", "0,1", "--out", out.toString());
    assertTrue(log.contains("Model `lstm`, backend djl (float32); 128 training"), log);
    List<String> runs = lines(out.resolve("runs.csv"));
    assertEquals(1 + 7, runs.size(), runs.toString());
    assertEquals(3, runs.stream().filter(r -> r.startsWith("Adam,")).count(), runs.toString());
    assertEquals(2, runs.stream().filter(r -> r.startsWith("HF,")).count(), runs.toString());
    assertEquals(2, runs.stream().filter(r -> r.startsWith("block-diagonal HF,")).count(),
        runs.toString());
    for (String r : runs.subList(1, runs.size())) {
      String[] c = r.split(",", -1);
      assertEquals("2", c[5], r); // step count after the one epoch: 128 / 64
      assertTrue(Double.isFinite(Double.parseDouble(c[7])), r);
    }
    String summary = Files.readString(out.resolve("summary.md"));
    assertTrue(summary.contains("| block-diagonal HF | cg_max_iter=20 |")
        && summary.contains("test accuracy"), summary);
    assertTrue(Files.size(out.resolve("lstm-bdhf-epochs.png")) > 1000);
  }

  /**
   * kfac-fashion on its own backends, the BN MLP on the reference (float64) and the BN CNN on DJL
   * (float32), one model per invocation into the same directory: per model SGD, Adam and KFAC
   * try two rates with seed 0 and run seed 1 at the chosen one — 9 runs of one step — and the
   * second invocation's summary still quotes the first's model.
   */
  @Test
  void kfacComparisonRunsEndToEnd() throws Exception {
    requireData();
    Path out = dir.resolve("kfac-fashion");
    run("kfac-fashion", "--quick", "--train", "128", "--seeds", "0,1", "--models", "mlp",
        "--out", out.toString());
    String first = Files.readString(out.resolve("summary.md"));
    assertTrue(first.contains("Model `mlp`, backend reference (float64); 128 training"), first);
    assertTrue(!first.contains("Model `cnn`"), first);
    run("kfac-fashion", "--quick", "--train", "128", "--seeds", "0,1", "--models", "cnn",
        "--out", out.toString());
    for (String model : List.of("mlp", "cnn")) {
      List<String> runs = lines(out.resolve(model).resolve("runs.csv"));
      assertEquals(1 + 9, runs.size(), runs.toString());
      assertEquals(3, runs.stream().filter(r -> r.startsWith("KFAC,")).count(), runs.toString());
      for (String r : runs.subList(1, runs.size())) {
        assertTrue(Double.isFinite(Double.parseDouble(r.split(",", -1)[7])), r);
      }
      assertTrue(Files.size(out.resolve(model).resolve("kfac-fashion-" + model + "-epochs.png"))
          > 1000);
    }
    String summary = Files.readString(out.resolve("summary.md"));
    assertTrue(summary.contains("Model `mlp`, backend reference (float64); 128 training"),
        summary);
    assertTrue(summary.contains("Model `cnn`, backend djl (float32); 128 training"), summary);
    assertTrue(summary.indexOf("Model `mlp`") < summary.indexOf("Model `cnn`"), summary);
    assertTrue(summary.contains("| KFAC | damping=0.001 lr="), summary);
  }

  @Test
  void kfacComparisonRefusesAnUnknownModelBeforeRunning() {
    StringWriter err = new StringWriter();
    int code = ExperimentCommand.execute(new PrintWriter(new StringWriter()),
        new PrintWriter(err), "kfac-fashion", "--quick", "--models", "mlp,resnet", "--out",
        dir.resolve("k").toString());
    assertEquals(2, code);
    assertTrue(err.toString().contains("--models: expected mlp or cnn but was 'resnet'"),
        err.toString());
    assertTrue(!Files.exists(dir.resolve("k").resolve("mlp")), "nothing ran");
  }

  @Test
  void hessianAnalysisRunsEndToEnd() throws Exception {
    requireData();
    Path out = dir.resolve("h");
    run("hessian-analysis", "--quick", "--seeds", "0,1", "--out", out.toString());
    List<String> fin = lines(out.resolve("final.csv"));
    assertEquals(1 + 2 * 2, fin.size(), fin.toString());
    for (String row : fin.subList(1, fin.size())) {
      String[] c = row.split(",", -1);
      double lambda = Double.parseDouble(c[7]);
      double scaled = Double.parseDouble(c[8]);
      assertTrue(lambda > 0 && Double.isFinite(lambda), row);
      assertTrue(scaled > 0 && Double.isFinite(scaled), row);
    }
    assertTrue(Files.size(out.resolve("sharpness-vs-random-labels.png")) > 1000);
    assertTrue(Files.size(out.resolve("hessian-dynamics.png")) > 1000);
  }

  @Test
  void randomLabelsRelabelTheGivenFractionReproducibly() {
    int n = 1000;
    double[] x = new double[n];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = i;
      y[i] = i % 10;
    }
    ArrayDataset d = new ArrayDataset("d", x, new int[] {1}, y, new int[] {});
    ArrayDataset r = Splits.randomLabels(d, 0.5, 10, 3);
    double[] ry = r.range(0, n).yView();
    int changed = 0;
    for (int i = 0; i < n; i++) {
      changed += ry[i] != y[i] ? 1 : 0;
    }
    // 500 relabelled, of which about 1/10 keep their class by chance: 450 ± a few dozen
    assertTrue(changed > 380 && changed <= 500, "changed " + changed);
    assertEquals(java.util.Arrays.toString(ry),
        java.util.Arrays.toString(Splits.randomLabels(d, 0.5, 10, 3).range(0, n).yView()));
    assertEquals(java.util.Arrays.toString(y),
        java.util.Arrays.toString(Splits.randomLabels(d, 0, 10, 3).range(0, n).yView()));
  }

  @Test
  void meanImageErrorIsTheSquaredDistanceToTheTrainingMean() {
    // training targets (0, 0) and (2, 2): mean (1, 1); test targets (1, 3) and (1, 1): 4 and 0
    ArrayDataset train = new ArrayDataset("t", new double[] {0, 0, 2, 2}, new int[] {2},
        new double[] {0, 0, 2, 2}, new int[] {2});
    ArrayDataset test = new ArrayDataset("s", new double[] {1, 3, 1, 1}, new int[] {2},
        new double[] {1, 3, 1, 1}, new int[] {2});
    assertEquals(2.0, Comparison.meanImageError(new Splits(train, test, test)), 1e-15);
  }

  @Test
  void unknownExperimentIsAUsageError() {
    StringWriter err = new StringWriter();
    int code = ExperimentCommand.execute(new PrintWriter(new StringWriter()),
        new PrintWriter(err), "nonsense");
    assertEquals(2, code);
    assertTrue(err.toString().contains("unknown experiment"), err.toString());
  }
}
