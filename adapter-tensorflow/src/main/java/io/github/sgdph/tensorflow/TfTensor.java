package io.github.sgdph.tensorflow;

import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Shapes;
import io.github.sgdph.tensor.Tensor;
import org.tensorflow.ndarray.buffer.DoubleDataBuffer;
import org.tensorflow.ndarray.buffer.FloatDataBuffer;

/**
 * A tensor of the TensorFlow backend: it owns one TensorFlow {@code TFloat32} or {@code
 * TFloat64} tensor in native memory, which a {@code Session.run} takes as a feed without a copy
 * and which products return without a copy (see the package documentation).
 *
 * <p>The element-wise operations of {@link Tensor} run in Java on the native buffer, in place, in
 * the tensor's dtype,
 * through bulk copies into per-thread scratch arrays (a memory copy each way, about 0.1 ms for
 * 270,000 float32 entries); reductions accumulate in float64. Binary operations take another
 * {@code TfTensor} of the same dtype and element count and throw {@link
 * IllegalArgumentException} otherwise; a closed tensor throws {@link IllegalStateException}.
 * Not thread-safe.
 */
public final class TfTensor implements Tensor {
  private final TfAlgebra algebra;
  private final int[] shape;
  private final int size;
  private final ResultLease lease;
  private org.tensorflow.Tensor tensor;
  private final FloatDataBuffer f;
  private final DoubleDataBuffer d;

  TfTensor(TfAlgebra algebra, org.tensorflow.Tensor tensor, int[] shape, ResultLease lease) {
    this.algebra = algebra;
    this.tensor = tensor;
    this.shape = shape.clone();
    this.size = Shapes.size(shape);
    this.lease = lease;
    if (algebra.dtype() == DType.FLOAT32) {
      this.f = tensor.asRawTensor().data().asFloats();
      this.d = null;
    } else {
      this.f = null;
      this.d = tensor.asRawTensor().data().asDoubles();
    }
  }

  /**
   * The TensorFlow tensor itself, without a copy, for feeding it to a {@code Session} of one's
   * own. It stays owned by this object: do not close it, and do not use it after {@link
   * #close()}.
   *
   * @return the live TensorFlow tensor
   * @throws IllegalStateException if this tensor is closed
   */
  public org.tensorflow.Tensor tensorflowTensor() {
    return live();
  }

  private org.tensorflow.Tensor live() {
    org.tensorflow.Tensor t = tensor;
    if (t == null) {
      throw new IllegalStateException("tensor" + Shapes.toString(shape) + ": used after close()");
    }
    return t;
  }

  private TfTensor other(Tensor x, String op) {
    live();
    if (!(x instanceof TfTensor o)) {
      throw new IllegalArgumentException(
          op + ": operand of backend '" + (x == null ? "null" : x.algebra().backendName())
              + "' but this tensor is of backend 'tensorflow'");
    }
    if (o.algebra != algebra) {
      throw new IllegalArgumentException(
          op + ": dtype mismatch " + o.algebra.dtype().jsonName() + " vs "
              + algebra.dtype().jsonName());
    }
    o.live();
    if (o.size != size) {
      throw new IllegalArgumentException(
          op + ": size mismatch " + Shapes.toString(shape) + " vs " + Shapes.toString(o.shape));
    }
    return o;
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
    live();
    return size;
  }

  @Override
  public TfAlgebra algebra() {
    return algebra;
  }

  /** Whether this tensor has exactly {@code s} as its shape. */
  boolean hasShape(int[] s) {
    return java.util.Arrays.equals(shape, s);
  }

  @Override
  public TfTensor copy() {
    live();
    org.tensorflow.Tensor t = algebra.allocate(shape);
    if (f != null) {
      f.copyTo(t.asRawTensor().data().asFloats(), size);
    } else {
      d.copyTo(t.asRawTensor().data().asDoubles(), size);
    }
    return new TfTensor(algebra, t, shape, null);
  }

