package io.github.sgdph.experiments;

import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.data.Normalization;
import io.github.sgdph.io.FashionMnist;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Fashion-MNIST split three ways for an experiment: the first {@code trainSize} images of the
 * training file train, the <em>last</em> {@code validationSize} images of the training file choose
 * hyper-parameters (disjoint from the training images as long as their sum is at most 60,000),
 * and the first {@code testSize} images of the test file are only reported.
 *
 * <p>Classifiers see inputs standardised with the training images' mean and deviation;
 * autoencoders reconstruct the raw pixels in [0, 1].
 *
 * @param train the training images
 * @param validation the images that choose hyper-parameters
 * @param test the held-out test images
 */
record Splits(ArrayDataset train, ArrayDataset validation, ArrayDataset test) {

  /**
   * Loads and prepares the three splits for {@code spec}.
   *
   * @param dir the directory of Fashion-MNIST's IDX files
   * @param spec the model: its loss decides between classification and reconstruction
   * @param trainSize training images, from the start of the training file
   * @param validationSize validation images, from the end of the training file
   * @param testSize test images, from the start of the test file
   * @return the splits
   * @throws IllegalArgumentException if the training and validation images would overlap
   */
  static Splits load(
      Path dir, ModelSpec spec, int trainSize, int validationSize, int testSize) {
    ArrayDataset all = FashionMnist.load(dir, FashionMnist.Split.TRAIN);
    if (trainSize < 1 || validationSize < 1 || trainSize + validationSize > all.size()) {
      throw new IllegalArgumentException("--train/--validation: " + trainSize + " training and "
          + validationSize + " validation images must be >= 1 each and fit disjointly in the "
          + all.size() + " training images");
    }
    ArrayDataset train = all.head(trainSize);
    ArrayDataset validation = tail(all, validationSize);
    all = null;
    ArrayDataset test = FashionMnist.load(dir, FashionMnist.Split.TEST);
    if (testSize < 1 || testSize > test.size()) {
      throw new IllegalArgumentException(
          "--test: must be in [1, " + test.size() + "] but was " + testSize);
    }
    test = test.head(testSize);
    int[] in = spec.inputShape();
    if (spec.loss() == LossKind.SOFTMAX_CROSS_ENTROPY) {
      Normalization n = Normalization.fit(train);
      return new Splits(train.normalized(n).reshaped(in),
          validation.normalized(n).reshaped(in), test.normalized(n).reshaped(in));
    }
    return new Splits(train.autoencoding().reshaped(in),
        validation.autoencoding().reshaped(in), test.autoencoding().reshaped(in));
  }

  /** The last {@code n} samples. */
  private static ArrayDataset tail(ArrayDataset d, int n) {
    int[] idx = new int[n];
    for (int i = 0; i < n; i++) {
      idx[i] = d.size() - n + i;
    }
    var b = d.batch(idx);
    return new ArrayDataset(d + " (last " + n + ")", b.xView(), d.sampleShape(), b.yView(),
        d.labelShape());
  }

  /**
   * A copy of a classification set in which a random {@code fraction} of the samples carry a
   * class drawn uniformly from the {@code classes} (so about {@code 1/classes} of them keep
   * their true class by chance), as in the partially corrupted labels of Zhang, Bengio, Hardt,
   * Recht and Vinyals ("Understanding deep learning requires rethinking generalization", 2017).
   *
   * @param d the samples with class-index labels
   * @param fraction the fraction of samples to relabel, in [0, 1]
   * @param classes the number of classes
   * @param seed which samples and which labels
   * @return the relabelled copy (inputs shared)
   */
  static ArrayDataset randomLabels(ArrayDataset d, double fraction, int classes, long seed) {
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new IllegalArgumentException("fraction: must be in [0, 1] but was " + fraction);
    }
    int n = d.size();
    int[] all = new int[n];
    for (int i = 0; i < n; i++) {
      all[i] = i;
    }
    var b = d.batch(all);
    double[] y = b.y();
    SplittableRandom r = new SplittableRandom(seed);
    int[] perm = all.clone();
    for (int i = n - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    int relabel = (int) Math.floor(fraction * n);
    for (int i = 0; i < relabel; i++) {
      y[perm[i]] = r.nextInt(classes);
    }
    return new ArrayDataset(d + " (" + Math.round(fraction * 100) + "% random labels)",
        b.xView(), d.sampleShape(), y, d.labelShape());
  }
}
