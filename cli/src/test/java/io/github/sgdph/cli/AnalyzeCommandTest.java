package io.github.sgdph.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.analysis.DatasetCurvature;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.cases.json.CaseJson;
import io.github.sgdph.dense.DenseSymmetricEigen;
import io.github.sgdph.kfac.FisherType;
import io.github.sgdph.kfac.KroneckerFactors;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sgdph analyze} on a bundled case: the printed numbers against the dense Hessian and
 * Gauss-Newton matrices of the same case (built column by column from products), and the PNG.
 */
class AnalyzeCommandTest {

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(new PrintWriter(out), new PrintWriter(err), args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void analyzeABundledCase(@TempDir Path dir) throws Exception {
    Path png = dir.resolve("plots/density.png");
    long t0 = System.nanoTime();
    Run r = run("analyze", "--bundled", "mlp-tanh-sgd.json", "--plot", png.toString(),
        "--seed", "1");
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(seconds < 60, "took " + seconds + " s");
    String out = r.out();

    CaseFile c = BundledCases.load("mlp-tanh-sgd.json");
    double[][] h;
    double[][] g;
    int n;
    try (SpecModel model =
            SpecBackend.find("reference").build(c.model(), c.parameters(), DType.FLOAT64);
        DatasetCurvature data = DatasetCurvature.of(model, c.batches())) {
      n = (int) data.layout().dimension();
      h = dense(data.hessian(), data);
      g = dense(data.ggn(), data);
      assertTrue(out.contains("== mlp-tanh-sgd.json — " + n + " parameters, 2 batches (16"
          + " samples), reference float64"), out);
      assertTrue(out.contains(String.format(java.util.Locale.ROOT, "loss %.10g", data.loss())),
          out);
    }
    // top-5 of H and G: 6 significant digits printed
    double[] hTop = top(jacobi(h), 5);
    double[] gTop = top(jacobi(g), 5);
    double[] hPrinted = numbersAfter(out, "H top-5 (Lanczos, ");
    double[] gPrinted = numbersAfter(out, "G top-5 (Lanczos, ");
    for (int i = 0; i < 5; i++) {
      assertEquals(hTop[i], hPrinted[i], 1e-5 * Math.abs(hTop[0]), "H " + i + "\n" + out);
      assertEquals(gTop[i], gPrinted[i], 1e-5 * Math.abs(gTop[0]), "G " + i + "\n" + out);
    }
    // the smallest eigenvalue
    double[] all = jacobi(h);
    assertEquals(all[0], numbersAfter(out, "H smallest eigenvalue (Lanczos, ")[0],
        1e-5 * Math.abs(all[0]));
    // Hutchinson's trace within 4 of its printed standard errors of the exact trace
    double trace = 0;
    for (int i = 0; i < n; i++) {
      trace += h[i][i];
    }
    Matcher m = Pattern.compile("trace of H: Hutchinson (\\S+) ± (\\S+) \\(100 samples\\)")
        .matcher(out);
    assertTrue(m.find(), out);
    assertEquals(trace, Double.parseDouble(m.group(1)), 4 * Double.parseDouble(m.group(2)));
    // Hutch++ carries its standard error too
    m = Pattern.compile("Hutch\\+\\+ (\\S+) ± (\\S+) \\(100 products\\)").matcher(out);
    assertTrue(m.find(), out);
    assertTrue(Double.parseDouble(m.group(2)) > 0, out);
    assertEquals(trace, Double.parseDouble(m.group(1)), 4 * Double.parseDouble(m.group(2)));
    // the density's first two moments with standard errors over its 4 probe vectors: the mean
    // estimates tr(H)/n, the second moment tr(H²)/n
    m = Pattern.compile("mean (\\S+) ± (\\S+), second moment (\\S+) ± (\\S+) \\(standard"
        + " errors over the 4 probe vectors").matcher(out);
    assertTrue(m.find(), out);
    double frobH = 0;
    for (double[] row : h) {
      for (double x : row) {
        frobH += x * x;
      }
    }
    assertTrue(Double.parseDouble(m.group(2)) > 0 && Double.parseDouble(m.group(4)) > 0, out);
    assertEquals(trace / n, Double.parseDouble(m.group(1)), 4 * Double.parseDouble(m.group(2)));
    assertEquals(frobH / n, Double.parseDouble(m.group(3)), 4 * Double.parseDouble(m.group(4)));
    // alignment with M: an overlap in [0, 1] and 5 principal angles in [0°, 90°]
    m = Pattern.compile("overlap ‖U_Hᵀ U_M‖_F²/k = (\\S+), principal angles \\(deg\\) "
        + "((?:\\S+ ){4}\\S+), λ1\\(H\\)/λ1\\(M\\) = (\\S+)").matcher(out);
    assertTrue(m.find(), out);
    double overlap = Double.parseDouble(m.group(1));
    assertTrue(overlap >= 0 && overlap <= 1, out);
    for (String a : m.group(2).split(" ")) {
      double deg = Double.parseDouble(a);
      assertTrue(deg >= 0 && deg <= 90, out);
    }
    assertEquals(hTop[0] / Double.parseDouble(m.group(3)),
        numbersAfter(out, "M top-5: ")[0], 1e-4 * hTop[0] / Double.parseDouble(m.group(3)));
    // the premise check of 0.bias (dense block, entries 160..175) from the dense Hessian
    int off = 10 * 16;
    double frob = 0;
    double diag = 0;
    for (int i = off; i < off + 16; i++) {
      for (int j = off; j < off + 16; j++) {
        frob += h[i][j] * h[i][j];
      }
      diag += h[i][i] * h[i][i];
    }
    m = Pattern.compile("  0\\.bias +16 +(\\S+) +(\\S+) +(\\S+)").matcher(out);
    assertTrue(m.find(), out);
    assertEquals((frob - diag) / frob, Double.parseDouble(m.group(1)), 2e-6, out);
    // the plot: a PNG that decodes
    assertTrue(out.contains("plot written to " + png), out);
    assertTrue(Files.size(png) > 1000);
    BufferedImage img = ImageIO.read(png.toFile());
    assertNotNull(img, "not a decodable image");
    assertEquals(900, img.getWidth());
    assertEquals(560, img.getHeight());
  }

  @Test
  void analyzeACaseFileAfterSomeStepsAndComparePowerIteration(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("linear.json");
    CaseJson.writeCase(BundledCases.load("linear-mse-probe.json"), file);
    Path png = dir.resolve("linear.png");
    Run r = run("analyze", file.toString(), "-k", "3", "--after-steps", "2", "--plot",
        png.toString(), "--compare-power", "--repeats", "1", "--density-runs", "1",
        "--per-layer");
    assertEquals(0, r.code(), r.out() + r.err());
    // the bias block of a linear model with MSE is (2/k) I = (2/3) I
    assertTrue(r.out().matches("(?s).*\\n  0\\.bias +3  0\\.666667\\R.*"), r.out());
    assertTrue(r.out().contains("after 2 sgd steps"), r.out());
    assertTrue(r.out().contains("Lanczos  "), r.out());
    assertTrue(r.out().contains("power iteration + deflation"), r.out());
    // a bias feeding MSE directly: the premise holds exactly
    assertTrue(r.out().matches("(?s).*  0\\.bias +3 +0\\.000000 +0\\.000000 +0\\.000000.*"),
        r.out());
    assertNotNull(ImageIO.read(png.toFile()));
    // 15 parameters, 100 trace samples: the trace is exact; one density run has no error bar
    double trace;
    CaseFile c = BundledCases.load("linear-mse-probe.json");
    try (SpecModel model =
            SpecBackend.find("reference").build(c.model(), c.parameters(), DType.FLOAT64)) {
      Optimizer sgd = Optimizers.create(c.optimizer());
      for (int t = 0; t < 2; t++) {
        sgd.step(model.objective(c.batchForStep(t)));
      }
      try (DatasetCurvature data = DatasetCurvature.of(model, c.batches())) {
        double[][] h = dense(data.hessian(), data);
        trace = 0;
        for (int i = 0; i < h.length; i++) {
          trace += h[i][i];
        }
      }
    }
    Matcher m = Pattern.compile("trace of H: (\\S+) exact \\(15 products with the basis vectors:"
        + " --trace-samples 100 >= 15 parameters\\)").matcher(r.out());
    assertTrue(m.find(), r.out());
    assertEquals(trace, Double.parseDouble(m.group(1)), 1e-5 * Math.abs(trace));
    assertTrue(r.out().contains("second moment "), r.out());
    assertTrue(r.out().matches("(?s).*mean \\S+ ± n/a, second moment \\S+ ± n/a \\(standard"
        + " errors over the 1 probe vector; trace/n by Hutchinson: \\S+ exact\\).*"), r.out());
  }

  /**
   * {@code --matrix fisher,ggn-diagonal}: the exact GGN diagonal's trace is the dense G's trace
   * (6 significant digits printed, so 1e-5 relative); F_MC's top-k is printed and in the JSON
   * (its agreement with G is the analysis tests' job, within sampling error).
   */
  @Test
  void analyzeTheFisherAndTheGgnDiagonal(@TempDir Path dir) throws Exception {
    Path json = dir.resolve("a.json");
    Run r = run("analyze", "--bundled", "mlp-tanh-sgd.json", "-k", "3", "--seed", "2",
        "--matrix", "fisher,ggn-diagonal", "--fisher-draws", "4", "--json", json.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    CaseFile c = BundledCases.load("mlp-tanh-sgd.json");
    double trace = 0;
    try (SpecModel model =
            SpecBackend.find("reference").build(c.model(), c.parameters(), DType.FLOAT64);
        DatasetCurvature data = DatasetCurvature.of(model, c.batches())) {
      double[][] g = dense(data.ggn(), data);
      for (int i = 0; i < g.length; i++) {
        trace += g[i][i];
      }
    }
    Matcher m = Pattern.compile("diag G \\(exact, from the loss Hessian's factors\\): trace"
        + " (\\S+);").matcher(r.out());
    assertTrue(m.find(), r.out());
    assertEquals(trace, Double.parseDouble(m.group(1)), 1e-5 * trace);
    double[] f = numbersAfter(r.out(), "F_MC top-3 (Lanczos, 4 label draws per sample, ");
    assertEquals(3, f.length);
    assertTrue(f[0] >= f[1] && f[1] >= f[2] && f[2] >= 0, Arrays.toString(f));
    String j = Files.readString(json);
    assertTrue(j.contains("\"fisher_mc\"") && j.contains("\"ggn_diagonal\""), j);

    Run bad = run("analyze", "--bundled", "linear-mse-probe.json", "--matrix", "kfca");
    assertEquals(Main.EXIT_USAGE, bad.code());
    assertTrue(bad.err().contains("--matrix"), bad.err());
  }

  /**
   * {@code --matrix kfac,ekfac}: the printed exact traces and Lanczos top eigenvalues are those of
   * the dense operators built from the same Monte-Carlo factors (the command's seed stream 11);
   * 6 significant digits printed, so 1e-5 relative.
   */
  @Test
  void analyzeKfacAndEkfac(@TempDir Path dir) throws Exception {
    Path json = dir.resolve("k.json");
    Run r = run("analyze", "--bundled", "mlp-tanh-sgd.json", "-k", "2", "--seed", "3",
        "--matrix", "kfac,ekfac", "--fisher-draws", "2", "--json", json.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    CaseFile c = BundledCases.load("mlp-tanh-sgd.json");
    try (SpecModel model =
            SpecBackend.find("reference").build(c.model(), c.parameters(), DType.FLOAT64)) {
      KroneckerFactors kf = KroneckerFactors.compute(model, c.batches(), FisherType.MONTE_CARLO,
          2, new SplittableRandom(3 * 1_000_003L + 11).nextLong(), true);
      for (String which : List.of("KFAC", "EKFAC")) {
        LinearOperator op = which.equals("KFAC") ? kf.kfac() : kf.ekfac();
        double[][] d = DenseSymmetricEigen.materialize(op, model.algebra());
        double trace = 0;
        for (int i = 0; i < d.length; i++) {
          trace += d[i][i];
        }
        double top = DenseSymmetricEigen.of(d).largest(1)[0];
        Matcher m = Pattern.compile("(?m)^" + which + " trace (\\S+) exact").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertEquals(trace, Double.parseDouble(m.group(1)), 1e-5 * trace, which);
        double[] t = numbersAfter(r.out(), which + " top-2 (Monte-Carlo Fisher, 2 draws per"
            + " sample; 2 factored layers; Lanczos, ");
        assertEquals(2, t.length);
        assertEquals(top, t[0], 1e-5 * top, which);
      }
    }
    String j = Files.readString(json);
    assertTrue(j.contains("\"kfac\"") && j.contains("\"ekfac\""), j);
  }

  /**
   * {@code --matrix kfac,ekfac --backend dl4j}: DL4J has the Kronecker-factor SPI, and on a CNN
   * case (convolutions, max pooling, dense layers) its float64 KFAC and EKFAC traces and Lanczos
   * top eigenvalues are the reference backend's (the same Monte-Carlo draws, the command's seed
   * stream 11): 6 significant digits printed, so 1e-5 relative.
   */
  @Test
  void analyzeKfacOnDl4jAsOnTheReference() {
    String[] args = {"analyze", "--bundled", "cnn-relu-maxpool-sgd.json", "-k", "2", "--seed",
        "5", "--matrix", "kfac,ekfac", "--fisher-draws", "2", "--dtype", "float64", "--backend"};
    Run ref = run(concat(args, "reference"));
    Run dl4j = run(concat(args, "dl4j"));
    assertEquals(0, ref.code(), ref.out() + ref.err());
    assertEquals(0, dl4j.code(), dl4j.out() + dl4j.err());
    for (String which : List.of("KFAC", "EKFAC")) {
      Pattern trace = Pattern.compile("(?m)^" + which + " trace (\\S+) exact");
      Matcher a = trace.matcher(ref.out());
      Matcher b = trace.matcher(dl4j.out());
      assertTrue(a.find() && b.find(), ref.out() + dl4j.out());
      double t = Double.parseDouble(a.group(1));
      assertEquals(t, Double.parseDouble(b.group(1)), 1e-5 * t, which + " trace");
      Pattern top = Pattern.compile("(?m)^" + which + " top-2 \\(.*?\\): (.*)$");
      Matcher c = top.matcher(ref.out());
      Matcher d = top.matcher(dl4j.out());
      assertTrue(c.find() && d.find(), ref.out() + dl4j.out());
      double[] want = Arrays.stream(c.group(1).trim().split(" +"))
          .mapToDouble(Double::parseDouble).toArray();
      double[] got = Arrays.stream(d.group(1).trim().split(" +"))
          .mapToDouble(Double::parseDouble).toArray();
      assertEquals(2, want.length, c.group(1));
      assertEquals(2, got.length, d.group(1));
      for (int i = 0; i < 2; i++) {
        assertEquals(want[i], got[i], 1e-5 * want[0], which + " top " + i);
      }
    }
  }

  private static String[] concat(String[] a, String last) {
    String[] out = Arrays.copyOf(a, a.length + 1);
    out[a.length] = last;
    return out;
  }

  @Test
  void badOptionsExitWithTwoAndNameTheOption() {
    Run r = run("analyze", "--bundled", "linear-mse-probe.json", "-k", "0");
    assertEquals(Main.EXIT_USAGE, r.code());
    assertTrue(r.err().contains("--top"), r.err());
    r = run("analyze", "--bundled", "linear-mse-probe.json", "--trace-samples", "0");
    assertEquals(Main.EXIT_USAGE, r.code());
    assertTrue(r.err().contains("samples"), r.err());
    r = run("analyze");
    assertEquals(Main.EXIT_USAGE, r.code());
    assertTrue(r.err().contains("case file or --bundled"), r.err());
  }

  /** The dense matrix of an operator from products with unit vectors. */
  static double[][] dense(LinearOperator op, DatasetCurvature data) {
    return io.github.sgdph.dense.DenseSymmetricEigen.materialize(op, data.algebra());
  }

  /** The eigenvalues, ascending, of a symmetric matrix by cyclic Jacobi rotations. */
  static double[] jacobi(double[][] a0) {
    return io.github.sgdph.dense.DenseSymmetricEigen.of(a0).values();
  }

  static double[] top(double[] ascending, int k) {
    double[] out = new double[k];
    for (int i = 0; i < k; i++) {
      out[i] = ascending[ascending.length - 1 - i];
    }
    return out;
  }

  /** The numbers after "prefix ... products): " on the line starting with prefix. */
  static double[] numbersAfter(String out, String prefix) {
    for (String line : out.split("\\R")) {
      if (line.startsWith(prefix)) {
        String rest = line.substring(line.indexOf(':', prefix.length() - 2) + 1).trim();
        return Arrays.stream(rest.split(" +")).mapToDouble(Double::parseDouble).toArray();
      }
    }
    throw new AssertionError("no line starting with '" + prefix + "' in\n" + out);
  }
}
