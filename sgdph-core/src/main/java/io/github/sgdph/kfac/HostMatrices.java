package io.github.sgdph.kfac;

import io.github.sgdph.dense.DenseSymmetricEigen;

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

  /**
   * {@code (a + d I)⁻¹} of a symmetric positive semi-definite {@code a} and {@code d > 0}, by a
   * Cholesky factorisation {@code L Lᵀ} and {@code n} triangular solves.
   *
   * @throws IllegalArgumentException if the damped matrix is not numerically positive definite
   */
  static double[][] dampedInverse(double[][] a, double d, String what) {
    int n = a.length;
    double[][] l = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j <= i; j++) {
        double s = a[i][j] + (i == j ? d : 0);
        for (int p = 0; p < j; p++) {
          s -= l[i][p] * l[j][p];
        }
        if (i == j) {
          if (!(s > 0)) {
            throw new IllegalArgumentException(
                what + ": the damped factor is not positive definite (pivot " + s + " at " + i
                    + "); raise the damping");
          }
          l[i][i] = Math.sqrt(s);
        } else {
          l[i][j] = s / l[j][j];
        }
      }
    }
    double[][] inv = new double[n][n];
    double[] y = new double[n];
    for (int c = 0; c < n; c++) {
      for (int i = 0; i < n; i++) {
        double s = i == c ? 1 : 0;
        for (int p = 0; p < i; p++) {
          s -= l[i][p] * y[p];
        }
        y[i] = s / l[i][i];
      }
      for (int i = n - 1; i >= 0; i--) {
        double s = y[i];
        for (int p = i + 1; p < n; p++) {
          s -= l[p][i] * inv[p][c];
        }
        inv[i][c] = s / l[i][i];
      }
    }
    return inv;
  }

  /** The eigenvectors of a symmetric matrix as the columns of {@code Q} ({@code a = Q Λ Qᵀ}). */
  static double[][] eigenbasis(double[][] a) {
    return transpose(DenseSymmetricEigen.of(a).vectors());
  }
}
