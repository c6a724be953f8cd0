package io.github.sgdph.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.sgdph.io.FashionMnist;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The entry point trains SGN on a Fashion-MNIST subset partitioned over local[2]. */
class SparkTrainTest {
  private static final Logger LOG = LoggerFactory.getLogger(SparkTrainTest.class);

  @Test
  void required_sparkTrainTrainsSgnOnFashionMnistPartitionedOverTwoWorkers() {
    assertTrainsTo(2, 0.6, "SparkTrain:",
        "--partitions", "2", "--model", "mlp", "--optimizer", "sgn",
        "--hp", "max_cg_iters=3", "--hp", "trust_region=true", "--epochs", "2", "--batch", "500",
        "--limit", "2000", "--test-limit", "1000");
  }

  @Test
  void required_badOptionsExitWithTwo() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
    assertEquals(2, SparkTrain.run(new String[] {"--partitions", "0"}, SparkTests.context(),
        System.out, e));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("--partitions: must be >= 1"));
    assertEquals(2, SparkTrain.run(new String[] {"--nope", "1"}, SparkTests.context(),
        System.out, e));
    assertEquals(2, SparkTrain.run(new String[] {"--batch-norm-statistics", "global"},
        SparkTests.context(), System.out, e));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains(
        "--batch-norm-statistics: per-partition or synchronized, not 'global'"));
  }

  /** The built-in mlp has a train-mode batch norm: synchronised statistics over 3 partitions. */
  @Test
  void required_sparkTrainTrainsWithSynchronizedBatchNormStatistics() {
    assertTrainsTo(1, 0.4, "SparkTrain, synchronized batch norm:",
        "--partitions", "3", "--model", "mlp", "--optimizer", "sgn",
        "--hp", "max_cg_iters=3", "--hp", "trust_region=true", "--epochs", "1", "--batch", "300",
        "--limit", "900", "--test-limit", "500", "--batch-norm-statistics", "synchronized");
  }

  /**
   * Runs {@link SparkTrain} with {@code args} on Fashion-MNIST (skipping the test if it is not
   * installed), logs its output under {@code title} and asserts it exits with 0 and reports a
   * test accuracy above {@code minAccuracy} after epoch {@code epoch}.
   */
  private static void assertTrainsTo(int epoch, double minAccuracy, String title, String... args) {
    assumeTrue(Files.isRegularFile(FashionMnist.defaultDirectory()
            .resolve("train-images-idx3-ubyte.gz")),
        "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = SparkTrain.run(args, SparkTests.context(),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    String text = out.toString(StandardCharsets.UTF_8);
    LOG.info("{}\n{}{}", title, text, err.toString(StandardCharsets.UTF_8));
    assertEquals(0, code, text + err);
    Matcher m = Pattern.compile("epoch " + epoch + ": .*test accuracy ([0-9.]+)").matcher(text);
    assertTrue(m.find(), text);
    assertTrue(Double.parseDouble(m.group(1)) > minAccuracy, text);
  }
}
