package io.github.sgdph.analysis;

import static io.github.sgdph.analysis.LanczosTest.LAYOUT;
import static io.github.sgdph.analysis.LanczosTest.N;
import static io.github.sgdph.analysis.LanczosTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.fixtures.ArrayAlgebra;
import io.github.sgdph.fixtures.DenseOperator;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.param.ParameterBlock;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Hutchinson and Hutch++ trace estimates and the Hutchinson diagonal, as statistical tests with
 * fixed seeds and stated bounds.
 */
class TraceEstimatorsTest {

  /** A random symmetric matrix with a spread-out spectrum and a known trace. */
  static double[][] matrix() {
    return LanczosTest.randomSymmetric(12);
  }

  /** {@code Var(zᵀAz) = 2 (‖A‖_F² − Σ A_ii²)} for Rademacher {@code z}. */
  static double hutchinsonVariance(double[][] a) {
    double off = 0;
    for (int i = 0; i < a.length; i++) {
      for (int j = 0; j < a.length; j++) {
        if (i != j) {
          off += a[i][j] * a[i][j];
        }
      }
    }
    return 2 * off;
  }

  static double trace(double[][] a) {
    double t = 0;
    for (int i = 0; i < a.length; i++) {
      t += a[i][i];
    }
    return t;
  }

  @Test
  void hutchinsonIsUnbiased() {
    // 400 seeds × 10 samples: the mean of the 400 estimates has standard deviation
    // sqrt(Var/4000); it lies within 4 of them of the exact trace
    double[][] a = matrix();
    DenseOperator op = new DenseOperator(LAYOUT, a);
    Hutchinson h = Hutchinson.builder().samples(10).build();
    int seeds = 400;
    double sum = 0;
    for (int s = 0; s < seeds; s++) {
      TraceEstimate t = h.trace(op, ArrayAlgebra.INSTANCE, new SplittableRandom(1000 + s));
      assertEquals(10, t.samples());
      assertEquals(10, t.products());
      sum += t.estimate();
    }
    double sd = Math.sqrt(hutchinsonVariance(a) / (10.0 * seeds));
    assertEquals(trace(a), sum / seeds, 4 * sd);
    assertEquals(10 * seeds, op.products);
  }

  /**
   * {@code copies} copies of a dense matrix on the diagonal, as one block of
   * {@code copies·a.length} parameters: a large operator whose trace and Hutchinson variance are
   * {@code copies} times those of {@code a}, at the cost of {@code copies} small products.
   */
  static final class Tiled implements LinearOperator {
    final double[][] a;
    final int copies;
    final ParameterLayout domain;

    Tiled(double[][] a, int copies) {
      this.a = a;
      this.copies = copies;
      this.domain = ParameterLayout.of(ParameterBlock.of("w", copies * a.length));
    }

    @Override
    public ParameterLayout domain() {
      return domain;
    }

    @Override
    public ParameterVector apply(ParameterVector v) {
      double[] x = v.toDoubleArray();
      double[] y = new double[x.length];
      int m = a.length;
      for (int c = 0; c < copies; c++) {
        for (int i = 0; i < m; i++) {
          double s = 0;
          for (int j = 0; j < m; j++) {
            s += a[i][j] * x[c * m + j];
          }
          y[c * m + i] = s;
        }
      }
      return ParameterVector.fromArray(ArrayAlgebra.INSTANCE, domain, y);
    }
  }

  @Test
  void hutchinsonErrorShrinksLikeOneOverRootSamples() {
    // 16 copies of the 60 x 60 matrix: 960 rows, more than the 900 samples (not exact).
    // Mean absolute error over 20 seeds at 100 and at 900 samples: the ratio is 1/3 in
    // expectation; accept [1/6, 2/3] (a factor 2 of slack either way)
    double[][] a = matrix();
    int copies = 16;
    Tiled op = new Tiled(a, copies);
    double exact = copies * trace(a);
    double e100 = 0;
    double e900 = 0;
    int seeds = 20;
    for (int s = 0; s < seeds; s++) {
      e100 += Math.abs(Hutchinson.builder().samples(100).build()
          .trace(op, ArrayAlgebra.INSTANCE, new SplittableRandom(s)).estimate() - exact);
      e900 += Math.abs(Hutchinson.builder().samples(900).build()
          .trace(op, ArrayAlgebra.INSTANCE, new SplittableRandom(500 + s)).estimate() - exact);
    }
    double ratio = e900 / e100;
    assertTrue(ratio <= 2.0 / 3 && ratio >= 1.0 / 6, "error ratio " + ratio);
  }