  /** A copy with another shape of the same size. */
  TfTensor copyAs(int[] newShape) {
    live();
    if (Shapes.size(newShape) != size) {
      throw new IllegalArgumentException(
          "shape: " + Shapes.toString(newShape) + " does not have " + size + " entries");
    }
    org.tensorflow.Tensor t = algebra.allocate(newShape);
    if (f != null) {
      f.copyTo(t.asRawTensor().data().asFloats(), size);
    } else {
      d.copyTo(t.asRawTensor().data().asDoubles(), size);
    }
    return new TfTensor(algebra, t, newShape, null);
  }

  @Override
  public TfTensor zerosLike() {
    live();
    return algebra.zeros(shape);
  }

  @Override
  public TfTensor assign(Tensor source) {
    TfTensor s = other(source, "assign");
    if (s != this) {
      if (f != null) {
        s.f.copyTo(f, size);
      } else {
        s.d.copyTo(d, size);
      }
    }
    return this;
  }

  @Override
  public TfTensor fill(double value) {
    live();
    if (f != null) {
      float[] a = Scratch.floats(0, size);
      java.util.Arrays.fill(a, 0, size, (float) value);
      f.write(a, 0, size);
    } else {
      double[] a = Scratch.doubles(0, size);
      java.util.Arrays.fill(a, 0, size, value);
      d.write(a, 0, size);
    }
    return this;
  }

  // The element-wise operations below are written out one loop each (no lambda per element)
  // and compute in the tensor's dtype, as PyTorch's kernels do: in float32 a scalar factor is
  // rounded to float32 first. A float32 loop that widened every entry to float64 and rounded
  // back was not vectorised by the JIT and took 0.3-0.5 ms per pass over 200,000 entries, the
  // largest part of an SGD step's profile; in float32 arithmetic it takes about 15 µs. Products,
  // quotients, square roots and maxima are the same either way (a float64 result of float32
  // operands rounds to the correctly rounded float32 result).

  private float[] readF(int slot) {
    float[] a = Scratch.floats(slot, size);
    f.read(a, 0, size);
    return a;
  }

  private double[] readD(int slot) {
    double[] a = Scratch.doubles(slot, size);
    d.read(a, 0, size);
    return a;
  }

  @Override
  public TfTensor scale(double alpha) {
    live();
    int n = size;
    if (f != null) {
      float fa = (float) alpha;
      float[] a = readF(0);
      for (int i = 0; i < n; i++) {
        a[i] = fa * a[i];
      }
      f.write(a, 0, n);
    } else {
      double[] a = readD(0);
      for (int i = 0; i < n; i++) {
        a[i] = alpha * a[i];
      }
      d.write(a, 0, n);
    }
    return this;
  }

  @Override
  public TfTensor axpy(double alpha, Tensor x) {
    TfTensor o = other(x, "axpy");
    int n = size;
    if (f != null) {
      float fa = (float) alpha;
      float[] a = readF(0);
      float[] b = o.readF(1);
      for (int i = 0; i < n; i++) {
        a[i] = a[i] + fa * b[i];
      }
      f.write(a, 0, n);
    } else {
      double[] a = readD(0);
      double[] b = o.readD(1);
      for (int i = 0; i < n; i++) {
        a[i] = a[i] + alpha * b[i];
      }
      d.write(a, 0, n);
    }
    return this;
  }

  /**
   * {@code this = beta·this + alpha·x} in one pass (in float32 arithmetic for float32, so it can
   * differ from {@code scale(beta).axpy(alpha, x)} in the last bit).
   */
  @Override
  public TfTensor axpby(double alpha, Tensor x, double beta) {
    TfTensor o = other(x, "axpby");
    int n = size;
    if (f != null) {
      float fa = (float) alpha;
      float fb = (float) beta;
      float[] a = readF(0);
      float[] b = o.readF(1);
      for (int i = 0; i < n; i++) {
        a[i] = fb * a[i] + fa * b[i];
      }
      f.write(a, 0, n);
    } else {
      double[] a = readD(0);
      double[] b = o.readD(1);
      for (int i = 0; i < n; i++) {
        a[i] = beta * a[i] + alpha * b[i];
      }
      d.write(a, 0, n);
    }
    return this;
  }

