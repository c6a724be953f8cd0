package io.github.sgdph.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * Input standardisation {@code v ↦ (v − mean) / std}, with statistics fitted on a training set
 * and applied unchanged to its test set, either one pair for all input values (the usual choice
 * for images) or one pair per input feature.
 */
public final class Normalization {
  private final double[] mean;
  private final double[] std;

  private Normalization(double[] mean, double[] std) {
    this.mean = mean;
    this.std = std;
  }

  /**
   * Given statistics for every input value.
   *
   * @param mean the value subtracted, finite
   * @param std the divisor, positive and finite
   * @return the normalisation
   * @throws IllegalArgumentException naming the parameter out of range
   */
  public static Normalization of(double mean, double std) {
    if (!Double.isFinite(mean)) {
      throw new IllegalArgumentException("mean: must be finite but was " + mean);
    }
    if (!(std > 0) || Double.isInfinite(std)) {
      throw new IllegalArgumentException("std: must be positive and finite but was " + std);
    }
    return new Normalization(new double[] {mean}, new double[] {std});
  }

  /**
   * The mean and standard deviation of all input values of {@code data}.
   *
   * @param data the training set
   * @return the fitted normalisation
   * @throws IllegalArgumentException if every input value is the same (a zero deviation)
   */
  public static Normalization fit(ArrayDataset data) {
    double[] x = Objects.requireNonNull(data, "data").xView();
    double s = 0;
    for (double v : x) {
      s += v;
    }
    double m = s / x.length;
    double q = 0;
    for (double v : x) {
      q += (v - m) * (v - m);
    }
    double sd = Math.sqrt(q / x.length);
    if (!(sd > 0)) {
      throw new IllegalArgumentException("data: every input value is " + m + "; nothing to scale");
    }
    return of(m, sd);
  }

  /**
   * The mean and standard deviation of each input feature of {@code data}; a feature that never
   * varies keeps the divisor 1.
   *
   * @param data the training set
   * @return the fitted normalisation, one pair per feature
   */
  public static Normalization fitPerFeature(ArrayDataset data) {
    double[] x = Objects.requireNonNull(data, "data").xView();
    int f = x.length / data.size();
    double[] m = new double[f];
    double[] sd = new double[f];
    int n = data.size();
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < f; j++) {
        m[j] += x[i * f + j];
      }
    }
    for (int j = 0; j < f; j++) {
      m[j] /= n;
    }
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < f; j++) {
        double d = x[i * f + j] - m[j];
        sd[j] += d * d;
      }
    }
    for (int j = 0; j < f; j++) {
      sd[j] = Math.sqrt(sd[j] / n);
      if (!(sd[j] > 0)) {
        sd[j] = 1;
      }
    }
    return new Normalization(m, sd);
  }

  /**
   * The means, one per feature or a single one for all values.
   *
   * @return a new array
   */
  public double[] mean() {
    return mean.clone();
  }

  /**
   * The divisors, one per feature or a single one for all values.
   *
   * @return a new array
   */
  public double[] std() {
    return std.clone();
  }

  double[] apply(double[] x, int features) {
    if (mean.length != 1 && mean.length != features) {
      throw new IllegalArgumentException(
          "normalization: fitted on " + mean.length + " features but a sample has " + features);
    }
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      int j = mean.length == 1 ? 0 : i % features;
      out[i] = (x[i] - mean[j]) / std[j];
    }
    return out;
  }

  @Override
  public String toString() {
    return mean.length == 1
        ? "Normalization[mean " + mean[0] + ", std " + std[0] + "]"
        : "Normalization[per feature, " + mean.length + " features, means "
            + Arrays.toString(Arrays.copyOf(mean, Math.min(3, mean.length))) + "…]";
  }
}
