package io.github.sgdph.dl4j;

import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Shapes;
import io.github.sgdph.tensor.Tensor;
import java.lang.ref.Reference;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition;
import org.nd4j.linalg.api.ops.impl.reduce3.Dot;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A tensor of the Deeplearning4j adapter: an ND4J {@code INDArray} ({@code FLOAT} or
 * {@code DOUBLE}) with a logical shape.
 *
 * <p>Every operation works in place on the array, whatever its ordering ('c' or 'f') or strides,
 * with ND4J ops (no copy to the host). Binary operations take another {@code Nd4jTensor} of the
 * same dtype and element count; if the shapes differ the operand is read in row-major order.
 * Using a closed tensor throws {@link IllegalStateException}. Not thread-safe.
 */
public final class Nd4jTensor implements Tensor {
  private final Nd4jAlgebra algebra;
  private final int[] shape;
  private final boolean owned;
  private INDArray array;

  Nd4jTensor(Nd4jAlgebra algebra, INDArray array, int[] shape, boolean owned) {
    if (array.length() != Shapes.size(shape)) {
      throw new IllegalArgumentException(
          "array: " + array.length() + " elements do not fit the shape " + Shapes.toString(shape));
    }
    this.algebra = algebra;
    this.shape = shape.clone();
    this.owned = owned;
    this.array =
        Arrays.equals(array.shape(), Nd4jAlgebra.toLong(shape)) || shape.length == 0
            ? array
            : array.reshape('c', Nd4jAlgebra.toLong(shape));
  }

  /**
   * The array itself, <em>without a copy</em>: writing to it changes the tensor.
   *
   * @return the live array
   * @throws IllegalStateException if the tensor is closed
   */
  public INDArray array() {
    return live();
  }

  private INDArray live() {
    INDArray a = array;
    if (a == null) {
      throw new IllegalStateException("tensor" + Shapes.toString(shape) + ": used after close()");
    }
    return a;
  }

  private INDArray other(Tensor x, String op) {
    if (!(x instanceof Nd4jTensor t)) {
      throw new IllegalArgumentException(
          op + ": operand of backend '" + (x == null ? "null" : x.algebra().backendName())
              + "' but this tensor is of backend '" + Dl4jBackend.NAME + "'");
    }
    INDArray a = live();
    INDArray o = t.live();
    if (t.algebra != algebra) {
      throw new IllegalArgumentException(
          op + ": dtype mismatch " + algebra.dtype().jsonName() + " vs "
              + t.algebra.dtype().jsonName());
    }
    if (o.length() != a.length()) {
      throw new IllegalArgumentException(
          op + ": size mismatch " + Shapes.toString(shape) + " vs " + Shapes.toString(t.shape));
    }
    return Arrays.equals(a.shape(), o.shape()) ? o : o.reshape('c', a.shape());
  }

  @Override
  public DType dtype() {
    return algebra.dtype();
  }

  @Override
  public int[] shape() {
    return shape.clone();
  }

  @Override
  public long size() {
    return live().length();
  }

  @Override
  public Nd4jAlgebra algebra() {
    return algebra;
  }

  @Override
  public Nd4jTensor copy() {
    return algebra.own(live().dup(), shape);
  }

  @Override
  public Nd4jTensor zerosLike() {
    return algebra.zeros(shape);
  }

  @Override
  public Nd4jTensor assign(Tensor source) {
    INDArray o = other(source, "assign");
    live().assign(o);
    return this;
  }

  @Override
  public Nd4jTensor fill(double value) {
    live().assign(value);
    return this;
  }

  @Override
  public Nd4jTensor scale(double alpha) {
    live().muli(alpha);
    return this;
  }

  @Override
  public Nd4jTensor axpy(double alpha, Tensor x) {
    INDArray o = other(x, "axpy");
    INDArray a = live();
    Nd4jArrays.exec(new Axpy(o, a, a, alpha, a.length()));
    return this;
  }

  @Override
  public Nd4jTensor mul(Tensor x) {
    live().muli(other(x, "mul"));
    return this;
  }

  @Override
  public Nd4jTensor div(Tensor x) {
    live().divi(other(x, "div"));
    return this;
  }

  @Override
  public Nd4jTensor abs() {
    Transforms.abs(live(), false);
    return this;
  }

  @Override
  public Nd4jTensor sqrt() {
    Transforms.sqrt(live(), false);
    return this;
  }

  @Override
  public Nd4jTensor max(Tensor x) {
    INDArray o = other(x, "max");
    try {
      Transforms.max(live(), o, false);
    } finally {
      // o may be a reshaped view made here: kept until the op has run (Nd4jArrays)
      Reference.reachabilityFence(o);
    }
    return this;
  }

  @Override
  public Nd4jTensor max(double value) {
    Transforms.max(live(), value, false);
    return this;
  }

  @Override
  public Nd4jTensor addScalar(double value) {
    live().addi(value);
    return this;
  }

  @Override
  public double dot(Tensor x) {
    INDArray o = other(x, "dot");
    INDArray a = live();
    if (a.isEmpty()) {
      return 0;
    }
    return Nd4jArrays.exec(new Dot(a, o)).getDouble(0);
  }

  @Override
  public double maxAbs() {
    INDArray a = live();
    if (a.isEmpty()) {
      return 0;
    }
    if (count(a, true) > 0) {
      return Double.NaN;
    }
    return Nd4jArrays.maxAbsAll(a);
  }

  @Override
  public double sum() {
    INDArray a = live();
    return a.isEmpty() ? 0 : Nd4jArrays.sumAll(a);
  }

  @Override
  public boolean allFinite() {
    return Nd4jArrays.allFinite(live());
  }

  /** The number of NaN entries ({@code nanOnly}) or of non-finite entries. */
  static long count(INDArray a, boolean nanOnly) {
    return Nd4jArrays.exec(
        new MatchCondition(a, nanOnly ? Conditions.isNan() : Conditions.notFinite())).getLong(0);
  }

  @Override
  public double[] toDoubleArray() {
    INDArray a = live();
    if (a.isEmpty()) {
      return new double[0];
    }
    return Nd4j.toFlattened('c', a).toDoubleVector();
  }

  @Override
  public void close() {
    INDArray a = array;
    array = null;
    if (a != null && owned && a.closeable()) {
      a.close();
    }
  }

  @Override
  public String toString() {
    return "Nd4jTensor" + Shapes.toString(shape) + "[" + algebra.dtype().jsonName()
        + (array == null ? ", closed" : "") + "]";
  }
}
