package io.github.sgdph.kfac;

import io.github.sgdph.dense.DenseSymmetricEigen;
import java.util.Arrays;

/** Small dense row-major matrix helpers of the Kronecker-factored operators (host, float64). */
final class HostMatrices {
  private HostMatrices() {}

  /** {@code a b}, {@code a [m×k]}, {@code b [k×n]}. */
  static double[][] multiply(double[][] a, double[][] b) {
    int m = a.length;
    int k = b.length;
    int n = k == 0 ? 0 : b[0].length;
    double[][] c = new double[m][n];
    for (int i = 0; i < m; i++) {
      double[] ci = c[i];
      for (int p = 0; p < k; p++) {
        double v = a[i][p];
        if (v == 0) {
          continue;
        }
        double[] bp = b[p];
        for (int j = 0; j < n; j++) {
          ci[j] += v * bp[j];
        }
      }
    }
    return c;
  }

  /** {@code aᵀ}. */
  static double[][] transpose(double[][] a) {
    int m = a.length;
    int n = m == 0 ? 0 : a[0].length;
    double[][] t = new double[n][m];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        t[j][i] = a[i][j];
      }
    }
    return t;
  }

  /** The symmetric submatrix of {@code a} on the indices {@code idx}. */
  static double[][] sub(double[][] a, int[] idx) {
    double[][] s = new double[idx.length][idx.length];
    for (int i = 0; i < idx.length; i++) {
      for (int j = 0; j < idx.length; j++) {
        s[i][j] = a[idx[i]][idx[j]];
      }
    }
    return s;
  }

  /** {@code tr(a) / dim(a)}. */
  static double meanDiagonal(double[][] a) {
    double t = 0;
    for (int i = 0; i < a.length; i++) {
      t += a[i][i];
    }
    return t / a.length;
  }

  /** Rows of the Cholesky factorisation computed together (what one pass over U serves). */
  private static final int ROWS = 8;

  /**
   * The Cholesky factor of {@code a + d I}, for a symmetric positive semi-definite {@code a} and
   * {@code d > 0}, as the upper triangle {@code U = Lᵀ} ({@code a + d I = Uᵀ U}; row {@code j} of
   * {@code U} is column {@code j} of {@code L}, so both triangular solves of {@link #solveRows}
   * and the factorisation itself run along contiguous rows). Rows of {@code L} are computed
   * {@value #ROWS} at a time, as {@code L}'s row {@code i} is the solution of a triangular system
   * in the rows before it: each pass over a row of {@code U} serves {@value #ROWS} rows, and its
   * inner loops are {@code y ← y − x·u} updates the JIT vectorises. About {@code n³/6}
   * multiply-adds; only {@code a}'s lower triangle is read.
   *
   * @param what names the factor in the error
   * @return {@code U}, {@code [n][n]}, zero below the diagonal
   * @throws IllegalArgumentException if the damped matrix is not numerically positive definite
   */
  static double[][] choleskyUpper(double[][] a, double d, String what) {
    int n = a.length;
    double[][] u = new double[n][n];
    double[][] b = new double[ROWS][];
    for (int i0 = 0; i0 < n; i0 += ROWS) {
      int i1 = Math.min(n, i0 + ROWS);
      for (int i = i0; i < i1; i++) {
        b[i - i0] = Arrays.copyOf(a[i], i + 1);
        b[i - i0][i] += d;
      }
      for (int j = 0; j < i1; j++) {
        double[] uj = u[j];
        if (j >= i0) {
          double pivot = b[j - i0][j];
          if (!(pivot > 0)) {
            throw new IllegalArgumentException(
                what + ": the damped factor is not positive definite (pivot " + pivot + " at "
                    + j + "); raise the damping");
          }
          uj[j] = Math.sqrt(pivot);
        }
        double ujj = uj[j];
        for (int i = Math.max(i0, j + 1); i < i1; i++) {
          uj[i] = b[i - i0][j] / ujj;
        }
        for (int i = Math.max(i0, j + 1); i < i1; i++) {
          double x = uj[i];
          double[] bi = b[i - i0];
          for (int p = j + 1; p <= i; p++) {
            bi[p] -= x * uj[p];
          }
        }
      }
    }
    return u;
  }

  /**
   * {@code X} with rows {@code x_r = (Uᵀ U)⁻¹ v_r}: with {@code U} from {@link #choleskyUpper},
   * {@code V (a + d I)⁻¹} for the symmetric {@code a}. A forward solve {@code Uᵀ y = v} by
   * column updates and a back solve {@code U x = y} by row dot products, all rows of {@code V}
   * at once so each row of {@code U} is read once: {@code n²} multiply-adds per row of {@code V}.
   *
   * @param u the factor, {@code [n][n]}
   * @param v the right-hand sides as rows, {@code [m][n]} (not modified)
   * @return a new {@code [m][n]}
   */
  static double[][] solveRows(double[][] u, double[][] v) {
    int n = u.length;
    int m = v.length;
    double[][] y = new double[m][];
    for (int r = 0; r < m; r++) {
      y[r] = v[r].clone();
    }
    for (int p = 0; p < n; p++) {
      double[] up = u[p];
      double upp = up[p];
      for (int r = 0; r < m; r++) {
        double[] yr = y[r];
        double x = yr[p] / upp;
        yr[p] = x;
        if (x == 0) {
          continue;
        }
        for (int q = p + 1; q < n; q++) {
          yr[q] -= x * up[q];
        }
      }
    }
    for (int j = n - 1; j >= 0; j--) {
      double[] uj = u[j];
      for (int r = 0; r < m; r++) {
        double[] yr = y[r];
        double s = yr[j];
        for (int q = j + 1; q < n; q++) {
          s -= uj[q] * yr[q];
        }
        yr[j] = s / uj[j];
      }
    }
    return y;
  }

  /**
   * {@code X = (Uᵀ U)⁻¹ Y}, the columns of {@code Y} the right-hand sides: the same arithmetic as
   * {@link #solveRows} on {@code Yᵀ}, term by term in the same order (so bit for bit its
   * transpose), laid out so that every inner loop runs along a row of {@code Y}, across the
   * right-hand sides, and vectorises — the faster form when there are many of them.
   *
   * @param u the factor, {@code [n][n]}
   * @param y the right-hand sides as columns, {@code [n][m]} (not modified)
   * @return a new {@code [n][m]}
   */
  static double[][] solveColumns(double[][] u, double[][] y) {
    int n = u.length;
    double[][] x = new double[n][];
    for (int i = 0; i < n; i++) {
      x[i] = y[i].clone();
    }
    int m = n == 0 ? 0 : x[0].length;
    for (int p = 0; p < n; p++) {
      double[] up = u[p];
      double upp = up[p];
      double[] xp = x[p];
      for (int r = 0; r < m; r++) {
        xp[r] = xp[r] / upp;
      }
      for (int q = p + 1; q < n; q++) {
        double w = up[q];
        if (w == 0) {
          continue;
        }
        double[] xq = x[q];
        for (int r = 0; r < m; r++) {
          xq[r] -= xp[r] * w;
        }
      }
    }
    for (int j = n - 1; j >= 0; j--) {
      double[] uj = u[j];
      double[] xj = x[j];
      for (int q = j + 1; q < n; q++) {
        double w = uj[q];
        double[] xq = x[q];
        for (int r = 0; r < m; r++) {
          xj[r] -= w * xq[r];
        }
      }
      double ujj = uj[j];
      for (int r = 0; r < m; r++) {
        xj[r] = xj[r] / ujj;
      }
    }
    return x;
  }

  /** The eigenvectors of a symmetric matrix as the columns of {@code Q} ({@code a = Q Λ Qᵀ}). */
  static double[][] eigenbasis(double[][] a) {
    return transpose(DenseSymmetricEigen.of(a).vectors());
  }
}
