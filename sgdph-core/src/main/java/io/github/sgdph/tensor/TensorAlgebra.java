package io.github.sgdph.tensor;

import java.util.random.RandomGenerator;

/**
 * Creates the tensors of one backend in one dtype (and on one device).
 *
 * <p>Random tensors are drawn on the host from the caller's {@link RandomGenerator} and then
 * uploaded, so that the same seed gives the same vectors on every backend: this is what makes
 * stochastic estimates (Hutchinson, Lanczos start vectors) reproducible across frameworks.
 */
public interface TensorAlgebra {

  /**
   * The dtype of the tensors this algebra creates.
   *
   * @return the dtype of every tensor this algebra creates
   */
  DType dtype();

  /**
   * A short name of the backend, for messages: {@code reference}, {@code djl}, ...
   *
   * @return the backend's short name, as in the examples above
   */
  String backendName();

  /**
   * A new tensor of zeros.
   *
   * @param shape the dimensions, each non-negative; none for a scalar
   * @return a new tensor filled with zeros; the caller closes it
   */
  Tensor zeros(int... shape);

  /**
   * A new tensor holding {@code values} (row-major) with the given shape; values are rounded to
   * the algebra's dtype.
   *
   * @param values the elements in row-major order; not retained
   * @param shape the dimensions, each non-negative; none for a scalar
   * @return a new tensor; the caller closes it
   * @throws IllegalArgumentException if the value count is not the product of the shape
   */
  Tensor fromArray(double[] values, int... shape);

  /**
   * Whether every entry of every one of {@code tensors} is finite (neither NaN nor infinite):
   * the check of a whole gradient or update, made in every optimizer step. The default asks
   * each tensor ({@link Tensor#allFinite()}), one host read per tensor. A backend should
   * answer with device reductions and <em>one</em> host read for all of them: {@code Σ_i x_i·0}
   * is 0 when every {@code x_i} is finite and NaN otherwise (never a false positive from
   * overflow, as a plain sum could give), so the sum over all tensors of those sums is one
   * scalar to read.
   *
   * @param tensors the tensors, normally of this algebra (one of another backend is asked
   *     through its own {@link Tensor#allFinite()}); none: {@code true}; not modified
   * @return {@code true} if no entry of any of them is NaN or infinite
   */
  default boolean allFinite(Tensor... tensors) {
    for (Tensor t : tensors) {
      if (!t.allFinite()) {
        return false;
      }
    }
    return true;
  }

  /**
   * A new tensor of independent standard normal samples drawn from {@code random}.
   *
   * @param random the source of the samples; {@code Shapes.size(shape)} Gaussian draws are taken
   *     from it
   * @param shape the dimensions, each non-negative
   * @return a new tensor; the caller closes it
   */
  default Tensor randomNormal(RandomGenerator random, int... shape) {
    double[] v = new double[Shapes.size(shape)];
    for (int i = 0; i < v.length; i++) {
      v[i] = random.nextGaussian();
    }
    return fromArray(v, shape);
  }

  /**
   * A new tensor of independent Rademacher (±1 with equal probability) samples.
   *
   * @param random the source of the signs; one boolean draw per element is taken from it
   * @param shape the dimensions, each non-negative
   * @return a new tensor; the caller closes it
   */
  default Tensor rademacher(RandomGenerator random, int... shape) {
    double[] v = new double[Shapes.size(shape)];
    for (int i = 0; i < v.length; i++) {
      v[i] = random.nextBoolean() ? 1.0 : -1.0;
    }
    return fromArray(v, shape);
  }
}
