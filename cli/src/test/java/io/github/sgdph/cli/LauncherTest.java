package io.github.sgdph.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The {@code ./sgdph} launcher as a user runs it (a JVM of its own, every adapter and native
 * library on the classpath): quiet by default on every backend — none of DJL's CUDA warning,
 * TensorFlow's absl and oneDNN lines, JavaCPP's version-mismatch warning — and the real exit
 * codes of {@code System.exit}.
 */
class LauncherTest {
  private static final Path LAUNCHER = Path.of("../sgdph").toAbsolutePath().normalize();
  private static final Path CLASSES = Path.of("target/classes").toAbsolutePath();

  record Result(int code, String out, String err) {}

  @BeforeAll
  static void built() {
    Assumptions.assumeTrue(Files.isRegularFile(Path.of("target/classpath.txt")),
        "target/classpath.txt is written in process-test-classes; run through Maven");
  }

  static Result launch(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("bash", LAUNCHER.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("SGDPH_JAR", CLASSES.toString());
    pb.environment().remove("TF_CPP_MIN_LOG_LEVEL"); // the launcher's own default decides
    Path out = Files.createTempFile("sgdph-out", ".txt");
    Path err = Files.createTempFile("sgdph-err", ".txt");
    try {
      pb.redirectOutput(out.toFile()).redirectError(err.toFile());
      Process p = pb.start();
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + cmd);
      Thread.sleep(200); // the stderr filter may still be flushing
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  @Test
  void quietByDefaultOnEveryBackend() throws Exception {
    // one JVM loading every framework: backends, then a replay on each native backend
    Result r = launch("backends");
    assertEquals(0, r.code(), r.out() + r.err());
    assertEquals("", r.err(), "stderr of sgdph backends");
    for (String b : new String[] {"djl", "tensorflow", "dl4j"}) {
      r = launch("replay", "--bundled=mlp-tanh-sgd.json", "--backend", b, "--dtype", "float32",
          "-q");
      assertEquals(0, r.code(), b + ": " + r.out() + r.err());
      assertEquals("", r.err(), "stderr of replay on " + b);
    }
  }

  @Test
  void errorsExitWithTwoAndOneLine() throws Exception {
    Result r = launch("replay", "--bogus");
    assertEquals(Main.EXIT_USAGE, r.code());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().startsWith("error: Unknown option: '--bogus'"), r.err());
    r = launch("compare", "--bundled=mlp-tanh-sgd.json", "--backends", "reference,tensorflow",
        "--dtypes", "float64", "--tolerance", "0");
    assertEquals(Main.EXIT_DEVIATION, r.code(), r.out() + r.err());
    assertEquals("", r.err());
  }
}
