package io.github.sgdph.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Shapes;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.Objects;

/**
 * The tensor algebra of sgdph over DJL {@link NDArray}s of the PyTorch engine, in one dtype
 * (float32 or float64) on one {@link Device}.
 *
 * <p>Every tensor it creates is attached to the algebra's own {@link NDManager} and removed from
 * any open {@link NDScope}: a {@link DjlTensor} lives until it is closed, or until the algebra
 * is closed, which releases every tensor still open. Random tensors are drawn on the host from
 * the caller's generator and uploaded (the {@link TensorAlgebra} contract), so the same seed
 * gives the same vectors as on every other backend.
 *
 * <p>Thread-safe: tensors may be created from several threads (each tensor itself is not
 * thread-safe).
 */
public final class DjlAlgebra implements TensorAlgebra, AutoCloseable {
  /** The backend name, as the CLI's {@code --backend} takes it. */
  public static final String NAME = "djl";

  private final DType dtype;
  private final Device device;
  private final NDManager manager;

  private DjlAlgebra(DType dtype, Device device) {
    this.dtype = dtype;
    this.device = device;
    this.manager = PyTorchRuntime.newManager(device);
  }

  /**
   * A new algebra with its own manager.
   *
   * @param dtype float32 or float64
   * @param device where the tensors live, e.g. {@link Device#cpu()} or {@code Device.gpu(0)}
   * @return the algebra; close it to release every tensor it made
   */
  public static DjlAlgebra create(DType dtype, Device device) {
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(device, "device");
    return new DjlAlgebra(dtype, device);
  }

  @Override
  public DType dtype() {
    return dtype;
  }

  @Override
  public String backendName() {
    return NAME;
  }

  /**
   * The device of the tensors.
   *
   * @return the device
   */
  public Device device() {
    return device;
  }

  /**
   * The manager the tensors are attached to.
   *
   * @return the algebra's manager (closed with the algebra)
   */
  public NDManager manager() {
    return manager;
  }

  /**
   * DJL's data type of the algebra's dtype.
   *
   * @return {@link DataType#FLOAT32} or {@link DataType#FLOAT64}
   */
  public DataType dataType() {
    return dataType(dtype);
  }

  @Override
  public DjlTensor zeros(int... shape) {
    Shapes.size(shape);
    return adopt(manager.zeros(shapeOf(shape), dataType()));
  }

  @Override
  public DjlTensor fromArray(double[] values, int... shape) {
    Shapes.requireValueCount("values", values, shape);
    return adopt(upload(manager, values, shapeOf(shape), dataType()));
  }

  /**
   * Host values as a new array whose memory PyTorch owns (rounded to {@code type}). DJL's
   * {@code create} wraps a Java direct buffer without copying on the CPU ({@code from_blob}),
   * valid only while that {@code NDArray} object lives; a copy made by PyTorch is safe to alias,
   * to keep in a graph and to {@linkplain NDArray#intern intern}.
   */
  static NDArray upload(NDManager manager, double[] values, Shape shape, DataType type) {
    NDArray wrapped;
    if (type == DataType.FLOAT64) {
      wrapped = manager.create(values, shape);
    } else {
      float[] f = new float[values.length];
      for (int i = 0; i < f.length; i++) {
        f[i] = (float) values[i];
      }
      wrapped = manager.create(f, shape);
    }
    NDArray owned = wrapped.duplicate();
    wrapped.close();
    return owned;
  }

  /**
   * Takes over an array as a tensor of this algebra: attaches it to the algebra's manager and
   * removes it from the current {@link NDScope}; closing the tensor closes the array.
   *
   * @param array an array of the PyTorch engine, of this algebra's dtype and device
   * @return the tensor
   * @throws IllegalArgumentException if the array's data type or device differs
   */
  public DjlTensor wrap(NDArray array) {
    Objects.requireNonNull(array, "array");
    if (array.getDataType() != dataType()) {
      throw new IllegalArgumentException(
          "array: data type " + array.getDataType() + " but the algebra is " + dtype.jsonName());
    }
    if (!array.getDevice().equals(device)) {
      throw new IllegalArgumentException(
          "array: on " + array.getDevice() + " but the algebra is on " + device);
    }
    if (!PyTorchRuntime.ENGINE.equals(array.getManager().getEngine().getEngineName())) {
      throw new IllegalArgumentException(
          "array: of the " + array.getManager().getEngine().getEngineName()
              + " engine; the djl backend needs PyTorch arrays");
    }
    return adopt(array);
  }

  /** Takes over an array known to fit (internal). */
  DjlTensor adopt(NDArray array) {
    NDScope.unregister(array);
    array.attach(manager);
    return new DjlTensor(this, array);
  }

  /** Releases every tensor of this algebra that is still open. */
  @Override
  public void close() {
    manager.close();
  }

  @Override
  public String toString() {
    return "DjlAlgebra[" + dtype.jsonName() + ", " + device + "]";
  }

  /** DJL's data type of a dtype. */
  static DataType dataType(DType dtype) {
    return dtype == DType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
  }

  /**
   * The dtype of a DJL data type.
   *
   * @throws IllegalArgumentException naming {@code what} for anything but float32 and float64
   */
  static DType dtypeOf(DataType t, String what) {
    if (t == DataType.FLOAT64) {
      return DType.FLOAT64;
    }
    if (t == DataType.FLOAT32) {
      return DType.FLOAT32;
    }
    throw new IllegalArgumentException(
        what + ": data type " + t + " is not supported; sgdph computes in float32 or float64");
  }

  /** A DJL shape of an {@code int[]} shape. */
  static Shape shapeOf(int... shape) {
    long[] s = new long[shape.length];
    for (int i = 0; i < s.length; i++) {
      s[i] = shape[i];
    }
    return new Shape(s);
  }

  /** The {@code int[]} shape of a DJL shape. */
  static int[] intShape(Shape shape) {
    long[] s = shape.getShape();
    int[] out = new int[s.length];
    for (int i = 0; i < s.length; i++) {
      out[i] = Math.toIntExact(s[i]);
    }
    return out;
  }

  /**
   * One device sum per tensor, added up and read once (see {@code DjlTensor.allFinite}); a
   * tensor of another backend is asked itself.
   */
  @Override
  public boolean allFinite(io.github.sgdph.tensor.Tensor... tensors) {
    java.util.List<NDArray> arrays = new java.util.ArrayList<>(tensors.length);
    for (io.github.sgdph.tensor.Tensor t : tensors) {
      if (t instanceof DjlTensor d && d.algebra() == this) {
        arrays.add(d.array());
      } else if (!t.allFinite()) {
        return false;
      }
    }
    return DjlTensor.allFinite(arrays.toArray(NDArray[]::new));
  }

  /** A scalar array's value as a double. */
  static double scalar(NDArray a) {
    DataType t = a.getDataType();
    if (t == DataType.FLOAT64) {
      return a.getDouble();
    }
    if (t == DataType.FLOAT32) {
      return a.getFloat();
    }
    if (t == DataType.BOOLEAN) {
      return a.getBoolean() ? 1 : 0;
    }
    try (NDArray d = a.toType(DataType.FLOAT64, false)) {
      return d.getDouble();
    }
  }
}