  @Override
  public TfTensor mul(Tensor x) {
    TfTensor o = other(x, "mul");
    int n = size;
    if (f != null) {
      float[] a = readF(0);
      float[] b = o.readF(1);
      for (int i = 0; i < n; i++) {
        a[i] = a[i] * b[i];
      }
      f.write(a, 0, n);
    } else {
      double[] a = readD(0);
      double[] b = o.readD(1);
      for (int i = 0; i < n; i++) {
        a[i] = a[i] * b[i];
      }
      d.write(a, 0, n);
    }
    return this;
  }

  @Override
  public TfTensor div(Tensor x) {
    TfTensor o = other(x, "div");
    int n = size;
    if (f != null) {
      float[] a = readF(0);
      float[] b = o.readF(1);
      for (int i = 0; i < n; i++) {
        a[i] = a[i] / b[i];
      }
      f.write(a, 0, n);
    } else {
      double[] a = readD(0);
      double[] b = o.readD(1);
      for (int i = 0; i < n; i++) {
        a[i] = a[i] / b[i];
      }
      d.write(a, 0, n);
    }
    return this;
  }

  @Override
  public TfTensor abs() {
    live();
    int n = size;
    if (f != null) {
      float[] a = readF(0);
      for (int i = 0; i < n; i++) {
        a[i] = Math.abs(a[i]);
      }
      f.write(a, 0, n);
    } else {
      double[] a = readD(0);
      for (int i = 0; i < n; i++) {
        a[i] = Math.abs(a[i]);
      }
      d.write(a, 0, n);
    }
    return this;
  }

  @Override
  public TfTensor sqrt() {
    live();
    int n = size;
    if (f != null) {
      float[] a = readF(0);
      for (int i = 0; i < n; i++) {
        a[i] = (float) Math.sqrt(a[i]);
      }
      f.write(a, 0, n);
    } else {
      double[] a = readD(0);
      for (int i = 0; i < n; i++) {
        a[i] = Math.sqrt(a[i]);
      }
      d.write(a, 0, n);
    }
    return this;
  }

  @Override
  public TfTensor max(Tensor x) {
    TfTensor o = other(x, "max");
    int n = size;
    if (f != null) {
      float[] a = readF(0);
      float[] b = o.readF(1);
      for (int i = 0; i < n; i++) {
        a[i] = (float) Math.max((double) a[i], (double) b[i]);
      }
      f.write(a, 0, n);
    } else {
      double[] a = readD(0);
      double[] b = o.readD(1);
      for (int i = 0; i < n; i++) {
        a[i] = Math.max(a[i], b[i]);
      }
      d.write(a, 0, n);
    }
    return this;
  }

  @Override
  public TfTensor max(double value) {
    live();
    int n = size;
    if (f != null) {
      float[] a = readF(0);
      for (int i = 0; i < n; i++) {
        a[i] = (float) Math.max((double) a[i], value);
      }
      f.write(a, 0, n);
    } else {
      double[] a = readD(0);
      for (int i = 0; i < n; i++) {
        a[i] = Math.max(a[i], value);
      }
      d.write(a, 0, n);
    }
    return this;
  }

  @Override
  public TfTensor addScalar(double value) {
    live();
    int n = size;
    if (f != null) {
      float fv = (float) value;
      float[] a = readF(0);
      for (int i = 0; i < n; i++) {
        a[i] = a[i] + fv;
      }
      f.write(a, 0, n);
    } else {
      double[] a = readD(0);
      for (int i = 0; i < n; i++) {
        a[i] = a[i] + value;
      }
      d.write(a, 0, n);
    }
    return this;
  }

  @Override
  public double dot(Tensor x) {
    TfTensor o = other(x, "dot");
    int n = size;
    double s = 0;
    if (f != null) {
      float[] a = Scratch.floats(0, n);
      float[] b = Scratch.floats(1, n);
      f.read(a, 0, n);
      o.f.read(b, 0, n);
      for (int i = 0; i < n; i++) {
        s += (double) a[i] * b[i];
      }
    } else {
      double[] a = Scratch.doubles(0, n);
      double[] b = Scratch.doubles(1, n);
      d.read(a, 0, n);
      o.d.read(b, 0, n);
      for (int i = 0; i < n; i++) {
        s += a[i] * b[i];
      }
    }
    return s;
  }

