package io.github.sgdph.analysis;

import static io.github.sgdph.analysis.LanczosTest.LAYOUT;
import static io.github.sgdph.analysis.LanczosTest.N;
import static io.github.sgdph.analysis.LanczosTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.fixtures.ArrayAlgebra;
import io.github.sgdph.fixtures.DenseOperator;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Stochastic Lanczos quadrature: a density that integrates to 1 with mean {@code tr(A)/n}. */
class SpectralDensityTest {

  static double trapezoid(double[] x, double[] y) {
    double s = 0;
    for (int i = 1; i < x.length; i++) {
      s += 0.5 * (x[i] - x[i - 1]) * (y[i] + y[i - 1]);
    }
    return s;
  }

  @Test
  void densityIntegratesToOneAndHasMeanTraceOverN() {
    double[][] a = LanczosTest.randomSymmetric(31);
    DenseEigen ref = DenseEigen.of(a);
    DenseOperator op = new DenseOperator(LAYOUT, a);
    int runs = 40;
    SpectralDensity d = StochasticLanczosQuadrature.builder().steps(20).runs(runs).build()
        .density(op, ArrayAlgebra.INSTANCE, new SplittableRandom(3));
    double[] x = d.grid();
    double[] y = d.density();
    assertEquals(1000, x.length);
    for (int i = 1; i < x.length; i++) {
      assertTrue(x[i] > x[i - 1]);
      assertTrue(y[i] >= 0);
    }
    // (1) ∫φ = 1 by the trapezoid rule over the grid (Gaussian tails beyond 6σ: < 2e-9)
    assertEquals(1, trapezoid(x, y), 1e-6);
    // (2) the density's mean is the quadrature mean (broadening is symmetric) ...
    double[] xy = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      xy[i] = x[i] * y[i];
    }
    double mean = trapezoid(x, xy);
    assertEquals(d.mean(), mean, 1e-6 * (1 + Math.abs(d.mean())));
    // ... which is exactly the mean of vᵀAv over the unit Rademacher start vectors, an unbiased
    // estimate of tr(A)/n with standard deviation sqrt(2(‖A‖_F² − ΣA_ii²)/runs)/n; within 4 of
    // them
    double sd = Math.sqrt(TraceEstimatorsTest.hutchinsonVariance(a) / runs) / N;
    assertEquals(ref.trace() / N, mean, 4 * sd);
    // quadrature weights sum to 1 per run; the nodes lie in the spectrum's range
    for (int r = 0; r < runs; r++) {
      double w = 0;
      for (double t : d.weights()[r]) {
        w += t;
      }
      assertEquals(1, w, 1e-12);
    }
    double[] range = d.nodeRange();
    assertTrue(range[0] >= ref.values[0] - 1e-10 && range[1] <= ref.values[N - 1] + 1e-10);
    assertEquals(runs * 20, d.products());
    assertEquals(runs * 20, op.products);
  }

  @Test
  void withAsManyStepsAsDimensionsTheNodesAreTheEigenvalues() {
    double[][] a = LanczosTest.randomSymmetric(32);
    DenseEigen ref = DenseEigen.of(a);
    SpectralDensity d = StochasticLanczosQuadrature.builder().steps(500).build()
        .density(new DenseOperator(LAYOUT, a), ArrayAlgebra.INSTANCE, new SplittableRandom(4));
    assertEquals(N, d.steps(), "capped at the dimension");
    double[] nodes = d.nodes()[0];
    for (int i = 0; i < N; i++) {
      assertEquals(ref.values[i], nodes[i], 1e-9 * Math.abs(ref.values[N - 1]));
    }
    // the mean is then exactly vᵀAv for the start vector: check the second moment too,
    // Σ τ θ² = vᵀA²v / vᵀv > 0
    assertTrue(d.sigma() > 0);
  }

  @Test
  void aKrylovSpaceExhaustedEarlyGivesAnExactQuadrature() {
    // three distinct eigenvalues: the Krylov space of any start vector has dimension 3
    double[] lambda = new double[N];
    for (int i = 0; i < N; i++) {
      lambda[i] = i % 3 == 0 ? -1 : (i % 3 == 1 ? 2 : 7);
    }
    double[][] a = DenseEigen.randomWithSpectrum(lambda, new SplittableRandom(5));
    SpectralDensity d = StochasticLanczosQuadrature.builder().steps(30).runs(1).build()
        .density(new DenseOperator(LAYOUT, a), ArrayAlgebra.INSTANCE, new SplittableRandom(6));
    assertEquals(3, d.steps());
    assertEquals(3, d.products());
    assertEquals(-1, d.nodes()[0][0], 1e-10);
    assertEquals(2, d.nodes()[0][1], 1e-10);
    assertEquals(7, d.nodes()[0][2], 1e-10);
    assertEquals(1, trapezoid(d.grid(), d.density()), 1e-6);
  }

  @Test
  void theMomentsCarryTheirStandardErrorOverTheProbeVectors() {
    // 16 copies of the 60 x 60 matrix (960 rows), 10 Lanczos steps: the quadrature is exact for
    // degrees < 20, so run r's first moment is v_rᵀAv_r and its second v_rᵀA²v_r for a unit
    // Rademacher v_r. Var(zᵀAz) = 2 (‖A‖_F² − Σ A_ii²) for z = √d·v, so the standard error of the
    // mean over 100 runs is √(Var / d² / 100); the reported one is within 25 % (its own relative
    // spread is about 7 %)
    double[][] a = TraceEstimatorsTest.matrix();
    int copies = 16;
    TraceEstimatorsTest.Tiled op = new TraceEstimatorsTest.Tiled(a, copies);
    double d = copies * a.length;
    int runs = 100;
    SpectralDensity sd = StochasticLanczosQuadrature.builder().steps(10).runs(runs).build()
        .density(op, ArrayAlgebra.INSTANCE, new SplittableRandom(9));
    double closedForm =
        Math.sqrt(copies * TraceEstimatorsTest.hutchinsonVariance(a) / (d * d) / runs);
    assertEquals(sd.mean(), sd.moment(1), 1e-12);
    assertEquals(1.0, sd.moment(0), 1e-12);
    assertEquals(closedForm, sd.meanStandardError(), 0.25 * closedForm);
    assertEquals(sd.meanStandardError(), sd.momentStandardError(1));
    double traceOverD = copies * TraceEstimatorsTest.trace(a) / d;
    assertEquals(traceOverD, sd.moment(1), 4 * sd.momentStandardError(1));
    // the second moment estimates tr(A²)/d = ‖A‖_F²/d
    double frob = 0;
    for (double[] row : a) {
      for (double x : row) {
        frob += x * x;
      }
    }
    double m2 = sd.moment(2);
    double se2 = sd.momentStandardError(2);
    assertTrue(se2 > 0 && se2 < 0.2 * m2, "se " + se2 + " of " + m2);
    assertEquals(copies * frob / d, m2, 4 * se2);
    // a single run has no error bar
    SpectralDensity one = StochasticLanczosQuadrature.builder().steps(10).runs(1).build()
        .density(op, ArrayAlgebra.INSTANCE, new SplittableRandom(9));
    assertTrue(Double.isNaN(one.meanStandardError()));
    assertMessage("p:", () -> one.moment(-1));
  }

  @Test
  void badOptionsNameTheParameter() {
    assertMessage("steps:", () -> StochasticLanczosQuadrature.builder().steps(0));
    assertMessage("runs:", () -> StochasticLanczosQuadrature.builder().runs(0));
    assertMessage("gridPoints:", () -> StochasticLanczosQuadrature.builder().gridPoints(1));
    assertMessage("broadening:", () -> StochasticLanczosQuadrature.builder().broadening(0));
  }
}
