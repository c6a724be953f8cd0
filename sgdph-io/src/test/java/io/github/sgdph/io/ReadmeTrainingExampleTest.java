package io.github.sgdph.io;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.data.Normalization;
import io.github.sgdph.model.BuiltInModels;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.train.EpochResult;
import io.github.sgdph.train.Training;
import io.github.sgdph.train.TrainingListener;
import io.github.sgdph.train.TrainingReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's training example, compiled as quoted, and run on the reference on a subset. */
class ReadmeTrainingExampleTest {
  @TempDir Path dir;

  /** Verbatim from README.md ("Training with evaluation and checkpoints"); compiled, not run. */
  @SuppressWarnings("unused")
  private static void readmeExample() {
    ArrayDataset train = FashionMnist.load(FashionMnist.Split.TRAIN);
    ArrayDataset test = FashionMnist.load(FashionMnist.Split.TEST);
    Normalization norm = Normalization.fit(train);
    ModelSpec spec = BuiltInModels.MLP.spec();
    try (SpecModel model = SpecBackend.find("djl").build(
        spec, DefaultInitializer.initialize(spec, new SplittableRandom(0)), DType.FLOAT32)) {
      TrainingReport report = Training.builder()
          .model(model)
          .optimizer(Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.1))))
          .trainingData(train.normalized(norm))
          .testData(test.normalized(norm))
          .epochs(3).batchSize(128).seed(0)
          .checkpoints(CheckpointFile.sink(Path.of("run.sgdph")), 0)   // after every epoch
          .listener(new TrainingListener() {
            @Override public void epochEnded(EpochResult r) {
              System.out.println(r.epoch() + ": " + r.test().accuracy());
            }
          })
          .build()
          .run();
    }
  }

  @Test
  void theReadmeQuotesTheExampleVerbatim() throws java.io.IOException {
    Path source = Path.of("src/test/java/io/github/sgdph/io/ReadmeTrainingExampleTest.java");
    java.util.List<String> src = Files.readAllLines(source);
    int begin = src.indexOf("  private static void readmeExample() {");
    int end = src.subList(begin, src.size()).indexOf("  }") + begin;
    StringBuilder block = new StringBuilder("```java\n");
    for (String line : src.subList(begin + 1, end)) {
      block.append(line.startsWith("    ") ? line.substring(4) : line).append('\n');
    }
    block.append("```");
    String readme = Files.readString(Path.of("../README.md"));
    assertTrue(readme.contains(block),
        "README.md's training example differs from " + source + "; quote it as:\n" + block);
  }

  @Test
  void theExampleTrainsOnTheReferenceBackend() {
    Path d = FashionMnist.defaultDirectory();
    Assumptions.assumeTrue(Files.isRegularFile(d.resolve("t10k-images-idx3-ubyte.gz")),
        "Fashion-MNIST is not installed at " + d + " (apt-get install dataset-fashion-mnist)");
    ArrayDataset train = FashionMnist.load(FashionMnist.Split.TEST); // smaller to read
    Normalization norm = Normalization.fit(train);
    ModelSpec spec = BuiltInModels.MLP.spec();
    try (SpecModel model = SpecBackend.find("reference").build(
        spec, DefaultInitializer.initialize(spec, new SplittableRandom(0)), DType.FLOAT64)) {
      TrainingReport report = Training.builder()
          .model(model)
          .optimizer(Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.1))))
          .trainingData(train.normalized(norm).first(1024))
          .testData(train.normalized(norm).first(3000)) // a smoke test: overlaps the training images
          .epochs(1).batchSize(128).seed(0)
          .checkpoints(CheckpointFile.sink(dir.resolve("run.sgdph")), 0)
          .build()
          .run();
      assertTrue(report.completed());
      assertTrue(report.lastTest().accuracy() > 0.6, report.toString());
      assertTrue(Files.isRegularFile(dir.resolve("run.sgdph")));
    }
  }
}
