package io.github.sgdph.model;

import io.github.sgdph.data.ArrayBatch;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Deterministic random batches that fit a {@link ModelSpec}: for tests, benchmarks and
 * examples. The same generator state gives the same batch on every machine.
 */
public final class RandomBatches {
  private RandomBatches() {}

  /**
   * A batch of {@code n} samples for {@code spec}: inputs standard normal with shape
   * {@code [n, ...input shape]}; targets valid for the loss — uniform class labels in
   * {@code [0, k)} of shape {@code [n]} for softmax cross-entropy, standard normal targets
   * {@code [n, k]} for mse, and 0/1 targets {@code [n, k]} (fair coin) for sigmoid binary
   * cross-entropy. Inputs are drawn first, then targets, row-major.
   *
   * @param spec the model the batch is for
   * @param n the number of samples
   * @param random the source of the draws
   * @return a batch that passes {@code CaseFile.validateBatch} for {@code spec}
   * @throws IllegalArgumentException if {@code n < 1}
   */
  public static ArrayBatch forSpec(ModelSpec spec, int n, RandomGenerator random) {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(random, "random");
    if (n < 1) {
      throw new IllegalArgumentException("n: must be >= 1 but was " + n);
    }
    int[] in = spec.inputShape();
    int[] xShape = new int[in.length + 1];
    xShape[0] = n;
    System.arraycopy(in, 0, xShape, 1, in.length);
    long xs = n;
    for (int d : in) {
      xs *= d;
    }
    if (xs > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("n: " + n + " samples of " + java.util.Arrays.toString(in)
          + " are too many values for one array");
    }
    double[] x = new double[(int) xs];
    for (int i = 0; i < x.length; i++) {
      x[i] = random.nextGaussian();
    }
    int k = spec.outputShape()[0];
    return switch (spec.loss()) {
      case SOFTMAX_CROSS_ENTROPY -> {
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
          y[i] = random.nextInt(k);
        }
        yield new ArrayBatch(x, xShape, y, new int[] {n});
      }
      case MSE -> {
        double[] y = new double[n * k];
        for (int i = 0; i < y.length; i++) {
          y[i] = random.nextGaussian();
        }
        yield new ArrayBatch(x, xShape, y, new int[] {n, k});
      }
      case SIGMOID_BINARY_CROSS_ENTROPY -> {
        double[] y = new double[n * k];
        for (int i = 0; i < y.length; i++) {
          y[i] = random.nextBoolean() ? 1.0 : 0.0;
        }
        yield new ArrayBatch(x, xShape, y, new int[] {n, k});
      }
    };
  }
}
