package io.github.sgdph.data;

import java.util.Objects;

/**
 * A finite, indexable set of labelled samples that a training loop draws mini-batches from: the
 * JVM counterpart of PyTorch's map-style {@code Dataset} with a collating {@code DataLoader}.
 *
 * <p>Labels follow the loss: class indices (label shape {@code []}, batches {@code y [n]}) for
 * softmax cross-entropy, targets of the output's shape ({@code y [n, k]}) for MSE and sigmoid
 * binary cross-entropy.
 */
public interface Dataset {

  /**
   * The number of samples.
   *
   * @return at least 1
   */
  int size();

  /**
   * The shape of one sample's input.
   *
   * @return a new array, e.g. {@code [784]} or {@code [1, 28, 28]}
   */
  int[] sampleShape();

  /**
   * The shape of one sample's label.
   *
   * @return a new array: {@code []} for class indices, else the target's shape
   */
  int[] labelShape();

  /**
   * The samples at {@code indices}, in that order, as one batch.
   *
   * @param indices sample indices in {@code [0, size())}, at least one, repeats allowed
   * @return a new batch {@code x [n, ...sampleShape]}, {@code y [n, ...labelShape]}
   * @throws IllegalArgumentException naming {@code indices} if one is out of range or none given
   */
  ArrayBatch batch(int... indices);

  /**
   * The contiguous samples {@code from .. to − 1} as one batch.
   *
   * @param from the first index, inclusive
   * @param to the last index, exclusive, greater than {@code from} and at most {@link #size()}
   * @return a new batch
   * @throws IllegalArgumentException naming the bound that is out of range
   */
  default ArrayBatch range(int from, int to) {
    checkRange(from, to, size());
    int[] idx = new int[to - from];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = from + i;
    }
    return batch(idx);
  }

  /**
   * The first {@code n} samples, as a view (e.g. a small subset for a quick run).
   *
   * @param n how many, in {@code [1, size()]}
   * @return this dataset if {@code n == size()}, else a view of its first {@code n} samples
   * @throws IllegalArgumentException naming {@code n} if out of range
   */
  default Dataset first(int n) {
    if (n < 1 || n > size()) {
      throw new IllegalArgumentException(
          "n: must be in [1, " + size() + "] but was " + n);
    }
    if (n == size()) {
      return this;
    }
    Dataset whole = this;
    return new Dataset() {
      @Override
      public int size() {
        return n;
      }

      @Override
      public int[] sampleShape() {
        return whole.sampleShape();
      }

      @Override
      public int[] labelShape() {
        return whole.labelShape();
      }

      @Override
      public ArrayBatch batch(int... indices) {
        Objects.requireNonNull(indices, "indices");
        for (int i : indices) {
          if (i < 0 || i >= n) {
            throw new IllegalArgumentException(
                "indices: " + i + " out of range [0, " + n + ")");
          }
        }
        return whole.batch(indices);
      }

      @Override
      public String toString() {
        return "first " + n + " of " + whole;
      }
    };
  }

  private static void checkRange(int from, int to, int size) {
    if (from < 0 || from >= size) {
      throw new IllegalArgumentException("from: must be in [0, " + size + ") but was " + from);
    }
    if (to <= from || to > size) {
      throw new IllegalArgumentException(
          "to: must be in (" + from + ", " + size + "] but was " + to);
    }
  }
}
