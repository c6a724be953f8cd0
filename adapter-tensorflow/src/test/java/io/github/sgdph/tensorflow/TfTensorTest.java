package io.github.sgdph.tensorflow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The tensor algebra over TensorFlow tensors, in both dtypes, against plain arithmetic. */
class TfTensorTest {

  @ParameterizedTest
  @EnumSource(DType.class)
  void required_operationsMatchPlainArithmetic(DType dtype) {
    TfAlgebra alg = TfAlgebra.of(dtype);
    try (TfTensor a = alg.fromArray(new double[] {1, -2, 3, -4, 0.5, 6}, 2, 3);
        TfTensor b = alg.fromArray(new double[] {2, 2, -1, 4, 0.25, 3}, 3, 2)) {
      assertEquals(dtype, a.dtype());
      assertArrayEquals(new int[] {2, 3}, a.shape());
      assertEquals(6, a.size());
      assertEquals(2 - 4 - 3 - 16 + 0.125 + 18, a.dot(b), 1e-6);
      assertEquals(6, a.maxAbs(), 0);
      assertEquals(4.5, a.sum(), 1e-6);
      try (TfTensor c = a.copy()) {
        c.axpy(2, b).scale(0.5);
        assertArrayEquals(new double[] {2.5, 1, 0.5, 2, 0.5, 6}, c.toDoubleArray(), 1e-6);
        c.mul(b).div(b).abs().addScalar(-1).max(0.0);
        assertArrayEquals(new double[] {1.5, 0, 0, 1, 0, 5}, c.toDoubleArray(), 1e-6);
        c.max(b).sqrt();
        assertArrayEquals(new double[] {Math.sqrt(2), Math.sqrt(2), 0, 2, 0.5, Math.sqrt(5)},
            c.toDoubleArray(), 1e-6);
        c.assign(a);
        assertArrayEquals(a.toDoubleArray(), c.toDoubleArray(), 0);
        c.fill(Double.NaN);
        assertFalse(c.allFinite());
        assertTrue(Double.isNaN(c.maxAbs()));
      }
      try (Tensor z = a.zerosLike(); Tensor o = a.onesLike()) {
        assertEquals(0, z.sum(), 0);
        assertEquals(6, o.sum(), 0);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void required_misuseIsRejected(DType dtype) {
    TfAlgebra alg = TfAlgebra.of(dtype);
    TfAlgebra otherDtype = alg == TfAlgebra.FLOAT32 ? TfAlgebra.FLOAT64 : TfAlgebra.FLOAT32;
    TfTensor a = alg.zeros(3);
    try (TfTensor b = alg.zeros(4); TfTensor c = otherDtype.zeros(3)) {
      assertThrows(IllegalArgumentException.class, () -> a.axpy(1, b));
      assertThrows(IllegalArgumentException.class, () -> a.dot(c));
      assertThrows(IllegalArgumentException.class, () -> alg.fromArray(new double[2], 3));
    }
    a.close();
    a.close();
    assertThrows(IllegalStateException.class, a::sum);
    assertThrows(IllegalStateException.class, a::tensorflowTensor);
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void required_tensorflowTensorsAreAdoptedWithoutACopy(DType dtype) {
    TfAlgebra alg = TfAlgebra.of(dtype);
    org.tensorflow.Tensor raw = alg.upload(new double[] {1, 2, 3}, 3);
    try (TfTensor t = alg.adopt(raw)) {
      assertTrue(t.tensorflowTensor() == raw);
      assertEquals(6, t.sum(), 0);
    }
    org.tensorflow.Tensor wrong = TfAlgebra.of(
        dtype == DType.FLOAT32 ? DType.FLOAT64 : DType.FLOAT32).upload(new double[] {1}, 1);
    try {
      assertThrows(IllegalArgumentException.class, () -> alg.adopt(wrong));
    } finally {
      wrong.close();
    }
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void required_axpbyAndFinitenessOverEveryEntry(DType dtype) {
    TfAlgebra alg = TfAlgebra.of(dtype);
    double big = dtype == DType.FLOAT32 ? 3e38 : 1.7e308;
    try (TfTensor a = alg.fromArray(new double[] {1, -2, 3, 4, 5}, 5);
        TfTensor b = alg.fromArray(new double[] {0.5, 1, -1, 2, 0}, 5);
        TfTensor huge = alg.fromArray(new double[] {big, big, big, big, big}, 5);
        TfTensor nan = alg.fromArray(new double[] {1, 2, 3, 4, Double.NaN}, 5);
        TfTensor inf = alg.fromArray(new double[] {Double.NEGATIVE_INFINITY, 2, 3, 4, 5}, 5)) {
      a.axpby(2, b, 0.5);
      assertArrayEquals(new double[] {1.5, 1, -0.5, 6, 2.5}, a.toDoubleArray(), 1e-6);
      assertTrue(a.allFinite());
      assertTrue(huge.allFinite(), "finite entries, whatever their sum");
      assertFalse(nan.allFinite(), "a NaN in the tail of the unrolled scan");
      assertFalse(inf.allFinite());
      assertTrue(alg.allFinite(a, huge));
      assertFalse(alg.allFinite(a, huge, nan));
      assertEquals(4, nan.firstNonFinite());
      assertEquals(0, inf.firstNonFinite());
      assertEquals(-1, huge.firstNonFinite());
    }
  }
}
