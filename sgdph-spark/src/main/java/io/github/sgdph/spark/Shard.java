package io.github.sgdph.spark;

import io.github.sgdph.data.ArrayBatch;
import java.io.Serializable;

/**
 * The samples of one partition of a {@link SparkDataset}, as host arrays (one element per
 * partition of the dataset's RDD). Serializable, unlike {@link ArrayBatch}, so that Spark can ship
 * and cache it.
 */
final class Shard implements Serializable {
  private static final long serialVersionUID = 1L;

  final double[] x;
  final int[] xShape;
  final double[] y;
  final int[] yShape;
  /** Why this partition's batches could not be concatenated, or null. */
  final String problem;

  Shard(double[] x, int[] xShape, double[] y, int[] yShape) {
    this(x, xShape, y, yShape, null);
  }

  private Shard(double[] x, int[] xShape, double[] y, int[] yShape, String problem) {
    this.x = x;
    this.xShape = xShape;
    this.y = y;
    this.yShape = yShape;
    this.problem = problem;
  }

  /** A partition without samples, or whose batches do not fit together ({@code problem}). */
  static Shard invalid(String problem) {
    return new Shard(new double[0], new int[] {0}, new double[0], new int[] {0}, problem);
  }

  /**
   * The concatenation of a partition's batches, in order: an {@link #invalid} shard for no
   * batch or batches of different sample or label shapes.
   */
  static Shard concat(java.util.Iterator<ArrayBatch> batches) {
    java.util.List<ArrayBatch> all = new java.util.ArrayList<>();
    batches.forEachRemaining(all::add);
    if (all.isEmpty()) {
      return invalid(null);
    }
    if (all.size() == 1) {
      return of(all.get(0));
    }
    ArrayBatch first = all.get(0);
    int n = 0;
    for (int i = 0; i < all.size(); i++) {
      ArrayBatch b = all.get(i);
      if (!java.util.Arrays.equals(b.sampleShape(), first.sampleShape())
          || !java.util.Arrays.equals(tail(b.yShape()), tail(first.yShape()))) {
        return invalid("its batch " + i + " has samples " + java.util.Arrays.toString(b.sampleShape())
            + " and labels " + java.util.Arrays.toString(tail(b.yShape())) + " but its batch 0 "
            + java.util.Arrays.toString(first.sampleShape()) + " and "
            + java.util.Arrays.toString(tail(first.yShape())));
      }
      n += b.size();
    }
    int[] xs = first.xShape().clone();
    int[] ys = first.yShape().clone();
    xs[0] = n;
    ys[0] = n;
    double[] x = new double[io.github.sgdph.tensor.Shapes.size(xs)];
    double[] y = new double[io.github.sgdph.tensor.Shapes.size(ys)];
    int xo = 0;
    int yo = 0;
    for (ArrayBatch b : all) {
      double[] bx = b.xView();
      double[] by = b.yView();
      System.arraycopy(bx, 0, x, xo, bx.length);
      System.arraycopy(by, 0, y, yo, by.length);
      xo += bx.length;
      yo += by.length;
    }
    return new Shard(x, xs, y, ys);
  }

  private static int[] tail(int[] shape) {
    return java.util.Arrays.copyOfRange(shape, 1, shape.length);
  }

  static Shard of(ArrayBatch b) {
    return new Shard(b.x(), b.xShape(), b.y(), b.yShape());
  }

  int size() {
    return xShape[0];
  }

  int[] sampleShape() {
    return java.util.Arrays.copyOfRange(xShape, 1, xShape.length);
  }

  int[] labelShape() {
    return java.util.Arrays.copyOfRange(yShape, 1, yShape.length);
  }

  ArrayBatch toBatch() {
    return new ArrayBatch(x, xShape, y, yShape);
  }
}
