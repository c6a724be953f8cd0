package io.github.sgdph.tensorflow;

import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Shapes;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.Objects;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;

/**
 * The tensor algebra of the TensorFlow backend: {@link TfTensor}s that own a TensorFlow
 * {@code TFloat32} or {@code TFloat64} tensor, the very object a {@code Session.run} is fed
 * with and returns (see the package documentation for why). Use {@link #FLOAT32} or {@link
 * #FLOAT64}; both are stateless and thread-safe.
 */
public final class TfAlgebra implements TensorAlgebra {

  /** Float32 tensors ({@code TFloat32}). */
  public static final TfAlgebra FLOAT32 = new TfAlgebra(DType.FLOAT32);

  /** Float64 tensors ({@code TFloat64}). */
  public static final TfAlgebra FLOAT64 = new TfAlgebra(DType.FLOAT64);

  private final DType dtype;

  private TfAlgebra(DType dtype) {
    this.dtype = dtype;
  }

  /**
   * The algebra of a dtype.
   *
   * @param dtype float32 or float64
   * @return {@link #FLOAT32} or {@link #FLOAT64}
   */
  public static TfAlgebra of(DType dtype) {
    Objects.requireNonNull(dtype, "dtype");
    return dtype == DType.FLOAT32 ? FLOAT32 : FLOAT64;
  }

  @Override
  public DType dtype() {
    return dtype;
  }

  @Override
  public String backendName() {
    return TfBackend.NAME;
  }

  /** The TensorFlow element type of this algebra's tensors. */
  Class<? extends TFloating> tfType() {
    return dtype == DType.FLOAT32 ? TFloat32.class : TFloat64.class;
  }

  static Shape tfShape(int... shape) {
    long[] s = new long[shape.length];
    for (int i = 0; i < s.length; i++) {
      s[i] = shape[i];
    }
    return Shape.of(s);
  }

  /** A new, uninitialised TensorFlow tensor of this dtype. */
  Tensor allocate(int... shape) {
    Shapes.size(shape);
    return dtype == DType.FLOAT32
        ? TFloat32.tensorOf(tfShape(shape))
        : TFloat64.tensorOf(tfShape(shape));
  }

  @Override
  public TfTensor zeros(int... shape) {
    Objects.requireNonNull(shape, "shape");
    return new TfTensor(this, allocate(shape), shape, null).fill(0.0);
  }

  @Override
  public TfTensor fromArray(double[] values, int... shape) {
    Shapes.requireValueCount("values", values, shape);
    return new TfTensor(this, upload(values, shape), shape, null);
  }

  /** A new TensorFlow tensor of this dtype holding {@code values} (rounded to the dtype). */
  Tensor upload(double[] values, int... shape) {
    if (dtype == DType.FLOAT64) {
      return TFloat64.tensorOf(tfShape(shape), DataBuffers.of(values, true, false));
    }
    float[] f = new float[values.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) values[i];
    }
    return TFloat32.tensorOf(tfShape(shape), DataBuffers.of(f, true, false));
  }

  /** A new float32 TensorFlow tensor holding {@code values} (this algebra must be float32). */
  Tensor upload(float[] values, int... shape) {
    if (dtype != DType.FLOAT32) {
      throw new IllegalStateException("upload: float32 values for a " + dtype.jsonName()
          + " algebra");
    }
    return TFloat32.tensorOf(tfShape(shape), DataBuffers.of(values, true, false));
  }

  /**
   * Takes a TensorFlow tensor of this algebra's dtype over (the new {@link TfTensor} closes it).
   *
   * @param tensor a {@code TFloat32} or {@code TFloat64} tensor matching {@link #dtype()}
   * @return the tensor as a {@link TfTensor}
   * @throws IllegalArgumentException for another element type
   */
  public TfTensor adopt(Tensor tensor) {
    return adopt(tensor, null);
  }

  TfTensor adopt(Tensor tensor, ResultLease lease) {
    Objects.requireNonNull(tensor, "tensor");
    if (!tfType().isInstance(tensor)) {
      throw new IllegalArgumentException(
          "tensor: expected a " + tfType().getSimpleName() + " for " + dtype.jsonName()
              + " but got " + tensor.dataType());
    }
    long[] s = tensor.shape().asArray();
    int[] shape = new int[s.length];
    for (int i = 0; i < s.length; i++) {
      shape[i] = Math.toIntExact(s[i]);
    }
    return new TfTensor(this, tensor, shape, lease);
  }

  @Override
  public String toString() {
    return "TfAlgebra[" + dtype.jsonName() + "]";
  }
}
