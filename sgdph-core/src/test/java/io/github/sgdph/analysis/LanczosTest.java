package io.github.sgdph.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.fixtures.ArrayAlgebra;
import io.github.sgdph.fixtures.DenseOperator;
import io.github.sgdph.fixtures.QuadraticObjective;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.param.ParameterBlock;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Lanczos} and {@link PowerIteration} against the dense Jacobi eigen-solver on matrices
 * small enough to build densely.
 */
class LanczosTest {

  /** 48 + 6 + 6 = 60 parameters in three blocks. */
  static final ParameterLayout LAYOUT =
      ParameterLayout.of(
          ParameterBlock.of("0.weight", 6, 8), ParameterBlock.of("0.bias", 6),
          ParameterBlock.of("1.weight", 2, 3));

  static final int N = (int) LAYOUT.dimension();

  /** A random indefinite symmetric matrix with a Gaussian spectrum (distinct eigenvalues). */
  static double[][] randomSymmetric(long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double[] lambda = new double[N];
    for (int i = 0; i < N; i++) {
      lambda[i] = 3 * rnd.nextGaussian();
    }
    return DenseEigen.randomWithSpectrum(lambda, rnd);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void topAndBottomKMatchTheDenseSolverTo1e8(long seed) {
    double[][] a = randomSymmetric(seed);
    DenseEigen ref = DenseEigen.of(a);
    DenseOperator op = new DenseOperator(LAYOUT, a);
    Lanczos lanczos = Lanczos.withDefaults();
    int k = 5;
    try (Eigenpairs top = lanczos.largest(op, ArrayAlgebra.INSTANCE, k, new SplittableRandom(seed));
        Eigenpairs bottom =
            lanczos.smallest(op, ArrayAlgebra.INSTANCE, k, new SplittableRandom(seed + 100))) {
      assertTrue(top.converged() && bottom.converged());
      double[] want = ref.largest(k);
      double[] low = ref.smallest(k);
      for (int i = 0; i < k; i++) {
        assertTrue(DenseEigen.relative(top.value(i), want[i]) < 1e-8,
            "top " + i + ": " + top.value(i) + " vs " + want[i]);
        assertTrue(DenseEigen.relative(bottom.value(i), low[i]) < 1e-8,
            "bottom " + i + ": " + bottom.value(i) + " vs " + low[i]);
        // eigenvectors: unit, and parallel to the dense ones
        double[] u = top.vector(i).toDoubleArray();
        double[] w = ref.vectors[N - 1 - i];
        assertEquals(1, Math.abs(dot(u, u)), 1e-12);
        assertEquals(1, Math.abs(dot(u, w)), 1e-6);
        assertTrue(top.residualNorms()[i] < 1e-6 * Math.abs(ref.values[N - 1]));
      }
      // orthogonal Ritz vectors
      assertEquals(0, top.vector(0).dot(top.vector(1)), 1e-10);
      // every product was counted
      assertEquals(top.products() + bottom.products(), op.products);
      assertTrue(top.products() < N, "converged before exhausting the space: " + top.products());
    }
  }

  @Test
  void theHessianOfAModelBuiltColumnByColumnAgrees() {
    SplittableRandom rnd = new SplittableRandom(21);
    double[][] h = randomSymmetric(21);
    double[] c = new double[N];
    double[] theta = new double[N];
    for (int i = 0; i < N; i++) {
      c[i] = rnd.nextGaussian();
      theta[i] = rnd.nextGaussian();
    }
    // a quartic term makes the Hessian depend on θ: H + 3κ diag(θ²)
    QuadraticObjective obj = new QuadraticObjective(LAYOUT, h, c, 0.2, theta);
    try (DatasetCurvature data = DatasetCurvature.of(obj)) {
      LinearOperator hess = data.hessian();
      double[][] dense = DenseEigen.materialize(hess);
      assertTrue(DenseEigen.asymmetry(dense) < 1e-14);
      DenseEigen ref = DenseEigen.of(dense);
      try (Eigenpairs top = Lanczos.withDefaults().largest(hess, data.algebra(), 3, rnd)) {
        for (int i = 0; i < 3; i++) {
          assertTrue(DenseEigen.relative(top.value(i), ref.largest(3)[i]) < 1e-8);
        }
      }
      // a block: the diagonal block of the dense Hessian
      ParameterLayout bias = LAYOUT.selectByName("0.bias");
      double[][] block = new double[6][6];
      for (int i = 0; i < 6; i++) {
        for (int j = 0; j < 6; j++) {
          block[i][j] = dense[48 + i][48 + j];
        }
      }
      try (Eigenpairs top = Lanczos.withDefaults().largest(data.hessian(bias), data.algebra(), 6,
          rnd)) {
        double[] want = DenseEigen.of(block).largest(6);
        for (int i = 0; i < 6; i++) {
          assertEquals(want[i], top.value(i), 1e-10 * Math.abs(want[0]));
        }
        assertEquals(bias, top.vector(0).layout());
      }
    }
  }

  @Test
  void multipleEigenvaluesAreFoundAfterABreakdown() {
    // spectrum {5, 5, 5, 1, ..., 1, −2}: two distinct values at the top, the Krylov space of one
    // start vector has dimension 3, and a restart is needed for each further copy
    double[] lambda = new double[N];
    java.util.Arrays.fill(lambda, 1);
    lambda[0] = 5;
    lambda[1] = 5;
    lambda[2] = 5;
    lambda[3] = -2;
    double[][] a = DenseEigen.randomWithSpectrum(lambda, new SplittableRandom(8));
    DenseOperator op = new DenseOperator(LAYOUT, a);
    try (Eigenpairs top =
        Lanczos.withDefaults().largest(op, ArrayAlgebra.INSTANCE, 4, new SplittableRandom(9))) {
      assertEquals(5, top.value(0), 1e-10);
      assertEquals(5, top.value(1), 1e-10);
      assertEquals(5, top.value(2), 1e-10);
      assertEquals(1, top.value(3), 1e-10);
      for (int i = 0; i < 3; i++) {
        for (int j = 0; j < i; j++) {
          assertEquals(0, top.vector(i).dot(top.vector(j)), 1e-10);
        }
      }
    }
  }

  @Test
  void powerIterationAgreesWithLanczos() {
    // positive semi-definite with a decaying spectrum, as Hessians near a minimum: the dominant
    // eigenvalues are the largest ones
    double[] lambda = new double[N];
    for (int i = 0; i < N; i++) {
      lambda[i] = 10 * Math.pow(0.7, i);
    }
    double[][] a = DenseEigen.randomWithSpectrum(lambda, new SplittableRandom(4));
    DenseOperator op = new DenseOperator(LAYOUT, a);
    int k = 5;
    try (Eigenpairs lz = Lanczos.withDefaults().largest(op, ArrayAlgebra.INSTANCE, k,
            new SplittableRandom(1));
        Eigenpairs pyhessian = PowerIteration.withDefaults().dominant(op, ArrayAlgebra.INSTANCE,
            k, new SplittableRandom(2));
        Eigenpairs tight = PowerIteration.builder().maxIterations(5000).tolerance(1e-12).build()
            .dominant(op, ArrayAlgebra.INSTANCE, k, new SplittableRandom(3))) {
      for (int i = 0; i < k; i++) {
        assertEquals(lambda[i], lz.value(i), 1e-8 * lambda[0]);
        // PyHessian's defaults (tolerance 1e-3 on the change of the estimate, ratio 0.7 between
        // neighbours): agree to 1 % — the looser bound the method gives
        assertEquals(lambda[i], pyhessian.value(i), 1e-2 * lambda[i], "pyhessian pair " + i);
        // tight tolerance: agree to 1e-6
        assertEquals(lambda[i], tight.value(i), 1e-6 * lambda[i], "tight pair " + i);
      }
      assertTrue(lz.products() < pyhessian.products(),
          "Lanczos " + lz.products() + " vs power iteration " + pyhessian.products());
    }
  }

  @Test
  void listenerSeesEveryStep() {
    double[][] a = randomSymmetric(7);
    List<AnalysisProgress> seen = new ArrayList<>();
    try (Eigenpairs top = Lanczos.builder().listener(seen::add).build()
        .largest(new DenseOperator(LAYOUT, a), ArrayAlgebra.INSTANCE, 2, new SplittableRandom(1))) {
      assertEquals(top.iterations(), seen.size());
      assertEquals(top.products(), seen.get(seen.size() - 1).products());
      assertEquals("lanczos-largest", seen.get(0).task());
      assertEquals(top.value(0), seen.get(seen.size() - 1).estimate(), 1e-12);
    }
  }

  @Test
  void theIterationCapIsReportedAsNotConverged() {
    double[][] a = randomSymmetric(5);
    try (Eigenpairs top = Lanczos.builder().maxIterations(6).build()
        .largest(new DenseOperator(LAYOUT, a), ArrayAlgebra.INSTANCE, 3, new SplittableRandom(1))) {
      assertFalse(top.converged());
      assertEquals(6, top.products());
    }
  }

  @Test
  void lowerPrecisionBackendsGetALooserTolerance() {
    // a float32 backend cannot reach a 1e-7 residual: Lanczos uses at least 1e-4 there
    double[][] a = randomSymmetric(9);
    io.github.sgdph.tensor.TensorAlgebra float32 = FLOAT32;
    DenseOperator op = new DenseOperator(LAYOUT, a);
    try (Eigenpairs f64 = Lanczos.withDefaults().largest(op, ArrayAlgebra.INSTANCE, 3,
            new SplittableRandom(1));
        Eigenpairs f32 = Lanczos.withDefaults().largest(op, float32, 3, new SplittableRandom(1))) {
      assertTrue(f32.converged());
      assertTrue(f32.products() < f64.products(), f32.products() + " vs " + f64.products());
      for (int i = 0; i < 3; i++) {
        assertEquals(f64.value(i), f32.value(i), 1e-4 * Math.abs(f64.value(0)));
        assertTrue(f32.residualNorms()[i] <= Lanczos.FLOAT32_FLOOR * 2 * Math.abs(f64.value(0)));
      }
    }
  }

  /** An algebra that reports float32 (its arithmetic is the float64 test algebra's). */
  static final io.github.sgdph.tensor.TensorAlgebra FLOAT32 =
      new io.github.sgdph.tensor.TensorAlgebra() {
        @Override
        public io.github.sgdph.tensor.DType dtype() {
          return io.github.sgdph.tensor.DType.FLOAT32;
        }

        @Override
        public String backendName() {
          return "test-float32";
        }

        @Override
        public io.github.sgdph.tensor.Tensor zeros(int... shape) {
          return ArrayAlgebra.INSTANCE.zeros(shape);
        }

        @Override
        public io.github.sgdph.tensor.Tensor fromArray(double[] values, int... shape) {
          return ArrayAlgebra.INSTANCE.fromArray(values, shape);
        }
      };

  /** {@code op}'s products rounded to float32, as a float32 backend returns them. */
  static LinearOperator roundedToFloat32(DenseOperator op) {
    return new LinearOperator() {
      @Override
      public ParameterLayout domain() {
        return op.domain();
      }

      @Override
      public ParameterVector apply(ParameterVector v) {
        double[] y;
        try (ParameterVector w = op.apply(v)) {
          y = w.toDoubleArray();
        }
        for (int i = 0; i < y.length; i++) {
          y[i] = (float) y[i];
        }
        return ParameterVector.fromArray(FLOAT32, op.domain(), y);
      }
    };
  }

  /**
   * The float32 form of {@link #multipleEigenvaluesAreFoundAfterABreakdown}, as on the bundled
   * case linear-mse-probe (a linear model under MSE: every eigenvalue of its Hessian is triple).
   * Rounding keeps {@code β} at the end of the first Krylov block above float64's breakdown
   * threshold (1e-12) instead of at 0: without treating a {@code β} below the float32 tolerance
   * as a breakdown, the second converged value was 1 — one copy of 5 only.
   */
  @Test
  void multipleEigenvaluesAreFoundInFloat32Too() {
    double[] lambda = new double[N];
    java.util.Arrays.fill(lambda, 1);
    lambda[0] = 5;
    lambda[1] = 5;
    lambda[2] = 5;
    lambda[3] = -2;
    double[][] a = DenseEigen.randomWithSpectrum(lambda, new SplittableRandom(8));
    LinearOperator op = roundedToFloat32(new DenseOperator(LAYOUT, a));
    for (long seed = 1; seed <= 5; seed++) {
      try (Eigenpairs top = Lanczos.withDefaults().largest(op, FLOAT32, 4,
          new SplittableRandom(seed))) {
        assertTrue(top.converged());
        // the float32 floor: residuals (hence eigenvalue errors) up to 1e-4·‖T‖, ‖T‖ <= 5 + 2
        double tol = Lanczos.FLOAT32_FLOOR * 7;
        assertEquals(5, top.value(0), tol, "seed " + seed);
        assertEquals(5, top.value(1), tol, "seed " + seed);
        assertEquals(5, top.value(2), tol, "seed " + seed);
        assertEquals(1, top.value(3), tol, "seed " + seed);
      }
    }
  }

  @Test
  void badArgumentsNameTheParameter() {
    DenseOperator op = new DenseOperator(LAYOUT, randomSymmetric(1));
    SplittableRandom rnd = new SplittableRandom(1);
    assertMessage("k:", () -> Lanczos.withDefaults().largest(op, ArrayAlgebra.INSTANCE, 0, rnd));
    assertMessage("k:", () -> Lanczos.withDefaults().largest(op, ArrayAlgebra.INSTANCE, N + 1,
        rnd));
    assertMessage("k:", () -> Lanczos.builder().maxIterations(3).build().largest(op,
        ArrayAlgebra.INSTANCE, 4, rnd));
    assertMessage("maxIterations:", () -> Lanczos.builder().maxIterations(0));
    assertMessage("tolerance:", () -> Lanczos.builder().tolerance(0));
    assertMessage("tolerance:", () -> Lanczos.builder().tolerance(Double.NaN));
    assertMessage("maxIterations:", () -> PowerIteration.builder().maxIterations(-1));
    assertMessage("tolerance:", () -> PowerIteration.builder().tolerance(1));
    assertMessage("k:", () -> PowerIteration.withDefaults().dominant(op, ArrayAlgebra.INSTANCE,
        0, rnd));
  }

  @Test
  void aNonFiniteProductIsAnError() {
    double[][] a = randomSymmetric(1);
    a[3][3] = Double.NaN;
    DenseOperator op = new DenseOperator(LAYOUT, a);
    assertThrows(ArithmeticException.class,
        () -> Lanczos.withDefaults().largest(op, ArrayAlgebra.INSTANCE, 1,
            new SplittableRandom(1)));
    assertThrows(ArithmeticException.class,
        () -> PowerIteration.withDefaults().dominant(op, ArrayAlgebra.INSTANCE, 1,
            new SplittableRandom(1)));
  }

  static void assertMessage(String prefix, org.junit.jupiter.api.function.Executable e) {
    IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
    assertTrue(ex.getMessage().startsWith(prefix), ex.getMessage());
  }

  static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  static ParameterVector vector(double[] v) {
    return ParameterVector.fromArray(ArrayAlgebra.INSTANCE, LAYOUT, v);
  }
}
