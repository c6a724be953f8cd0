package io.github.sgdph.data;

import java.util.SplittableRandom;

/**
 * The order in which an epoch visits a dataset: a uniformly random permutation that depends only
 * on the seed and the epoch number (Fisher–Yates with {@link SplittableRandom}), so a run resumed
 * in the middle of an epoch visits exactly the samples the uninterrupted run would have, on every
 * machine and JVM, without saving a generator's state.
 */
public final class EpochOrder {
  private EpochOrder() {}

  /**
   * The permutation of epoch {@code epoch}.
   *
   * @param size the number of samples, positive
   * @param seed the run's seed
   * @param epoch the 0-based epoch
   * @return a new permutation of {@code 0 .. size − 1}
   * @throws IllegalArgumentException naming {@code size} or {@code epoch} if negative
   */
  public static int[] shuffled(int size, long seed, int epoch) {
    if (size < 1) {
      throw new IllegalArgumentException("size: must be positive but was " + size);
    }
    if (epoch < 0) {
      throw new IllegalArgumentException("epoch: must be non-negative but was " + epoch);
    }
    SplittableRandom r = new SplittableRandom(seed).split();
    for (int e = 0; e < epoch; e++) {
      r = r.split();
    }
    // one independent stream per epoch: the (epoch+1)-th split of the seed's stream
    int[] p = new int[size];
    for (int i = 0; i < size; i++) {
      p[i] = i;
    }
    for (int i = size - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
