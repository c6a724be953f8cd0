package io.github.sgdph.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.dense.DenseSymmetricEigen;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code sgdph analyze} on a model with train-mode batch norm (issue 12): the second moment
 * {@code M = (1/N) Σ g_i g_iᵀ} is built from the per-term gradients of each batch's loss in the
 * whole batch's forward pass, so its top eigenvalues are those of the dense matrix from the
 * reference backend's per-term gradients (themselves checked against finite differences of each
 * term in the reference's tests), and every backend prints the same {@code M top-5:} line.
 */
class AnalyzeBatchNormTest {
  private static final String CASE = "mlp-batchnorm-sgdph.json";

  private static String mLine(String out) {
    for (String line : out.split("\\R")) {
      if (line.startsWith("M top-")) {
        return line;
      }
    }
    throw new AssertionError("no 'M top-' line in\n" + out);
  }

  private static AnalyzeCommandTest.Run analyze(Path dir, String backend, String... extra) {
    String[] base = {"analyze", "--bundled", CASE, "--dtype", "float64", "--backend", backend,
        "--plot", dir.resolve(backend + ".png").toString(), "--trace-samples", "4",
        "--density-steps", "10", "--density-runs", "1"};
    String[] args = new String[base.length + extra.length];
    System.arraycopy(base, 0, args, 0, base.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    return AnalyzeCommandTest.run(args);
  }

  /** The reference's M top-5 line against the dense M of its per-term gradients. */
  @Test
  void referenceMomentIsThatOfThePerTermGradients(@TempDir Path dir) {
    AnalyzeCommandTest.Run r = analyze(dir, "reference");
    assertEquals(0, r.code(), r.out() + r.err());
    double[] printed = AnalyzeCommandTest.numbersAfter(r.out(), "M top-");

    CaseFile c = BundledCases.load(CASE);
    try (SpecModel m = SpecBackend.find("reference").build(c.model(), c.parameters(),
        DType.FLOAT64)) {
      int dim = (int) m.layout().dimension();
      double[][] dense = new double[dim][dim];
      int samples = 0;
      for (ArrayBatch b : c.batches()) {
        List<ParameterVector> per = m.objective(b).perTermGradients();
        for (ParameterVector g : per) {
          double[] v = g.toDoubleArray();
          for (int i = 0; i < dim; i++) {
            for (int j = 0; j < dim; j++) {
              dense[i][j] += v[i] * v[j];
            }
          }
          g.close();
          samples++;
        }
      }
      for (double[] row : dense) {
        for (int j = 0; j < dim; j++) {
          row[j] /= samples;
        }
      }
      double[] top = AnalyzeCommandTest.top(DenseSymmetricEigen.of(dense).values(),
          printed.length);
      for (int i = 0; i < top.length; i++) {
        // printed with 6 significant digits
        assertEquals(top[i], printed[i], 1e-5 * Math.abs(top[0]), "M eigenvalue " + i);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"djl", "tensorflow", "dl4j"})
  void everyBackendPrintsTheReferencesMLine(String backend, @TempDir Path dir) {
    AnalyzeCommandTest.Run ref = analyze(dir, "reference");
    AnalyzeCommandTest.Run r = analyze(dir, backend);
    assertEquals(0, r.code(), r.out() + r.err());
    assertEquals(mLine(ref.out()), mLine(r.out()), backend);
  }

  /** The one-sample-batch quantity is available, and labelled, but never the default. */
  @Test
  void isolatedSampleGradientsAreLabelled(@TempDir Path dir) {
    AnalyzeCommandTest.Run iso = analyze(dir, "reference", "--sample-gradients", "isolated");
    assertEquals(0, iso.code(), iso.out() + iso.err());
    String line = mLine(iso.out());
    assertTrue(line.contains("each sample alone"), line);
    assertTrue(iso.out().contains("note: train-mode batch norm"), iso.out());
    AnalyzeCommandTest.Run def = analyze(dir, "reference");
    assertTrue(mLine(def.out()).matches("M top-\\d+: .*"), mLine(def.out()));
    double[] a = AnalyzeCommandTest.numbersAfter(def.out(), "M top-");
    double[] b = AnalyzeCommandTest.numbersAfter(iso.out(), "M top-");
    assertEquals(a.length, b.length);
    assertTrue(Math.abs(a[0] - b[0]) > 1e-3 * Math.abs(a[0]),
        "train-mode batch norm: the two quantities differ");
  }

  @Test
  void badSampleGradientKindIsNamed(@TempDir Path dir) {
    AnalyzeCommandTest.Run r = analyze(dir, "reference", "--sample-gradients", "each");
    assertEquals(Main.EXIT_USAGE, r.code());
    assertTrue(r.err().contains("--sample-gradients"), r.err());
  }
}
