package io.github.sgdph.examples;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.io.FashionMnist;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The first images of a Fashion-MNIST split as plain arrays, for the examples to hand to their
 * framework: read by {@code sgdph-io}'s {@link FashionMnist} (from
 * {@code /usr/share/datasets/fashion-mnist}, {@code -Dsgdph.fashion-mnist=DIR} or
 * {@code $SGDPH_FASHION_MNIST}), pixels standardised with the training set's mean and deviation.
 *
 * @param size the number of images
 * @param images the standardised pixels, {@code [size, 784]} row-major
 * @param labels the classes, 0 to 9
 */
record FashionMnistSubset(int size, double[] images, int[] labels) {
  /** Mean and standard deviation of the pixels (in [0, 1]) of Fashion-MNIST's training set. */
  private static final double MEAN = 0.2860;
  private static final double STD = 0.3530;

  /** The first {@code n} images of a split. */
  static FashionMnistSubset load(FashionMnist.Split split, int n) {
    ArrayBatch b = FashionMnist.load(split).first(n).batch(IntStream.range(0, n).toArray());
    double[] x = b.x();
    for (int i = 0; i < x.length; i++) {
      x[i] = (x[i] - MEAN) / STD;
    }
    int[] labels = IntStream.range(0, n).map(i -> (int) b.yView()[i]).toArray();
    return new FashionMnistSubset(n, x, labels);
  }

  /** The values as floats. */
  static float[] floats(double[] values) {
    float[] f = new float[values.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) values[i];
    }
    return f;
  }

  /** The labels one-hot, {@code [size, 10]}. */
  double[] oneHotLabels() {
    double[] y = new double[size * 10];
    for (int i = 0; i < size; i++) {
      y[i * 10 + labels[i]] = 1;
    }
    return y;
  }

  /** The given images, in the given order. */
  FashionMnistSubset rows(List<Integer> indices) {
    double[] x = new double[indices.size() * 784];
    int[] y = new int[indices.size()];
    for (int k = 0; k < y.length; k++) {
      System.arraycopy(images, indices.get(k) * 784, x, k * 784, 784);
      y[k] = labels[indices.get(k)];
    }
    return new FashionMnistSubset(y.length, x, y);
  }
}
