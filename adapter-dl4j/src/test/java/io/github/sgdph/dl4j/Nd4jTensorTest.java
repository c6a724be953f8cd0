package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.tensor.DType;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The tensor algebra over {@code INDArray}s: in place, both dtypes, any ordering. */
class Nd4jTensorTest {
  private static final Nd4jAlgebra F64 = Nd4jAlgebra.of(DType.FLOAT64);
  private static final Nd4jAlgebra F32 = Nd4jAlgebra.of(DType.FLOAT32);

  @Test
  void arithmeticIsInPlaceAndRowMajor() {
    Nd4jTensor a = F64.fromArray(new double[] {1, -2, 3, -4, 5, -6}, 2, 3);
    Nd4jTensor b = F64.fromArray(new double[] {1, 1, 2, 2, 3, 3}, 2, 3);
    INDArray live = a.array();
    assertSame(a, a.scale(2).axpy(-1, b).mul(b).abs());
    assertArrayEquals(new double[] {1, 5, 8, 20, 21, 45}, a.toDoubleArray(), 0);
    assertSame(live, a.array(), "no new array");
    a.div(b).sqrt().addScalar(-1).max(1.5);
    assertArrayEquals(new double[] {1.5, 1.5, 1.5, 2.16227766016838, 1.6457513110645907,
        2.872983346207417}, a.toDoubleArray(), 1e-15);
    assertEquals(1 + 1 + 4 + 4 + 9 + 9, b.dot(b), 0);
    assertEquals(12, b.sum(), 0);
    assertEquals(3, b.maxAbs(), 0);
    a.fill(7).assign(b);
    assertArrayEquals(b.toDoubleArray(), a.toDoubleArray(), 0);
    a.max(F64.fromArray(new double[] {0, 5, 0, 5, 0, 5}, 2, 3));
    assertArrayEquals(new double[] {1, 5, 2, 5, 3, 5}, a.toDoubleArray(), 0);
  }

  @Test
  void fOrderArraysAndTransposedViewsWorkInPlace() {
    // DL4J's dense weight: [in, out] in 'f' order; PyTorch's [out, in] is its transpose
    INDArray w = Nd4j.create(new double[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3}, 'f');
    Nd4jTensor t = F64.wrap(w.transpose());
    assertArrayEquals(new int[] {3, 2}, t.shape());
    assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, t.toDoubleArray(), 0,
        "the transpose of an 'f' [2, 3] array is the 'c' [3, 2] array of the same memory");
    t.axpy(10, F64.fromArray(new double[] {1, 1, 1, 1, 1, 1}, 3, 2));
    assertEquals(11, w.getDouble(0, 0), 0, "updates land in the wrapped array");
    // operands of another shape with the same count are read row-major
    Nd4jTensor flat = F64.fromArray(new double[] {1, 2, 3, 4, 5, 6}, 6);
    assertEquals(11 + 2 * 12 + 3 * 13 + 4 * 14 + 5 * 15 + 6 * 16, t.dot(flat), 0);
  }

  @Test
  void float32RoundsAndDotAccumulates() {
    Nd4jTensor a = F32.fromArray(new double[] {0.1, 0.2}, 2);
    assertEquals(DataType.FLOAT, a.array().dataType());
    assertEquals((double) 0.1f, a.toDoubleArray()[0], 0);
    io.github.sgdph.tensor.Tensor r = F32.randomNormal(new SplittableRandom(1), 1000);
    io.github.sgdph.tensor.Tensor s = F32.randomNormal(new SplittableRandom(1), 1000);
    assertEquals(r.dot(r), r.dot(s), 0);
    assertEquals(r.norm() * r.norm(), r.dot(r), 1e-3);
  }

  @Test
  void nonFiniteValuesAreSeen() {
    Nd4jTensor a = F64.fromArray(new double[] {1, Double.NaN, -7}, 3);
    assertFalse(a.allFinite());
    assertTrue(Double.isNaN(a.maxAbs()));
    Nd4jTensor b = F64.fromArray(new double[] {1, Double.NEGATIVE_INFINITY}, 2);
    assertFalse(b.allFinite());
    assertTrue(F64.zeros(4).allFinite());
    assertEquals(0, F64.zeros(0).maxAbs(), 0);
  }

  @Test
  void misuseIsRejected() {
    Nd4jTensor a = F64.zeros(3);
    IllegalArgumentException size =
        assertThrows(IllegalArgumentException.class, () -> a.axpy(1, F64.zeros(4)));
    assertTrue(size.getMessage().contains("size mismatch"), size.getMessage());
    IllegalArgumentException dtype =
        assertThrows(IllegalArgumentException.class, () -> a.assign(F32.zeros(3)));
    assertTrue(dtype.getMessage().contains("dtype"), dtype.getMessage());
    assertThrows(IllegalArgumentException.class, () -> F64.fromArray(new double[2], 3));
    assertThrows(IllegalArgumentException.class,
        () -> F64.wrap(Nd4j.zeros(DataType.FLOAT, 2)));
    a.close();
    a.close();
    assertThrows(IllegalStateException.class, a::sum);
  }

  @Test
  void allFiniteIsExactForNanInfinityAndOverflowingSums() {
    for (Nd4jAlgebra alg : new Nd4jAlgebra[] {F32, F64}) {
      double big = alg == F32 ? 3e38 : 1.7e308;
      Nd4jTensor fine = alg.fromArray(new double[] {1, -2, 3}, 3);
      Nd4jTensor overflowing = alg.fromArray(new double[] {big, big, big}, 3);
      Nd4jTensor nan = alg.fromArray(new double[] {1, Double.NaN, 3}, 3);
      Nd4jTensor inf = alg.fromArray(new double[] {1, Double.POSITIVE_INFINITY, 3}, 3);
      Nd4jTensor cancelling = alg.fromArray(
          new double[] {Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY}, 2);
      Nd4jTensor empty = alg.zeros(0);
      assertTrue(fine.allFinite());
      assertTrue(overflowing.allFinite(), "a sum that overflows is no false positive");
      assertTrue(empty.allFinite());
      assertFalse(nan.allFinite());
      assertFalse(inf.allFinite());
      assertFalse(cancelling.allFinite());
      assertTrue(alg.allFinite(fine, overflowing, empty));
      assertTrue(alg.allFinite());
      assertFalse(alg.allFinite(fine, overflowing, inf));
      assertFalse(alg.allFinite(fine, nan));
      assertFalse(alg.allFinite(cancelling, fine));
      // the blocks' sums cancel to a finite total only if each is finite
      Nd4jTensor plusInf = alg.fromArray(new double[] {Double.POSITIVE_INFINITY}, 1);
      Nd4jTensor minusInf = alg.fromArray(new double[] {Double.NEGATIVE_INFINITY}, 1);
      assertFalse(alg.allFinite(plusInf, minusInf));
    }
  }
}