  @Override
  public double maxAbs() {
    return io.github.sgdph.tensor.HostArrays.maxAbs(values());
  }

  @Override
  public double sum() {
    return io.github.sgdph.tensor.HostArrays.sum(values());
  }

  @Override
  public boolean allFinite() {
    return firstNonFinite() < 0;
  }

  /** The values widened to float64, in a scratch array of length at least {@code size()}. */
  private double[] values() {
    live();
    int n = size;
    if (f != null) {
      float[] a = Scratch.floats(0, n);
      f.read(a, 0, n);
      double[] out = new double[n];
      for (int i = 0; i < n; i++) {
        out[i] = a[i];
      }
      return out;
    }
    double[] out = new double[n];
    d.read(out, 0, n);
    return out;
  }

  /**
   * The index of the first entry that is NaN or infinite, or -1.
   *
   * @return an index in {@code [0, size())} or -1
   */
  int firstNonFinite() {
    live();
    int n = size;
    if (f != null) {
      float[] a = readF(0);
      // x·0 is 0 for every finite x and NaN otherwise: a branch-free scan, then the index
      // (four partial sums: independent additions)
      float p0 = 0;
      float p1 = 0;
      float p2 = 0;
      float p3 = 0;
      int i = 0;
      for (; i + 3 < n; i += 4) {
        p0 += a[i] * 0f;
        p1 += a[i + 1] * 0f;
        p2 += a[i + 2] * 0f;
        p3 += a[i + 3] * 0f;
      }
      for (; i < n; i++) {
        p0 += a[i] * 0f;
      }
      if (p0 + p1 + p2 + p3 == 0) {
        return -1;
      }
      for (int k = 0; k < n; k++) {
        if (!Float.isFinite(a[k])) {
          return k;
        }
      }
    } else {
      double[] a = readD(0);
      double p0 = 0;
      double p1 = 0;
      int i = 0;
      for (; i + 1 < n; i += 2) {
        p0 += a[i] * 0.0;
        p1 += a[i + 1] * 0.0;
      }
      for (; i < n; i++) {
        p0 += a[i] * 0.0;
      }
      if (p0 + p1 == 0) {
        return -1;
      }
      for (int k = 0; k < n; k++) {
        if (!Double.isFinite(a[k])) {
          return k;
        }
      }
    }
    return -1;
  }

  @Override
  public double[] toDoubleArray() {
    return values();
  }

  /** The value of a one-element tensor. */
  double scalar() {
    live();
    if (size != 1) {
      throw new IllegalStateException("tensor" + Shapes.toString(shape) + ": not a scalar");
    }
    return f != null ? f.getFloat(0) : d.getDouble(0);
  }

  @Override
  public void close() {
    org.tensorflow.Tensor t = tensor;
    if (t != null) {
      tensor = null;
      t.close();
      if (lease != null) {
        lease.release();
      }
    }
  }

  @Override
  public String toString() {
    return "TfTensor[" + algebra.dtype().jsonName() + Shapes.toString(shape) + "]"
        + (tensor == null ? " (closed)" : "");
  }

  /** Per-thread scratch arrays for the bulk copies of the element-wise operations. */
  private static final class Scratch {
    private static final ThreadLocal<float[][]> FLOATS =
        ThreadLocal.withInitial(() -> new float[2][0]);
    private static final ThreadLocal<double[][]> DOUBLES =
        ThreadLocal.withInitial(() -> new double[2][0]);

    private Scratch() {}

    static float[] floats(int slot, int n) {
      float[][] s = FLOATS.get();
      if (s[slot].length < n) {
        s[slot] = new float[n];
      }
      return s[slot];
    }

    static double[] doubles(int slot, int n) {
      double[][] s = DOUBLES.get();
      if (s[slot].length < n) {
        s[slot] = new double[n];
      }
      return s[slot];
    }
  }
}
