package io.github.sgdph.tensor;

/**
 * One dense tensor owned by a backend (a Java array, a DJL {@code NDArray}, an ND4J
 * {@code INDArray}, a TensorFlow buffer, ...). This is the whole algebra the algorithms of
 * sgdph need; they never see the concrete type.
 *
 * <p>Mutating operations work in place where the backend allows and return {@code this}, so
 * that calls chain: {@code t.scale(0.9).axpy(1.0, g)}. Binary operations require operands of
 * the same backend, dtype and element count and throw {@link IllegalArgumentException}
 * otherwise. Reductions return a {@code double} to the host: they are the only values the
 * algorithms read in their inner loops.
 *
 * <p>A tensor may hold native memory: {@link #close()} releases it; using a closed tensor is
 * an {@link IllegalStateException}. Tensors are not thread-safe.
 */
public interface Tensor extends AutoCloseable {

  /**
   * The element type.
   *
   * @return the element type, fixed at creation
   */
  DType dtype();

  /**
   * The shape (a copy); a scalar has shape {@code []}.
   *
   * @return a new array on each call, one entry per dimension
   */
  int[] shape();

  /**
   * The number of elements: the product of the shape.
   *
   * @return the element count, 1 for a scalar
   */
  long size();

  /**
   * The algebra (backend) that created this tensor.
   *
   * @return the algebra that created this tensor; operands of binary operations must share it
   */
  TensorAlgebra algebra();

  /**
   * A new tensor with the same values.
   *
   * @return a new tensor of the same backend, dtype and shape; the caller closes it
   */
  Tensor copy();

  /**
   * A new tensor of zeros with the same shape and dtype.
   *
   * @return a new tensor of the same backend, dtype and shape; the caller closes it
   */
  Tensor zerosLike();

  /**
   * A new tensor of ones with the same shape and dtype.
   *
   * @return a new tensor of the same backend, dtype and shape; the caller closes it
   */
  default Tensor onesLike() {
    return zerosLike().fill(1.0);
  }

  /**
   * {@code this = source}.
   *
   * @param source the tensor whose values are copied in (same backend, dtype and element count)
   * @return this tensor
   */
  Tensor assign(Tensor source);

  /**
   * Sets every element to {@code value}.
   *
   * @param value the value, rounded to the tensor's dtype
   * @return this tensor
   */
  Tensor fill(double value);

  /**
   * {@code this = alpha * this}.
   *
   * @param alpha the factor
   * @return this tensor
   */
  Tensor scale(double alpha);

  /**
   * {@code this = this + alpha * x} (BLAS axpy).
   *
   * @param alpha the factor of {@code x}
   * @param x the tensor added (same backend, dtype and element count); not modified
   * @return this tensor
   */
  Tensor axpy(double alpha, Tensor x);

  /**
   * {@code this = beta * this + alpha * x}, in one pass where the backend can (a momentum
   * buffer's update {@code buf = μ·buf + g} is {@code buf.axpby(1, g, μ)}). The default is
   * {@code scale(beta).axpy(alpha, x)}; a backend may fuse the two, which can round differently
   * in the last bit, never more. {@code beta = 0} multiplies {@code this} by zero as {@link
   * #scale} does (a NaN or infinite entry gives NaN), it does not overwrite it.
   *
   * @param alpha the factor of {@code x}
   * @param x the tensor added (same backend, dtype and element count); not modified
   * @param beta the factor of this tensor
   * @return this tensor
   */
  default Tensor axpby(double alpha, Tensor x, double beta) {
    return scale(beta).axpy(alpha, x);
  }

  /**
   * Element-wise {@code this = this * x}.
   *
   * @param x the factor (same backend, dtype and element count); not modified
   * @return this tensor
   */
  Tensor mul(Tensor x);

  /**
   * Element-wise {@code this = this / x}.
   *
   * @param x the divisor (same backend, dtype and element count); not modified
   * @return this tensor
   */
  Tensor div(Tensor x);

  /**
   * Element-wise {@code this = |this|}.
   *
   * @return this tensor
   */
  Tensor abs();

  /**
   * Element-wise {@code this = sqrt(this)}.
   *
   * @return this tensor
   */
  Tensor sqrt();

  /**
   * Element-wise {@code this = max(this, x)}.
   *
   * @param x the other operand (same backend, dtype and element count); not modified
   * @return this tensor
   */
  Tensor max(Tensor x);

  /**
   * Element-wise {@code this = max(this, value)}.
   *
   * @param value the lower bound applied to every element
   * @return this tensor
   */
  Tensor max(double value);

  /**
   * Element-wise {@code this = this + value}.
   *
   * @param value the value added to every element
   * @return this tensor
   */
  Tensor addScalar(double value);

  /**
   * The inner product {@code Σ this_i x_i}, accumulated in at least the tensor's precision.
   *
   * @param x the other operand (same backend, dtype and element count)
   * @return the inner product, on the host
   */
  double dot(Tensor x);

  /**
   * The Euclidean norm.
   *
   * @return {@code sqrt(this · this)}
   */
  default double norm() {
    return Math.sqrt(dot(this));
  }

  /**
   * The largest absolute value (0 for an empty tensor); NaN if any element is NaN.
   *
   * @return {@code max |this_i|}
   */
  double maxAbs();

  /**
   * The sum of all elements.
   *
   * @return the sum, on the host
   */
  double sum();

  /**
   * Whether every element is finite (neither NaN nor infinite).
   *
   * @return {@code true} if no element is NaN or infinite (also for an empty tensor)
   */
  boolean allFinite();

  /**
   * Copies the values to the host, row-major. For inspection, checkpoints and tests: not for
   * the inner loops of an algorithm.
   *
   * @return a new array of {@link #size()} values, row-major
   */
  double[] toDoubleArray();

  /** Releases the tensor's memory. Idempotent. */
  @Override
  void close();
}