  @Test
  void theReportedStandardErrorIsTheClosedFormOne() {
    // Var(zᵀAz) = 2 (‖A‖_F² − Σ A_ii²) for Rademacher z; for 16 copies, 16 times that. With 400
    // samples the sample standard deviation is within 15 % of the true one (about 4 of its own
    // standard deviations, ~3.5 %); a standard error of s instead of s/√m would be 20x off
    double[][] a = matrix();
    int copies = 16;
    Tiled op = new Tiled(a, copies);
    double closedForm = Math.sqrt(copies * hutchinsonVariance(a) / 400);
    TraceEstimate t = Hutchinson.builder().samples(400).build()
        .trace(op, ArrayAlgebra.INSTANCE, new SplittableRandom(77));
    assertFalse(t.exact());
    assertEquals(400, t.samples());
    assertEquals(closedForm, t.standardError(), 0.15 * closedForm);

    // a dense diagonal operator: zᵀAz = tr(A) for every z, the variance is 0, and so is the
    // reported standard error (up to rounding)
    double[][] diag = new double[60][60];
    for (int i = 0; i < 60; i++) {
      diag[i][i] = 1 + 0.5 * i;
    }
    Tiled d = new Tiled(diag, copies);
    TraceEstimate td = Hutchinson.builder().samples(50).build()
        .trace(d, ArrayAlgebra.INSTANCE, new SplittableRandom(3));
    assertFalse(td.exact());
    assertEquals(copies * trace(diag), td.estimate(), 1e-9);
    assertTrue(td.standardError() < 1e-9, "standard error " + td.standardError());
  }

  @Test
  void theErrorBarsCoverTheTraceAsOftenAsTheyShould() {
    // 200 seeds: |estimate − tr(A)| ≤ 2 standard errors in about 95 % of them (a t-interval
    // with 29 resp. 19 degrees of freedom: 94.5 % resp. 94 %); accept [85 %, 99 %]. Were the
    // standard error √m too small (s/m), the coverage would collapse; √m too large (s), it
    // would be 100 %
    double[][] a = matrix();
    int copies = 16;
    Tiled op = new Tiled(a, copies);
    double exact = copies * trace(a);
    int seeds = 200;
    int inHutch = 0;
    int inPlus = 0;
    for (int s = 0; s < seeds; s++) {
      TraceEstimate h = Hutchinson.builder().samples(30).build()
          .trace(op, ArrayAlgebra.INSTANCE, new SplittableRandom(3000 + s));
      if (Math.abs(h.estimate() - exact) <= 2 * h.standardError()) {
        inHutch++;
      }
      TraceEstimate pp = HutchPlusPlus.builder().products(60).build()
          .trace(op, ArrayAlgebra.INSTANCE, new SplittableRandom(5000 + s));
      assertEquals(20, pp.samples());
      if (Math.abs(pp.estimate() - exact) <= 2 * pp.standardError()) {
        inPlus++;
      }
    }
    assertTrue(inHutch >= 0.85 * seeds && inHutch <= 0.99 * seeds, "Hutchinson " + inHutch);
    assertTrue(inPlus >= 0.85 * seeds && inPlus <= 0.99 * seeds, "Hutch++ " + inPlus);
  }

  @Test
  void aBudgetOfAtLeastTheDimensionGivesTheExactTrace() {
    double[][] a = matrix(); // 60 x 60
    double exact = trace(a);
    for (int budget : new int[] {N, 100}) {
      DenseOperator op = new DenseOperator(LAYOUT, a);
      TraceEstimate h = Hutchinson.builder().samples(budget).build()
          .trace(op, ArrayAlgebra.INSTANCE, new SplittableRandom(1));
      assertTrue(h.exact());
      assertEquals(exact, h.estimate(), 1e-12);
      assertEquals(0.0, h.standardError());
      assertEquals(N, h.samples());
      assertEquals(N, h.products());
      assertEquals(N, op.products);
      TraceEstimate pp = HutchPlusPlus.builder().products(budget).build()
          .trace(op, ArrayAlgebra.INSTANCE, new SplittableRandom(1));
      assertTrue(pp.exact());
      assertEquals(exact, pp.estimate(), 1e-12);
      assertEquals(0.0, pp.standardError());
      assertEquals(N, pp.products());
    }
    // one fewer: sampled, with a positive standard error
    TraceEstimate h = Hutchinson.builder().samples(N - 1).build()
        .trace(new DenseOperator(LAYOUT, a), ArrayAlgebra.INSTANCE, new SplittableRandom(1));
    assertFalse(h.exact());
    assertTrue(h.standardError() > 0);
    TraceEstimate pp = HutchPlusPlus.builder().products(N - 1).build()
        .trace(new DenseOperator(LAYOUT, a), ArrayAlgebra.INSTANCE, new SplittableRandom(1));
    assertFalse(pp.exact());
    // a small block of a larger model: its own dimension counts (the 6 x 8 weight of LAYOUT)
    ParameterLayout block = LAYOUT.select(0);
    double[][] sub = new double[48][48];
    for (int i = 0; i < 48; i++) {
      System.arraycopy(a[i], 0, sub[i], 0, 48);
    }
    TraceEstimate tb = Hutchinson.builder().samples(50).build()
        .trace(new DenseOperator(block, sub), ArrayAlgebra.INSTANCE, new SplittableRandom(1));
    assertTrue(tb.exact());
    assertEquals(trace(sub), tb.estimate(), 1e-12);
  }

