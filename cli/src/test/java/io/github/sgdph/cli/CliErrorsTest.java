package io.github.sgdph.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.Trajectory;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.cases.json.CaseJson;
import io.github.sgdph.tensor.DType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every user error of every command exits with 2 and one line naming the thing and the
 * problem, without a stack trace unless {@code --verbose}.
 */
class CliErrorsTest {
  @TempDir Path dir;

  /** Runs the tool and checks exit code 2, one line {@code error: ...} containing each part. */
  private static void usageError(String[] args, String... parts) {
    CliTest.Run r = CliTest.run(args);
    String what = String.join(" ", args) + "\nout: " + r.out() + "\nerr: " + r.err();
    assertEquals(Main.EXIT_USAGE, r.code(), what);
    String err = r.err().strip();
    assertEquals(1, err.lines().count(), "one line: " + what);
    assertTrue(err.startsWith("error: "), what);
    assertTrue(!err.contains("\tat ") && !err.contains("Exception"), "no stack trace: " + what);
    for (String p : parts) {
      assertTrue(err.contains(p), "'" + p + "' in: " + what);
    }
  }

  private static String[] a(String... args) {
    return args;
  }

  @Test
  void unknownOptionsAndBadValuesNameTheOption() {
    usageError(a("replay", "--bogus"), "--bogus", "sgdph replay --help");
    usageError(a("compare", "--bundled", "--frobnicate"), "--frobnicate");
    usageError(a("analyze", "--bundled=linear-mse-probe.json", "--top", "x"), "--top", "'x'");
    usageError(a("backends", "--all"), "--all");
    usageError(a("train", "--epochs", "many"), "--epochs");
    usageError(a("replay", "--bundled=mlp-tanh-sgd.json", "--dtype", "float16"), "--dtype",
        "float16");
    usageError(a("compare", "--bundled=mlp-tanh-sgd.json", "--dtypes", "float64,half"),
        "--dtypes", "half");
    usageError(a("replay", "--bundled=mlp-tanh-sgd.json", "--tolerance", "-1"), "--tolerance");
    usageError(a("replay"), "give a case file or --bundled");
    usageError(a("analyze", "--bundled"), "--bundled", "one case");
  }

  @Test
  void missingAndInvalidFilesNameTheFile() throws Exception {
    Path missing = dir.resolve("nope.json");
    usageError(a("replay", missing.toString()), missing + ": no such file");
    usageError(a("analyze", missing.toString()), missing + ": no such file");
    usageError(a("compare", missing.toString()), missing + ": no such file");
    Path broken = dir.resolve("broken.json");
    Files.writeString(broken, "{\"format\": \"sgdph-case/1\",", StandardCharsets.UTF_8);
    usageError(a("replay", broken.toString()), broken.toString());
    Path wrong = dir.resolve("wrong.json");
    Files.writeString(wrong, Files.readString(Path.of("../cases/mlp-tanh-sgd.json"))
        .replaceFirst("\"steps\"", "\"stepz\""), StandardCharsets.UTF_8);
    usageError(a("replay", wrong.toString()), wrong.toString(), "stepz");
    usageError(a("replay", "--bundled=mlp-tanh-sgd.json", "--expected", missing.toString()),
        missing + ": no such file");
    usageError(a("replay", "--bundled=nope.json"), "--bundled", "nope.json",
        "mlp-tanh-sgd.json");
    usageError(a("train", "--model", missing.toString(), "--out", dir.toString()), "--model",
        missing.toString());
  }

  @Test
  void anExpectationThatDoesNotFitTheCaseIsNamed() throws Exception {
    Path t = dir.resolve("other.trajectory.json");
    Trajectory e = BundledCases.load("mlp-tanh-sgn.json").expected(); // 6 steps, not 10
    CaseJson.writeTrajectory(new Trajectory("reference", DType.FLOAT64, e.loss(), e.parameters(),
        e.probe()), t);
    usageError(a("replay", "--bundled=mlp-tanh-sgd.json", "--expected", t.toString()),
        t.toString(), "mlp-tanh-sgd.json", "expected.loss: has 6 values but steps is 10");
    usageError(a("replay", "--bundled", "--expected", t.toString()), "--expected", "one case");
  }

