package io.github.sgdph.dl4j;

import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Shapes;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The tensor algebra of the Deeplearning4j adapter: {@link Nd4jTensor}s over ND4J
 * {@code INDArray}s of one dtype ({@code FLOAT} for float32, {@code DOUBLE} for float64) on
 * ND4J's current backend (CPU with {@code nd4j-native}, GPU with {@code nd4j-cuda-*}).
 * Stateless; use {@link #of(DType)}.
 */
public final class Nd4jAlgebra implements TensorAlgebra {
  private static final Nd4jAlgebra F32 = new Nd4jAlgebra(DType.FLOAT32);
  private static final Nd4jAlgebra F64 = new Nd4jAlgebra(DType.FLOAT64);

  private final DType dtype;

  private Nd4jAlgebra(DType dtype) {
    this.dtype = dtype;
  }

  /**
   * The algebra of a dtype.
   *
   * @param dtype float32 or float64
   * @return the algebra
   */
  public static Nd4jAlgebra of(DType dtype) {
    Objects.requireNonNull(dtype, "dtype");
    return dtype == DType.FLOAT64 ? F64 : F32;
  }

  /**
   * The algebra of an ND4J data type.
   *
   * @param type {@code FLOAT} or {@code DOUBLE}
   * @return the algebra
   * @throws IllegalArgumentException naming the type for any other data type
   */
  public static Nd4jAlgebra of(DataType type) {
    Objects.requireNonNull(type, "type");
    return switch (type) {
      case FLOAT -> F32;
      case DOUBLE -> F64;
      default -> throw new IllegalArgumentException(
          "dtype: sgdph computes in FLOAT (float32) or DOUBLE (float64) but the array is " + type);
    };
  }

  /**
   * The ND4J data type of a dtype.
   *
   * @param dtype float32 or float64
   * @return {@code FLOAT} or {@code DOUBLE}
   */
  public static DataType nd4jType(DType dtype) {
    return dtype == DType.FLOAT64 ? DataType.DOUBLE : DataType.FLOAT;
  }

  @Override
  public DType dtype() {
    return dtype;
  }

  /**
   * The ND4J data type of this algebra's tensors.
   *
   * @return {@code FLOAT} or {@code DOUBLE}
   */
  public DataType nd4jType() {
    return nd4jType(dtype);
  }

  @Override
  public String backendName() {
    return Dl4jBackend.NAME;
  }

  /**
   * One sum per tensor, added up and read once (see {@code Nd4jArrays.allFinite}); tensors of
   * another backend are asked themselves.
   */
  @Override
  public boolean allFinite(io.github.sgdph.tensor.Tensor... tensors) {
    INDArray[] arrays = new INDArray[tensors.length];
    for (int i = 0; i < tensors.length; i++) {
      if (tensors[i] instanceof Nd4jTensor n) {
        arrays[i] = n.array();
      } else if (!tensors[i].allFinite()) {
        return false;
      }
    }
    return Nd4jArrays.allFinite(arrays);
  }

  @Override
  public Nd4jTensor zeros(int... shape) {
    Objects.requireNonNull(shape, "shape");
    Shapes.size(shape);
    return own(Nd4j.zeros(nd4jType(), toLong(shape)), shape);
  }

  @Override
  public Nd4jTensor fromArray(double[] values, int... shape) {
    Shapes.requireValueCount("values", values, shape);
    return own(Nd4jArrays.create(values, shape, nd4jType()), shape);
  }

  /**
   * Wraps an array of this algebra's data type without a copy: the tensor works on the array
   * itself (in place), whatever its ordering or strides. The caller keeps ownership:
   * {@link Nd4jTensor#close()} only marks the tensor closed. The tensor's shape is the array's.
   *
   * @param array a {@code FLOAT} or {@code DOUBLE} array, matching {@link #dtype()}
   * @return the tensor
   * @throws IllegalArgumentException if the data type differs or the shape exceeds int range
   */
  public Nd4jTensor wrap(INDArray array) {
    Objects.requireNonNull(array, "array");
    if (array.dataType() != nd4jType()) {
      throw new IllegalArgumentException(
          "array: data type " + array.dataType() + " but this algebra is " + dtype.jsonName());
    }
    long[] s = array.shape();
    int[] shape = new int[s.length];
    for (int i = 0; i < s.length; i++) {
      shape[i] = Math.toIntExact(s[i]);
    }
    return new Nd4jTensor(this, array, shape, false);
  }

  /**
   * Takes over an array this adapter allocated (not a view of anything else) under a logical
   * shape with the same element count; closing the tensor releases the array.
   */
  Nd4jTensor own(INDArray array, int[] shape) {
    return new Nd4jTensor(this, array, shape, true);
  }

  static long[] toLong(int[] shape) {
    long[] l = new long[shape.length];
    for (int i = 0; i < shape.length; i++) {
      l[i] = shape[i];
    }
    return l;
  }

  @Override
  public String toString() {
    return "Nd4jAlgebra[" + dtype.jsonName() + "]";
  }
}