  @Test
  void hutchinsonStopsEarlyAtATolerance() {
    double[] lambda = new double[N];
    for (int i = 0; i < N; i++) {
      lambda[i] = 10 + 0.1 * i; // trace 777 per copy, small variance relative to it
    }
    Tiled op = new Tiled(DenseEigen.randomWithSpectrum(lambda, new SplittableRandom(3)), 20);
    TraceEstimate t = Hutchinson.builder().samples(1000).relativeTolerance(1e-2).build()
        .trace(op, ArrayAlgebra.INSTANCE, new SplittableRandom(1));
    assertFalse(t.exact());
    assertTrue(t.samples() < 1000, "stopped after " + t.samples());
    assertTrue(t.standardError() <= 1e-2 * Math.abs(t.estimate()));
  }

  @Test
  void hutchPlusPlusIsExactForLowRankAndBeatsHutchinsonAtEqualProducts() {
    // 300 parameters; 8 eigenvalues near 100 and 292 in [0, 0.1]: dominated by low rank
    ParameterLayout layout = ParameterLayout.of(ParameterBlock.of("w", 300));
    SplittableRandom rnd = new SplittableRandom(5);
    double[] lambda = new double[300];
    for (int i = 0; i < 300; i++) {
      lambda[i] = i < 8 ? 100 + 10 * rnd.nextGaussian() : 0.1 * rnd.nextDouble();
    }
    double[][] a = DenseEigen.randomWithSpectrum(lambda, rnd);
    double exact = trace(a);
    DenseOperator op = new DenseOperator(layout, a);
    int budget = 60;
    double errHutch = 0;
    double errPlus = 0;
    int seeds = 20;
    for (int s = 0; s < seeds; s++) {
      errHutch += Math.abs(Hutchinson.builder().samples(budget).build()
          .trace(op, ArrayAlgebra.INSTANCE, new SplittableRandom(s)).estimate() - exact);
      TraceEstimate pp = HutchPlusPlus.builder().products(budget).build()
          .trace(op, ArrayAlgebra.INSTANCE, new SplittableRandom(s));
      assertEquals(budget, pp.products());
      errPlus += Math.abs(pp.estimate() - exact);
    }
    assertTrue(errPlus < 0.1 * errHutch,
        "Hutch++ mean error " + errPlus / seeds + " vs Hutchinson " + errHutch / seeds);

    // exactly rank 5 < s = 20: the sketch captures everything, the estimate is exact
    double[] low = new double[300];
    for (int i = 0; i < 5; i++) {
      low[i] = 1 + i;
    }
    DenseOperator rank5 = new DenseOperator(layout, DenseEigen.randomWithSpectrum(low, rnd));
    TraceEstimate t = HutchPlusPlus.builder().products(60).build()
        .trace(rank5, ArrayAlgebra.INSTANCE, new SplittableRandom(1));
    assertEquals(15, t.estimate(), 1e-10);
    assertEquals(20 + 5 + 20, t.products(), "dependent sketch columns are dropped");
  }

  @Test
  void diagonalEstimate() {
    // a diagonal matrix: one Rademacher sample is exact
    double[] d = new double[N];
    for (int i = 0; i < N; i++) {
      d[i] = i - 20.5;
    }
    double[][] diag = new double[N][N];
    for (int i = 0; i < N; i++) {
      diag[i][i] = d[i];
    }
    try (DiagonalEstimate e = Hutchinson.builder().samples(1).build()
        .diagonal(new DenseOperator(LAYOUT, diag), ArrayAlgebra.INSTANCE,
            new SplittableRandom(1))) {
      org.junit.jupiter.api.Assertions.assertArrayEquals(d, e.diagonal().toDoubleArray(), 0);
      assertEquals(LAYOUT, e.diagonal().layout());
    }
    // a dense matrix: entry i has variance Σ_{j≠i} A_ij² per sample; with 4000 samples every
    // entry is within 5 standard deviations
    double[][] a = matrix();
    int s = 4000;
    try (DiagonalEstimate e = Hutchinson.builder().samples(s).build()
        .diagonal(new DenseOperator(LAYOUT, a), ArrayAlgebra.INSTANCE, new SplittableRandom(2))) {
      double[] got = e.diagonal().toDoubleArray();
      for (int i = 0; i < N; i++) {
        double var = 0;
        for (int j = 0; j < N; j++) {
          if (j != i) {
            var += a[i][j] * a[i][j];
          }
        }
        assertEquals(a[i][i], got[i], 5 * Math.sqrt(var / s), "entry " + i);
      }
      assertEquals(s, e.products());
    }
  }

  @Test
  void badOptionsNameTheParameter() {
    assertMessage("samples:", () -> Hutchinson.builder().samples(0));
    assertMessage("relativeTolerance:", () -> Hutchinson.builder().relativeTolerance(-1));
    assertMessage("products:", () -> HutchPlusPlus.builder().products(2));
  }
}