  @Test
  void unknownBackendsAndOptimizersAreNamed() {
    usageError(a("replay", "--bundled=mlp-tanh-sgd.json", "--backend", "nope"), "--backend",
        "nope", "reference");
    usageError(a("analyze", "--bundled=mlp-tanh-sgd.json", "--backend", "nope"), "--backend");
    usageError(a("compare", "--bundled=mlp-tanh-sgd.json", "--backends", "reference,nope"),
        "--backends", "nope");
    usageError(a("train", "--backend", "nope", "--out", "x"), "--backend", "nope");
    usageError(a("train", "--optimizer", "nope", "--out", "x"), "optimizer", "nope");
    usageError(a("replay", "--bundled=mlp-tanh-sgd.json", "--dtype", "float32"), "--dtype",
        "reference", "float64");
  }

  @Test
  void aNativeLibraryThatDoesNotLoadIsAUsageErrorNamingTheBackend() {
    for (String cmd : new String[] {"replay", "analyze"}) {
      usageError(a(cmd, "--bundled=linear-mse-probe.json", "--backend", BrokenBackend.NAME),
          "--backend", BrokenBackend.NAME, "native library does not load", BrokenBackend.WHY);
    }
    usageError(a("train", "--backend", BrokenBackend.NAME, "--out", "x"),
        "native library does not load");
  }

  @Test
  void trainOnAClusterWithoutSparkOnTheClasspathIsNamed() {
    // the CLI's own classpath has no sgdph-spark (./sgdph adds it for --master; the run itself
    // is sgdph-spark's TrainMasterTest)
    usageError(a("train", "--master", "local[2]", "--out", dir.toString()), "--master",
        "sgdph-spark");
    usageError(a("train", "--partitions", "2", "--out", dir.toString()), "--partitions",
        "only with --master");
    usageError(a("train", "--master", "local[2]", "--partitions", "-1", "--out",
        dir.toString()), "--partitions", ">= 0");
    usageError(a("train", "--batch-norm-statistics", "synchronized", "--out", dir.toString()),
        "--batch-norm-statistics", "only with --master");
    usageError(a("train", "--master", "local[2]", "--batch-norm-statistics", "global", "--out",
        dir.toString()), "--batch-norm-statistics", "per-partition or synchronized");
  }

  @Test
  void verboseAddsTheStackTrace() {
    CliTest.Run r = CliTest.run("replay", "--bundled=linear-mse-probe.json", "--backend",
        BrokenBackend.NAME, "--verbose");
    assertEquals(Main.EXIT_USAGE, r.code());
    assertTrue(r.err().startsWith("error: --backend: backend 'broken' is unavailable"), r.err());
    assertTrue(r.err().contains("\tat io.github.sgdph.cli."), r.err());
  }

  @Test
  void aDeviationIsANumericalFailureNotAUsageError() throws Exception {
    Path t = dir.resolve("t.json");
    CliTest.Run r = CliTest.run("replay", "--bundled=mlp-tanh-sgd.json", "--out", t.toString());
    assertEquals(0, r.code(), r.err());
    Trajectory e = CaseJson.readTrajectory(t);
    double[] loss = e.loss();
    loss[0] *= 1 + 1e-6;
    Path tampered = dir.resolve("tampered.json");
    CaseJson.writeTrajectory(
        new Trajectory(e.backend(), e.dtype(), loss, e.parameters(), e.probe()), tampered);
    r = CliTest.run("replay", "--bundled=mlp-tanh-sgd.json", "--expected", tampered.toString());
    assertEquals(Main.EXIT_DEVIATION, r.code(), r.out() + r.err());
    assertTrue(r.out().contains("FAILED from step 0"), r.out());
  }
}
