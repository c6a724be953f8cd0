package io.github.sgdph.data;

import io.github.sgdph.tensor.Shapes;
import java.util.Arrays;
import java.util.Objects;

/**
 * A dataset held in memory as two row-major arrays: inputs {@code [size, ...sampleShape]} and
 * labels {@code [size, ...labelShape]}. Immutable: the arrays are copied in.
 */
public final class ArrayDataset implements Dataset {
  private final double[] x;
  private final int[] sampleShape;
  private final double[] y;
  private final int[] labelShape;
  private final int size;
  private final int xStride;
  private final int yStride;
  private final String name;

  /**
   * Copies the samples in.
   *
   * @param name what the data is, for messages (e.g. the file it came from)
   * @param x inputs, row-major, {@code size · Π sampleShape} finite values
   * @param sampleShape the shape of one input, every dimension positive
   * @param y labels, row-major, {@code size · Π labelShape} finite values
   * @param labelShape the shape of one label ({@code []} for class indices)
   * @throws IllegalArgumentException naming the argument whose length or values are wrong
   */
  public ArrayDataset(String name, double[] x, int[] sampleShape, double[] y, int[] labelShape) {
    this.name = Objects.requireNonNull(name, "name");
    Objects.requireNonNull(x, "x");
    Objects.requireNonNull(y, "y");
    this.sampleShape = Objects.requireNonNull(sampleShape, "sampleShape").clone();
    this.labelShape = Objects.requireNonNull(labelShape, "labelShape").clone();
    if (sampleShape.length == 0) {
      throw new IllegalArgumentException("sampleShape: must have at least one dimension");
    }
    for (int d : sampleShape) {
      if (d < 1) {
        throw new IllegalArgumentException(
            "sampleShape: dimensions must be positive but is " + Arrays.toString(sampleShape));
      }
    }
    for (int d : labelShape) {
      if (d < 1) {
        throw new IllegalArgumentException(
            "labelShape: dimensions must be positive but is " + Arrays.toString(labelShape));
      }
    }
    this.xStride = Shapes.size(sampleShape);
    this.yStride = Shapes.size(labelShape);
    if (x.length == 0 || x.length % xStride != 0) {
      throw new IllegalArgumentException(
          "x: " + x.length + " values are not a positive multiple of a sample's " + xStride);
    }
    this.size = x.length / xStride;
    if (y.length != (long) size * yStride) {
      throw new IllegalArgumentException(
          "y: " + size + " samples need " + (long) size * yStride + " label values but "
              + y.length + " were given");
    }
    requireFinite(x, "x");
    requireFinite(y, "y");
    this.x = x.clone();
    this.y = y.clone();
  }

  /** A dataset derived from a valid one: owns {@code x} and {@code y}, checks only the sizes. */
  private ArrayDataset(String name, double[] x, int[] sampleShape, double[] y, int[] labelShape,
      int size) {
    this.name = name;
    this.x = x;
    this.y = y;
    this.sampleShape = sampleShape.clone();
    this.labelShape = labelShape.clone();
    this.xStride = Shapes.size(sampleShape);
    this.yStride = Shapes.size(labelShape);
    this.size = size;
  }

  /**
   * The first {@code n} samples as a dataset of their own (a copy: the rest can be collected).
   *
   * @param n how many, in {@code [1, size()]}
   * @return this dataset if {@code n == size()}, else a new one
   * @throws IllegalArgumentException naming {@code n} if out of range
   */
  public ArrayDataset head(int n) {
    if (n < 1 || n > size) {
      throw new IllegalArgumentException("n: must be in [1, " + size + "] but was " + n);
    }
    if (n == size) {
      return this;
    }
    return new ArrayDataset(name + " (first " + n + ")",
        java.util.Arrays.copyOf(x, n * xStride), sampleShape,
        java.util.Arrays.copyOf(y, n * yStride), labelShape, n);
  }

  private static void requireFinite(double[] a, String what) {
    for (int i = 0; i < a.length; i++) {
      if (!Double.isFinite(a[i])) {
        throw new IllegalArgumentException(what + ": value " + i + " is " + a[i]);
      }
    }
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public int[] sampleShape() {
    return sampleShape.clone();
  }

  @Override
  public int[] labelShape() {
    return labelShape.clone();
  }

  @Override
  public ArrayBatch batch(int... indices) {
    Objects.requireNonNull(indices, "indices");
    if (indices.length == 0) {
      throw new IllegalArgumentException("indices: must not be empty");
    }
    int n = indices.length;
    double[] bx = new double[n * xStride];
    double[] by = new double[n * yStride];
    for (int k = 0; k < n; k++) {
      int i = indices[k];
      if (i < 0 || i >= size) {
        throw new IllegalArgumentException("indices: " + i + " out of range [0, " + size + ")");
      }
      System.arraycopy(x, i * xStride, bx, k * xStride, xStride);
      System.arraycopy(y, i * yStride, by, k * yStride, yStride);
    }
    int[] xs = new int[sampleShape.length + 1];
    xs[0] = n;
    System.arraycopy(sampleShape, 0, xs, 1, sampleShape.length);
    int[] ys = new int[labelShape.length + 1];
    ys[0] = n;
    System.arraycopy(labelShape, 0, ys, 1, labelShape.length);
    return new ArrayBatch(bx, xs, by, ys);
  }

  /**
   * The same samples with inputs of another shape of the same size (e.g. {@code [784]} images
   * as {@code [1, 28, 28]}).
   *
   * @param shape the new sample shape
   * @return a new dataset
   * @throws IllegalArgumentException naming {@code shape} if its size differs
   */
  public ArrayDataset reshaped(int... shape) {
    if (Shapes.size(shape) != xStride) {
      throw new IllegalArgumentException(
          "shape: " + Arrays.toString(shape) + " holds " + Shapes.size(shape)
              + " values but a sample has " + xStride);
    }
    return new ArrayDataset(name, x, shape, y, labelShape, size);
  }

  /**
   * The inputs as their own targets (an autoencoder's data): labels become the flattened inputs.
   *
   * @return a new dataset with label shape {@code [Π sampleShape]}
   */
  public ArrayDataset autoencoding() {
    return new ArrayDataset(name + " (inputs as targets)", x, sampleShape, x,
        new int[] {xStride}, size);
  }

  /**
   * The inputs with each value mapped by {@code (v − mean) / std} (normalisation).
   *
   * @param normalization the statistics to apply
   * @return a new dataset with the same labels
   */
  public ArrayDataset normalized(Normalization normalization) {
    Objects.requireNonNull(normalization, "normalization");
    return new ArrayDataset(name, normalization.apply(x, xStride), sampleShape, y, labelShape,
        size);
  }

  /** The inputs, shared (read only): for {@link Normalization#fit}. */
  double[] xView() {
    return x;
  }

  @Override
  public String toString() {
    return name + " (" + size + " samples of " + Arrays.toString(sampleShape) + ")";
  }
}
