package io.github.sgdph.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.sgdph.io.CheckpointFile;
import io.github.sgdph.io.FashionMnist;
import io.github.sgdph.train.TrainingState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code sgdph train --master local[2]}: the CLI's {@code Main} with this module on its classpath
 * (as {@code ./sgdph} runs it), in a JVM of its own (one Spark context per JVM; this test JVM's
 * is {@link SparkTests#context()}). Trains SGN on a Fashion-MNIST subset partitioned over two
 * executor threads, writes metrics.csv and checkpoints as {@code train} does on one machine, and
 * resumes from them.
 */
class TrainMasterTest {
  private static final Logger LOG = LoggerFactory.getLogger(TrainMasterTest.class);

  record Run(int code, String output) {}

  static Run sgdph(Path workDir, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx3g"); // Fashion-MNIST is read whole (60000 images) before --limit
    cmd.addAll(Arrays.asList(System.getProperty("sgdph.spark.jvmFlags", "").split(" +")));
    cmd.add("-Dai.djl.offline=true");
    cmd.add("-cp");
    cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
    cmd.add("io.github.sgdph.cli.Main");
    cmd.addAll(Arrays.asList(args));
    cmd.removeIf(String::isEmpty);
    Path log = workDir.resolve("output-" + System.nanoTime() + ".txt");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .start();
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("sgdph " + String.join(" ", args) + ": timed out");
    }
    String out = Files.readString(log, StandardCharsets.UTF_8);
    LOG.info("sgdph {}:\n{}", String.join(" ", args), out);
    return new Run(p.exitValue(), out);
  }

  private static List<String> metricsRows(Path out) throws IOException {
    return Files.readAllLines(out.resolve("metrics.csv"), StandardCharsets.UTF_8);
  }

  @Test
  void required_trainWithMasterLocal2TrainsCheckpointsAndResumes(@TempDir Path dir)
      throws Exception {
    assumeTrue(Files.isRegularFile(FashionMnist.defaultDirectory()
            .resolve("train-images-idx3-ubyte.gz")),
        "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    Path out = dir.resolve("run");
    String[] common = {"train", "--master", "local[2]", "--partitions", "2", "--model", "mlp",
        "--optimizer", "sgn", "--hp", "max_cg_iters=3", "--hp", "trust_region=true",
        "--batch", "250", "--limit", "1000", "--test-limit", "500", "--backend", "reference",
        "--dtype", "float64", "--seed", "1", "--checkpoint-every", "2"};

    Run first = sgdph(dir, concat(common, "--epochs", "1", "--out", out.toString()));
    assertEquals(0, first.code(), first.output());
    assertTrue(first.output().contains("on spark local[2], 2 partitions"), first.output());
    assertTrue(first.output().contains("communication: "), first.output());
    assertEquals(2, metricsRows(out).size(), metricsRows(out).toString());
    TrainingState saved = CheckpointFile.read(out.resolve("checkpoint.sgdph"));
    assertEquals(1, saved.epoch());
    assertEquals(4, saved.step());
    assertEquals(1000, saved.trainingSize());
    assertEquals("reference", saved.backend());

    Run resumed = sgdph(dir, concat(common, "--epochs", "2", "--resume", out.toString()));
    assertEquals(0, resumed.code(), resumed.output());
    assertTrue(resumed.output().contains("resuming at epoch 2 after step 4"), resumed.output());
    List<String> rows = metricsRows(out);
    assertEquals(3, rows.size(), rows.toString());
    assertEquals(8, CheckpointFile.read(out.resolve("checkpoint.sgdph")).step());
    Matcher m = Pattern.compile("final: test loss ([0-9.]+), test accuracy ([0-9.]+)")
        .matcher(resumed.output());
    assertTrue(m.find(), resumed.output());
    // 8 SGN steps on 1000 images: far above chance (0.1); the single-machine run reaches ~0.75
    assertTrue(Double.parseDouble(m.group(2)) > 0.6, resumed.output());
  }

  private static String[] concat(String[] a, String... b) {
    String[] r = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
