package io.github.sgdph.kfac;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.sgdph.curvature.FactoredLayer;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The blocked accumulation of KFAC's input factor {@code A += Σ ã ãᵀ} equals, bit for bit, the
 * rank-one update per vector it replaces (each entry gets the same terms in the same order), so
 * the speed-up changes no result: tolerance 0.
 */
class InputFactorTest {

  /** The reference: one full rank-one update {@code A += ã ãᵀ} per vector, zeros skipped. */
  private static void rankOneUpdates(FactoredLayer f, double[] in, int n, double[][] a) {
    int din = f.inputDim();
    int t = f.positions();
    double[] v = new double[f.homogeneousInputDim()];
    for (int i = 0; i < n; i++) {
      for (int p = 0; p < t; p++) {
        for (int j = 0; j < din; j++) {
          v[j] = in[(i * din + j) * t + p];
        }
        if (f.hasBias()) {
          v[din] = 1;
        }
        for (int r = 0; r < v.length; r++) {
          if (v[r] == 0) {
            continue;
          }
          for (int c = 0; c < v.length; c++) {
            a[r][c] += v[r] * v[c];
          }
        }
      }
    }
  }

  // dense and convolution shapes, with and without a bias, a sample count not a multiple of the
  // four-row passes, and (3137 inputs, 400 samples) one spanning two unfolded chunks
  @ParameterizedTest
  @CsvSource({
    "DENSE, 7, 1, true, 5",
    "DENSE, 64, 1, false, 130",
    "CONV2D, 9, 49, true, 3",
    "CONV2D, 27, 16, false, 9",
    "DENSE, 3137, 1, true, 400",
  })
  void equalsTheRankOneUpdatesBitForBit(
      FactoredLayer.Kind kind, int din, int positions, boolean bias, int n) {
    FactoredLayer f = new FactoredLayer(kind, "w", 0, bias ? 1 : -1, din, 3, positions);
    SplittableRandom r = new SplittableRandom(din * 31L + n);
    double[] in = new double[n * din * positions];
    for (int k = 0; k < in.length; k++) {
      // ReLU-like: about half exact zeros, so both skipping paths run
      in[k] = Math.max(0, r.nextGaussian());
    }
    int d = f.homogeneousInputDim();
    double[][] want = new double[d][d];
    double[][] got = new double[d][d];
    // a previous batch's sums, then this batch's
    for (double[][] m : new double[][][] {want, got}) {
      m[0][0] = 0.5;
    }
    for (int batch = 0; batch < 2; batch++) {
      rankOneUpdates(f, in, n, want);
      KroneckerFactors.addInputFactor(f, in, n, got);
    }
    for (int i = 0; i < d; i++) {
      assertArrayEquals(want[i], got[i], 0.0, "row " + i);
      for (int j = 0; j < i; j++) {
        assertEquals(got[i][j], got[j][i], 0.0, "symmetric at (" + i + ", " + j + ")");
      }
    }
  }
}
