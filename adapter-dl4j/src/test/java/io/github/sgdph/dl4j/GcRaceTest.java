package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SGN steps survive garbage collections at any moment: {@link GcRaceStress} in a child JVM with
 * the serial collector, a 1 MB young generation and a thread that allocates without pause
 * (hundreds of young collections a second), for {@value #SECONDS} s of float64 SGN steps on the
 * leak check's batch-norm MLP.
 *
 * <p>Before the adapter ran ND4J's legacy ops through {@link Nd4jArrays#exec}, a collection during
 * an op let ND4J's deallocator free the native descriptor of an operand the op was reading (a
 * temporary, or the op's own dimension array) and the JVM died with a SIGSEGV in
 * {@code sd::DataBuffer::primary()} under {@code execBroadcast}: in this test's setting after 6,
 * 12, 15, 19 and 24 s (five runs of five); in the leak check's ordinary runs about once in 25 runs
 * of 2200 float64 SGN steps. With the fix, the harness ran 600 s (3209 steps; G1, 4 MB young
 * generation) without a crash. {@link LegacyOpsRuleTest} keeps the rule in the sources.
 */
class GcRaceTest {
  private static final Logger LOG = LoggerFactory.getLogger(GcRaceTest.class);
  /** How long the child makes steps. */
  static final int SECONDS = 30;

  @Test
  void sgnStepsSurviveCollectionsDuringNd4jOps() throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-Xmn1m");
    cmd.add("-XX:ErrorFile=" + Path.of("target", "gc-race-hs_err_pid%p.log").toAbsolutePath());
    cmd.add("-cp");
    cmd.add(System.getProperty("surefire.test.class.path",
        System.getProperty("java.class.path")));
    cmd.add(GcRaceStress.class.getName());
    cmd.add("FLOAT64");
    cmd.add("1000000");
    cmd.add(Integer.toString(SECONDS));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out;
    try {
      out = p.getInputStream().readAllBytes();
      assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the child JVM did not end within 5 minutes");
    } finally {
      p.destroyForcibly();
    }
    String text = new String(out, StandardCharsets.UTF_8);
    String[] lines = text.split("\n");
    String tail = String.join("\n",
        java.util.Arrays.asList(lines).subList(Math.max(0, lines.length - 30), lines.length));
    assertTrue(p.exitValue() == 0 && text.contains("OK "),
        "the child JVM exited with " + p.exitValue() + " (134: a native crash, report in target/"
            + "gc-race-hs_err_pid*.log); its last lines:\n" + tail);
    LOG.info("garbage-collection race: {}", lines[lines.length - 1].trim());
  }
}
