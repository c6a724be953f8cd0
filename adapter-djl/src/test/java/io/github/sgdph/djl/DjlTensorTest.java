package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The tensor algebra over NDArrays, in both dtypes, against plain Java arithmetic. */
class DjlTensorTest {
  private static DjlAlgebra f32;
  private static DjlAlgebra f64;

  @BeforeAll
  static void open() {
    f32 = DjlAlgebra.create(DType.FLOAT32, Device.cpu());
    f64 = DjlAlgebra.create(DType.FLOAT64, Device.cpu());
  }

  @AfterAll
  static void close() {
    f32.close();
    f64.close();
  }

  private static DjlAlgebra alg(DType t) {
    return t == DType.FLOAT64 ? f64 : f32;
  }

  private static double tol(DType t) {
    return t == DType.FLOAT64 ? 1e-15 : 1e-6;
  }

  private static void assertValues(double[] expected, Tensor t, DType d) {
    double[] a = t.toDoubleArray();
    assertEquals(expected.length, a.length);
    for (int i = 0; i < a.length; i++) {
      assertEquals(expected[i], a[i], tol(d) * Math.max(1, Math.abs(expected[i])), "element " + i);
    }
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void arithmeticMatchesJava(DType d) {
    DjlAlgebra a = alg(d);
    double[] x = {1.5, -2.25, 3.0, 0.5, -0.125, 4.0};
    double[] y = {0.5, 2.0, -1.0, 8.0, 0.25, -3.0};
    try (DjlTensor t = a.fromArray(x, 2, 3); DjlTensor u = a.fromArray(y, 3, 2)) {
      assertEquals(d, t.dtype());
      assertArrayEquals(new int[] {2, 3}, t.shape());
      assertEquals(6, t.size());
      NDArray before = t.array();
      t.scale(2).axpy(-0.5, u);
      double[] e = new double[6];
      for (int i = 0; i < 6; i++) {
        e[i] = 2 * x[i] - 0.5 * y[i];
      }
      assertValues(e, t, d);
      t.mul(u);
      for (int i = 0; i < 6; i++) {
        e[i] *= y[i];
      }
      assertValues(e, t, d);
      t.div(u);
      for (int i = 0; i < 6; i++) {
        e[i] /= y[i];
      }
      assertValues(e, t, d);
      t.abs().addScalar(1).sqrt();
      for (int i = 0; i < 6; i++) {
        e[i] = Math.sqrt(Math.abs(e[i]) + 1);
      }
      assertValues(e, t, d);
      t.max(u).max(1.7);
      for (int i = 0; i < 6; i++) {
        e[i] = Math.max(Math.max(e[i], y[i]), 1.7);
      }
      assertValues(e, t, d);
      assertSame(before, t.array(), "in place: the same NDArray object");
      double dot = 0;
      double sum = 0;
      double maxAbs = 0;
      for (int i = 0; i < 6; i++) {
        dot += e[i] * y[i];
        sum += e[i];
        maxAbs = Math.max(maxAbs, Math.abs(e[i]));
      }
      assertEquals(dot, t.dot(u), tol(d) * 10 * Math.abs(dot));
      assertEquals(sum, t.sum(), tol(d) * 10 * Math.abs(sum));
      assertEquals(maxAbs, t.maxAbs(), tol(d) * maxAbs);
      assertEquals(Math.sqrt(dot(e, e)), t.norm(), tol(d) * 10 * Math.sqrt(dot(e, e)));
      t.assign(u);
      assertValues(y, t, d);
      assertArrayEquals(new int[] {2, 3}, t.shape(), "assign keeps the shape");
      t.fill(0.1);
      assertValues(new double[] {0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, t, d);
      try (DjlTensor c = t.copy(); DjlTensor z = t.zerosLike(); Tensor o = t.onesLike()) {
        c.scale(3);
        assertValues(new double[] {0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, t, d);
        assertEquals(0, z.maxAbs());
        assertEquals(6, o.sum(), tol(d) * 6);
      }
    }
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void float64ValuesSurviveExactlyAndFloat32Rounds(DType d) {
    double[] x = {0.1, 1.0 / 3, Math.PI};
    try (DjlTensor t = alg(d).fromArray(x, 3)) {
      double[] a = t.toDoubleArray();
      for (int i = 0; i < x.length; i++) {
        assertEquals(d == DType.FLOAT64 ? x[i] : (double) (float) x[i], a[i], 0.0);
      }
      assertEquals(d == DType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32,
          t.array().getDataType());
    }
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void nonFiniteValuesAreSeen(DType d) {
    try (DjlTensor ok = alg(d).fromArray(new double[] {1, 2}, 2);
        DjlTensor nan = alg(d).fromArray(new double[] {1, Double.NaN}, 2);
        DjlTensor inf = alg(d).fromArray(new double[] {Double.NEGATIVE_INFINITY, 0}, 2)) {
      assertTrue(ok.allFinite());
      assertFalse(nan.allFinite());
      assertFalse(inf.allFinite());
      assertTrue(Double.isNaN(nan.maxAbs()), "maxAbs propagates NaN");
      nan.fill(2);
      assertTrue(nan.allFinite(), "fill replaces a NaN");
    }
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void randomTensorsAreTheSameOnEveryBackend(DType d) {
    try (Tensor t = alg(d).randomNormal(new SplittableRandom(3), 4)) {
      SplittableRandom r = new SplittableRandom(3);
      double[] e = new double[4];
      for (int i = 0; i < 4; i++) {
        e[i] = r.nextGaussian();
      }
      assertValues(e, t, d);
    }
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void badOperandsAndClosedTensorsAreRejected(DType d) {
    DjlAlgebra a = alg(d);
    DjlAlgebra other = alg(d == DType.FLOAT64 ? DType.FLOAT32 : DType.FLOAT64);
    try (DjlTensor t = a.fromArray(new double[] {1, 2, 3}, 3);
        DjlTensor shorter = a.fromArray(new double[] {1, 2}, 2);
        DjlTensor wrongType = other.fromArray(new double[] {1, 2, 3}, 3)) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> t.axpy(1, shorter));
      assertTrue(e.getMessage().contains("size"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> t.dot(wrongType));
      assertTrue(e.getMessage().contains("dtype"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> a.fromArray(new double[2], 3));
      assertTrue(e.getMessage().contains("values"), e.getMessage());
    }
    DjlTensor c = a.zeros(2);
    c.close();
    c.close();
    assertThrows(IllegalStateException.class, c::sum);
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  @SuppressWarnings("try")
  void tensorsSurviveTheCallersScope(DType d) {
    DjlTensor kept;
    try (NDScope scope = new NDScope()) {
      kept = alg(d).fromArray(new double[] {1, 2}, 2);
      try (DjlTensor c = kept.copy()) {
        c.abs();
      }
      kept.abs();
    }
    assertEquals(3, kept.sum(), 0.0);
    kept.close();
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void wrapTakesOverAnArrayOfTheRightType(DType d) {
    DjlAlgebra a = alg(d);
    NDArray arr = a.manager().newSubManager().ones(DjlAlgebra.shapeOf(2, 2), a.dataType());
    try (DjlTensor t = a.wrap(arr)) {
      assertEquals(4, t.sum(), 0.0);
    }
    NDArray wrong = a.manager().ones(DjlAlgebra.shapeOf(2),
        d == DType.FLOAT64 ? DataType.FLOAT32 : DataType.FLOAT64);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.wrap(wrong));
    assertTrue(e.getMessage().contains("data type"), e.getMessage());
    wrong.close();
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void allFiniteIsExactForNanInfinityAndOverflowingSums(DType d) {
    DjlAlgebra a = alg(d);
    double big = d == DType.FLOAT32 ? 3e38 : 1.7e308;
    try (DjlTensor fine = a.fromArray(new double[] {1, -2, 3}, 3);
        DjlTensor huge = a.fromArray(new double[] {big, big, big}, 3);
        DjlTensor nan = a.fromArray(new double[] {1, Double.NaN, 3}, 3);
        DjlTensor inf = a.fromArray(new double[] {1, Double.POSITIVE_INFINITY, 3}, 3);
        DjlTensor plus = a.fromArray(new double[] {Double.POSITIVE_INFINITY}, 1);
        DjlTensor minus = a.fromArray(new double[] {Double.NEGATIVE_INFINITY}, 1);
        DjlTensor empty = a.zeros(0)) {
      assertTrue(fine.allFinite());
      assertTrue(huge.allFinite(), "a sum that overflows is no false positive");
      assertTrue(empty.allFinite());
      assertFalse(nan.allFinite());
      assertFalse(inf.allFinite());
      assertTrue(a.allFinite(fine, huge, empty));
      assertTrue(a.allFinite());
      assertFalse(a.allFinite(fine, huge, nan));
      assertFalse(a.allFinite(plus, minus), "sums that cancel are still infinite");
      assertTrue(fine.axpby(2, huge.copy().scale(0), 0.5).allFinite());
    }
  }
}
