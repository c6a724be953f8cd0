package io.github.sgdph.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code analyze --matrix kfac,ekfac} and {@code train --optimizer kfac} on the native backends,
 * which implement the Kronecker-factor SPI for spec models (DJL and TensorFlow).
 */
class KroneckerOnNativeBackendsTest {

  private static String[] analyze(String backend) {
    return new String[] {"analyze", "--bundled", "cnn-relu-maxpool-sgd.json", "--backend",
        backend, "--dtype", "float64", "-k", "2", "--seed", "3", "--matrix", "kfac,ekfac",
        "--fisher-draws", "2"};
  }

  /**
   * On DJL in float64 the printed KFAC and EKFAC traces and top eigenvalues of a CNN (a
   * convolution, max pooling and a dense layer) are the reference's: the same Monte-Carlo draws (the seed
   * stream and the predictive distribution agree to rounding) and factors equal to 1e-12, printed
   * to 6 significant digits, so 1e-5 relative.
   */
  @Test
  void analyzeKfacOnDjlPrintsTheReferencesNumbers() {
    AnalyzeCommandTest.Run d = AnalyzeCommandTest.run(analyze("djl"));
    assertEquals(0, d.code(), d.out() + d.err());
    AnalyzeCommandTest.Run r = AnalyzeCommandTest.run(analyze("reference"));
    assertEquals(0, r.code(), r.out() + r.err());
    for (String which : List.of("KFAC", "EKFAC")) {
      double e = trace(r.out(), which);
      assertEquals(e, trace(d.out(), which), 1e-5 * Math.abs(e), which + " trace\n" + d.out());
      String top = which + " top-2 (Monte-Carlo Fisher, 2 draws per sample; 2 factored layers;"
          + " Lanczos, ";
      double[] a = AnalyzeCommandTest.numbersAfter(d.out(), top);
      double[] x = AnalyzeCommandTest.numbersAfter(r.out(), top);
      assertEquals(2, a.length, d.out());
      for (int i = 0; i < 2; i++) {
        assertEquals(x[i], a[i], 1e-5 * Math.abs(x[0]), which + " top " + i + "\n" + d.out());
      }
    }
  }

  private static double trace(String out, String which) {
    Matcher m = Pattern.compile("(?m)^" + which + " trace (\\S+) exact").matcher(out);
    assertTrue(m.find(), out);
    return Double.parseDouble(m.group(1));
  }

  /**
   * {@code train --optimizer kfac} (Monte-Carlo Fisher: TensorFlow's spec objectives give the
   * loss and labels) on TensorFlow: 20 steps of the built-in MLP on 640 Fashion-MNIST images lower
   * the training loss.
   */
  @Test
  void trainWithKfacOnTensorFlow(@TempDir Path dir) throws Exception {
    Path d = io.github.sgdph.io.FashionMnist.defaultDirectory();
    Assumptions.assumeTrue(Files.isRegularFile(d.resolve("t10k-images-idx3-ubyte.gz")),
        "Fashion-MNIST is not installed at " + d + " (apt-get install dataset-fashion-mnist)");
    Path out = dir.resolve("run");
    CliTest.Run r = CliTest.run("train", "--model", "mlp", "--optimizer", "kfac", "--backend",
        "tensorflow", "--hp", "lr=0.01", "--limit", "640", "--test-limit", "200", "--batch", "64",
        "--epochs", "2", "--seed", "3", "--out", out.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    List<String> csv = Files.readAllLines(out.resolve("metrics.csv"));
    assertEquals(3, csv.size(), csv.toString());
    double first = Double.parseDouble(csv.get(1).split(",")[2]);
    double second = Double.parseDouble(csv.get(2).split(",")[2]);
    assertTrue(second < first, "training loss " + first + " then " + second);
  }
}
