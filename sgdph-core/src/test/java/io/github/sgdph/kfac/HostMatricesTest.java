package io.github.sgdph.kfac;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.fixtures.Dense;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The host Cholesky factorisation and solves behind KFAC's damped inverse. Tolerances: Cholesky
 * is backward stable ({@code ‖UᵀU − A‖ ≤ c·n·ε·‖A‖}), so with {@code n ≤ 70} a reconstruction
 * error of 1e-13 relative to the largest entry is two orders above rounding; the solves are
 * checked by their residual on damped matrices whose condition number is at most about 10³.
 */
class HostMatricesTest {

  /** {@code QᵀQ / k}, {@code Q [k × n]}: positive semi-definite, singular when k < n. */
  private static double[][] gram(int n, int k, long seed) {
    return Dense.randomGram(n, k, 0, new SplittableRandom(seed));
  }

  private static double maxAbs(double[][] a) {
    double m = 0;
    for (double[] r : a) {
      for (double v : r) {
        m = Math.max(m, Math.abs(v));
      }
    }
    return m;
  }

  // Sizes around the factorisation's 8-row groups, and a rank-deficient Gram (k < n).
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 7, 8, 9, 16, 17, 23, 70})
  void theFactorReconstructsTheDampedMatrix(int n) {
    double[][] a = gram(n, Math.max(1, n / 2), n);
    double d = 0.05;
    double[][] u = HostMatrices.choleskyUpper(a, d, "A");
    double scale = maxAbs(a) + d;
    for (int i = 0; i < n; i++) {
      assertTrue(u[i][i] > 0, "positive diagonal at " + i);
      for (int j = 0; j < i; j++) {
        assertEquals(0.0, u[i][j], "U is upper triangular at (" + i + ", " + j + ")");
      }
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int p = 0; p < n; p++) {
          s += u[p][i] * u[p][j];
        }
        double want = a[i][j] + (i == j ? d : 0);
        assertEquals(want, s, 1e-13 * scale, "(UᵀU)[" + i + "][" + j + "]");
      }
    }
  }

  @Test
  void aTwoByTwoFactorIsTheClosedForm() {
    // [[4, 2], [2, 3]] + I = Uᵀ U with U = [[√5, 2/√5], [0, √(4 − 4/5)]]
    double[][] u = HostMatrices.choleskyUpper(new double[][] {{4, 2}, {2, 3}}, 1, "A");
    assertArrayEquals(new double[] {Math.sqrt(5), 2 / Math.sqrt(5)}, u[0], 1e-15);
    assertArrayEquals(new double[] {0, Math.sqrt(4 - 4.0 / 5)}, u[1], 1e-15);
  }

  @Test
  void onlyTheLowerTriangleIsRead() {
    double[][] a = gram(11, 5, 4);
    double[][] lower = new double[11][11];
    for (int i = 0; i < 11; i++) {
      for (int j = 0; j < 11; j++) {
        lower[i][j] = j <= i ? a[i][j] : Double.NaN;
      }
    }
    double[][] want = HostMatrices.choleskyUpper(a, 0.1, "A");
    double[][] got = HostMatrices.choleskyUpper(lower, 0.1, "A");
    for (int i = 0; i < 11; i++) {
      assertArrayEquals(want[i], got[i], 0.0);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 5, 8, 19, 64})
  void solveRowsSolvesEveryRightHandSide(int n) {
    double[][] a = gram(n, n + 3, 10 + n);
    double d = 0.01;
    double[][] u = HostMatrices.choleskyUpper(a, d, "A");
    SplittableRandom r = new SplittableRandom(n);
    double[][] v = new double[3][n];
    for (double[] row : v) {
      for (int j = 0; j < n; j++) {
        row[j] = r.nextGaussian();
      }
    }
    v[1] = new double[n]; // a zero right-hand side gives zero
    double[][] copy = new double[3][];
    for (int k = 0; k < 3; k++) {
      copy[k] = v[k].clone();
    }
    double[][] x = HostMatrices.solveRows(u, v);
    for (int k = 0; k < 3; k++) {
      assertArrayEquals(copy[k], v[k], 0.0, "the right-hand sides are not modified");
      for (int i = 0; i < n; i++) {
        double s = d * x[k][i];
        for (int j = 0; j < n; j++) {
          s += a[i][j] * x[k][j];
        }
        assertEquals(v[k][i], s, 1e-11, "residual of row " + k + " at " + i);
      }
    }
    assertArrayEquals(new double[n], x[1], 0.0);
  }

  // (n, m): few and many right-hand sides, on factors of Grams with exact zeros in them
  @ParameterizedTest
  @CsvSource({"1, 1", "6, 3", "33, 40", "70, 9", "9, 70"})
  void solveColumnsIsSolveRowsTransposedBitForBit(int n, int m) {
    double[][] a = gram(n, n + 2, 3L * n + m);
    for (int j = 0; j + 1 < n; j++) {
      a[n - 1][j] = a[j][n - 1] = 0; // block diagonal, still semi-definite: zeros in U
    }
    double[][] u = HostMatrices.choleskyUpper(a, 0.02, "A");
    SplittableRandom r = new SplittableRandom(m);
    double[][] rows = new double[m][n];
    for (double[] row : rows) {
      for (int j = 0; j < n; j++) {
        row[j] = r.nextInt(4) == 0 ? 0 : r.nextGaussian();
      }
    }
    double[][] byRows = HostMatrices.solveRows(u, rows);
    double[][] columns = HostMatrices.transpose(rows);
    double[][] byColumns = HostMatrices.solveColumns(u, columns);
    assertArrayEquals(HostMatrices.transpose(rows)[0], columns[0], 0.0, "Y is not modified");
    double[][] back = HostMatrices.transpose(byColumns);
    for (int k = 0; k < m; k++) {
      assertArrayEquals(byRows[k], back[k], 0.0, "right-hand side " + k);
    }
  }

  @Test
  void emptyMatricesAndNoRightHandSides() {
    assertEquals(0, HostMatrices.choleskyUpper(new double[0][0], 1, "A").length);
    double[][] u = HostMatrices.choleskyUpper(new double[][] {{3}}, 1, "A");
    assertEquals(0, HostMatrices.solveRows(u, new double[0][]).length);
    assertEquals(0, HostMatrices.solveColumns(new double[0][0], new double[0][]).length);
    assertArrayEquals(new double[] {0.5, 1}, HostMatrices.solveColumns(u, new double[][] {{2,
        4}})[0], 1e-15);
    assertArrayEquals(new double[] {0.5}, HostMatrices.solveRows(u, new double[][] {{2}})[0],
        1e-15);
  }

  @Test
  void anIndefiniteDampedMatrixIsRefusedByName() {
    // eigenvalues 3 and −1: + 0.5 I leaves −0.5, so the second pivot is 1.5 − 2²/1.5 < 0
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HostMatrices.choleskyUpper(new double[][] {{1, 2}, {2, 1}}, 0.5, "dense_0 A"));
    assertTrue(e.getMessage().startsWith("dense_0 A: the damped factor is not positive"
        + " definite (pivot "), e.getMessage());
    assertTrue(e.getMessage().endsWith(" at 1); raise the damping"), e.getMessage());
    IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
        () -> HostMatrices.choleskyUpper(new double[][] {{Double.NaN}}, 1, "G"));
    assertTrue(nan.getMessage().contains("pivot NaN at 0"), nan.getMessage());
  }
}
