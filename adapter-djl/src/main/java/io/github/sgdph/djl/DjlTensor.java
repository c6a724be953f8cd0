package io.github.sgdph.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.Arrays;

/**
 * A {@link Tensor} over one DJL {@link NDArray} of the PyTorch engine, owned by the tensor.
 *
 * <p>Arithmetic runs in place on the array's device ({@code muli}, {@code addi}, ...); operations
 * PyTorch has no in-place form for through DJL ({@code abs}, {@code sqrt}, {@code max}, and
 * {@link #assign}/{@link #fill}) compute a new array and take over its storage
 * ({@link NDArray#intern}), so the {@code DjlTensor} and its {@link #array()} object stay the same.
 * Temporaries are closed at once. Reductions read one scalar back to the host. Not thread-safe.
 */
public final class DjlTensor implements Tensor {
  private final DjlAlgebra algebra;
  private final NDArray array;
  private final int[] shape;
  private boolean closed;

  DjlTensor(DjlAlgebra algebra, NDArray array) {
    this.algebra = algebra;
    this.array = array;
    this.shape = DjlAlgebra.intShape(array.getShape());
  }

  /**
   * The array (shared, not a copy): for passing the values to DJL code. It stays owned by this
   * tensor.
   *
   * @return the array
   * @throws IllegalStateException if the tensor is closed
   */
  public NDArray array() {
    ensureOpen();
    return array;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("tensor: used after close()");
    }
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
    long n = 1;
    for (int d : shape) {
      n *= d;
    }
    return n;
  }

  @Override
  public DjlAlgebra algebra() {
    return algebra;
  }

  @Override
  public DjlTensor copy() {
    ensureOpen();
    return algebra.adopt(array.duplicate());
  }

  @Override
  public DjlTensor zerosLike() {
    ensureOpen();
    return algebra.zeros(shape);
  }

  /**
   * The array of another tensor of the same dtype and size, in this tensor's shape.
   *
   * @return the array itself or a reshaped view that the caller closes ({@code != x.array})
   */
  private NDArray operand(Tensor x, String op) {
    ensureOpen();
    if (!(x instanceof DjlTensor t)) {
      throw new IllegalArgumentException(
          op + ": expected a djl tensor but got one of "
              + (x == null ? "null" : x.algebra().backendName()));
    }
    t.ensureOpen();
    if (t.dtype() != dtype()) {
      throw new IllegalArgumentException(
          op + ": dtype mismatch " + dtype().jsonName() + " vs " + t.dtype().jsonName());
    }
    if (t.size() != size()) {
      throw new IllegalArgumentException(
          op + ": size mismatch " + Arrays.toString(shape) + " vs " + Arrays.toString(t.shape));
    }
    if (!t.array.getDevice().equals(array.getDevice())) {
      throw new IllegalArgumentException(
          op + ": device mismatch " + array.getDevice() + " vs " + t.array.getDevice());
    }
    return Arrays.equals(t.shape, shape) ? t.array : t.array.reshape(array.getShape());
  }

  private static void release(NDArray maybeTemporary, Tensor x) {
    if (maybeTemporary != ((DjlTensor) x).array) {
      maybeTemporary.close();
    }
  }

  /** Takes over the storage of a new array of the same shape and dtype. */
  private DjlTensor replaceWith(NDArray fresh) {
    NDScope.unregister(fresh);
    array.intern(fresh);
    return this;
  }

  @Override
  public DjlTensor assign(Tensor source) {
    NDArray s = operand(source, "assign");
    try {
      return replaceWith(s.duplicate());
    } finally {
      release(s, source);
    }
  }

  @Override
  public DjlTensor fill(double value) {
    ensureOpen();
    NDArray z = array.zerosLike();
    z.addi(value);
    return replaceWith(z);
  }

  @Override
  public DjlTensor scale(double alpha) {
    ensureOpen();
    array.muli(alpha);
    return this;
  }

  @Override
  public DjlTensor axpy(double alpha, Tensor x) {
    NDArray s = operand(x, "axpy");
    try (NDArray t = s.mul(alpha)) {
      array.addi(t);
    } finally {
      release(s, x);
    }
    return this;
  }

  @Override
  public DjlTensor mul(Tensor x) {
    NDArray s = operand(x, "mul");
    try {
      array.muli(s);
    } finally {
      release(s, x);
    }
    return this;
  }

  @Override
  public DjlTensor div(Tensor x) {
    NDArray s = operand(x, "div");
    try {
      array.divi(s);
    } finally {
      release(s, x);
    }
    return this;
  }

  @Override
  public DjlTensor abs() {
    ensureOpen();
    return replaceWith(array.abs());
  }

  @Override
  public DjlTensor sqrt() {
    ensureOpen();
    return replaceWith(array.sqrt());
  }

  @Override
  public DjlTensor max(Tensor x) {
    NDArray s = operand(x, "max");
    try {
      return replaceWith(array.maximum(s));
    } finally {
      release(s, x);
    }
  }

  @Override
  public DjlTensor max(double value) {
    ensureOpen();
    return replaceWith(array.maximum(value));
  }

  @Override
  public DjlTensor addScalar(double value) {
    ensureOpen();
    array.addi(value);
    return this;
  }

  @Override
  public double dot(Tensor x) {
    NDArray s = operand(x, "dot");
    try (NDArray a = array.flatten();
        NDArray b = s.flatten();
        NDArray d = a.dot(b)) {
      return DjlAlgebra.scalar(d);
    } finally {
      release(s, x);
    }
  }

  @Override
  public double maxAbs() {
    ensureOpen();
    if (size() == 0) {
      return 0;
    }
    try (NDArray a = array.abs();
        NDArray m = a.max()) {
      return DjlAlgebra.scalar(m);
    }
  }

  @Override
  public double sum() {
    ensureOpen();
    try (NDArray s = array.sum()) {
      return DjlAlgebra.scalar(s);
    }
  }

  @Override
  public boolean allFinite() {
    ensureOpen();
    return DjlTensor.allFinite(array);
  }

  /** Whether every element of a floating-point array is finite. */
  static boolean allFinite(NDArray a) {
    return allFinite(new NDArray[] {a});
  }

  /**
   * Whether every entry of every array is finite, with one host read when they are: the arrays'
   * sums, added up on the device. A sum is finite only if every entry is (an infinity or a NaN
   * stays in a sum: ∞ + finite = ∞, ∞ − ∞ = NaN); a non-finite total can also come from finite
   * entries whose sum overflows, so only then is each array checked exactly ({@code 0·x} is NaN
   * exactly for NaN and ±∞). Before, every block of a gradient, an update and the new
   * parameters was checked on its own: four PyTorch calls and one host read per block.
   */
  static boolean allFinite(NDArray[] arrays) {
    try (NDScope scope = new NDScope()) {
      NDArray total = null;
      for (NDArray a : arrays) {
        if (a.size() == 0) {
          continue;
        }
        NDArray s = a.sum();
        total = total == null ? s : total.add(s);
      }
      if (total == null || Double.isFinite(DjlAlgebra.scalar(total))) {
        return true;
      }
    }
    for (NDArray a : arrays) {
      if (!exactlyAllFinite(a)) {
        return false;
      }
    }
    return true;
  }

  private static boolean exactlyAllFinite(NDArray a) {
    if (a.size() == 0) {
      return true;
    }
    // 0·x is NaN exactly for NaN and ±∞
    try (NDArray z = a.mul(0);
        NDArray nan = z.isNaN();
        NDArray any = nan.any()) {
      return !any.getBoolean();
    }
  }

  @Override
  public double[] toDoubleArray() {
    ensureOpen();
    return toHost(array);
  }

  /** The values of a float32 or float64 array on the host, row-major. */
  static double[] toHost(NDArray a) {
    switch (a.getDataType()) {
      case FLOAT64:
        return a.toDoubleArray();
      case FLOAT32: {
        float[] f = a.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
          d[i] = f[i];
        }
        return d;
      }
      default:
        throw new IllegalArgumentException(
            "array: data type " + a.getDataType() + " is not float32 or float64");
    }
  }

  /** The array reshaped to {@code target} (a new view the caller closes) or itself. */
  static NDArray inShape(NDArray a, Shape target) {
    return a.getShape().equals(target) ? a : a.reshape(target);
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      array.close();
    }
  }

  @Override
  public String toString() {
    return "DjlTensor" + Arrays.toString(shape) + "[" + dtype().jsonName() + ", "
        + algebra.device() + (closed ? ", closed" : "") + "]";
  }
}
