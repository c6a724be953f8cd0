package io.github.sgdph.model;

/** The losses of the neutral model spec; every one is the mean over the batch. */
public enum LossKind {
  /**
   * Softmax cross-entropy on logits {@code [n, k]} with integer class labels {@code [n]}, mean
   * over the batch ({@code torch.nn.CrossEntropyLoss}).
   */
  SOFTMAX_CROSS_ENTROPY("softmax_cross_entropy"),
  /** Mean over all elements of {@code (f − y)²} ({@code torch.nn.MSELoss}). */
  MSE("mse"),
  /**
   * Sigmoid binary cross-entropy on logits, mean over all elements
   * ({@code torch.nn.BCEWithLogitsLoss}).
   */
  SIGMOID_BINARY_CROSS_ENTROPY("sigmoid_binary_cross_entropy");

  private final String jsonName;

  LossKind(String jsonName) {
    this.jsonName = jsonName;
  }

  /**
   * The name of the loss in case files.
   *
   * @return e.g. {@code softmax_cross_entropy}
   */
  public String jsonName() {
    return jsonName;
  }

  /**
   * Parses a loss name of a case file (case-sensitive).
   *
   * @param name a {@link #jsonName()}, e.g. {@code mse}
   * @return the loss of that name
   * @throws IllegalArgumentException listing the known losses if there is none of that name
   */
  public static LossKind parse(String name) {
    for (LossKind k : values()) {
      if (k.jsonName.equals(name)) {
        return k;
      }
    }
    throw new IllegalArgumentException(
        "loss: unknown '" + name + "'; expected one of softmax_cross_entropy, mse, "
            + "sigmoid_binary_cross_entropy");
  }

  /**
   * One sample's loss, computed on the host in double precision from the network's outputs: the
   * term {@code ℓ_i} whose mean over the batch is the model's loss — {@code logsumexp(z_i) −
   * z_{i,y_i}} (softmax cross-entropy, integer labels), {@code mean_j (z_ij − y_ij)²} (MSE),
   * {@code mean_j max(z_ij, 0) − z_ij y_ij + log1p(e^{−|z_ij|})} (sigmoid binary
   * cross-entropy).
   *
   * @param z outputs {@code [n, k]}, row-major
   * @param y labels: {@code [n]} class indices for softmax cross-entropy, else {@code [n, k]}
   * @param k outputs per sample
   * @param i the sample
   * @return {@code ℓ_i}
   * @throws IllegalArgumentException if a class label is not an integer in {@code [0, k)}
   */
  public double sampleLoss(double[] z, double[] y, int k, int i) {
    int o = i * k;
    switch (this) {
      case SOFTMAX_CROSS_ENTROPY -> {
        int label = classLabel(y[i], k, i);
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < k; j++) {
          max = Math.max(max, z[o + j]);
        }
        double sum = 0;
        for (int j = 0; j < k; j++) {
          sum += Math.exp(z[o + j] - max);
        }
        return max + Math.log(sum) - z[o + label];
      }
      case MSE -> {
        double t = 0;
        for (int j = 0; j < k; j++) {
          double d = z[o + j] - y[o + j];
          t += d * d;
        }
        return t / k;
      }
      default -> {
        double t = 0;
        for (int j = 0; j < k; j++) {
          double v = z[o + j];
          t += Math.max(v, 0.0) - v * y[o + j] + Math.log1p(Math.exp(-Math.abs(v)));
        }
        return t / k;
      }
    }
  }

  /**
   * Whether the loss classifies, so that an accuracy is defined: softmax cross-entropy (the
   * most probable class against the label) and sigmoid binary cross-entropy (each output's sign
   * against its 0/1 target); MSE does not.
   *
   * @return true for the cross-entropies
   */
  public boolean classifies() {
    return this != MSE;
  }

  /**
   * How many of a sample's predictions are right, and out of how many: for softmax
   * cross-entropy 1 of 1 if the largest output (the first, on ties) is the label's; for sigmoid
   * binary cross-entropy each output {@code z_ij} is right when {@code z_ij > 0} equals {@code
   * y_ij > 0.5}, out of {@code k}.
   *
   * @param z outputs {@code [n, k]}, row-major
   * @param y labels as for {@link #sampleLoss}
   * @param k outputs per sample
   * @param i the sample
   * @return the number of right predictions (out of 1 or {@code k}, see {@link
   *     #predictionsPerSample})
   * @throws IllegalStateException for MSE, which does not classify
   */
  public int correct(double[] z, double[] y, int k, int i) {
    int o = i * k;
    switch (this) {
      case SOFTMAX_CROSS_ENTROPY -> {
        int label = classLabel(y[i], k, i);
        int best = 0;
        for (int j = 1; j < k; j++) {
          if (z[o + j] > z[o + best]) {
            best = j;
          }
        }
        return best == label ? 1 : 0;
      }
      case SIGMOID_BINARY_CROSS_ENTROPY -> {
        int c = 0;
        for (int j = 0; j < k; j++) {
          if ((z[o + j] > 0) == (y[o + j] > 0.5)) {
            c++;
          }
        }
        return c;
      }
      default -> throw new IllegalStateException("loss: mse does not classify (no accuracy)");
    }
  }

  /**
   * Whether the outputs reconstruct their targets element by element, so that a reconstruction
   * error is defined: MSE and sigmoid binary cross-entropy (an autoencoder's losses); softmax
   * cross-entropy does not.
   *
   * @return true for MSE and sigmoid binary cross-entropy
   */
  public boolean reconstructs() {
    return this != SOFTMAX_CROSS_ENTROPY;
  }

  /**
   * A sample's squared reconstruction error {@code Σ_j (ŷ_ij − y_ij)²} over its {@code k}
   * outputs, with the prediction {@code ŷ = z} for MSE and {@code ŷ = σ(z)} (the predicted
   * probability, the logistic of the output) for sigmoid binary cross-entropy: the "squared
   * reconstruction error per image" that Hinton and Salakhutdinov (2006) and Martens (2010)
   * report for deep autoencoders.
   *
   * @param z outputs {@code [n, k]}, row-major
   * @param y targets {@code [n, k]}
   * @param k outputs per sample
   * @param i the sample
   * @return {@code Σ_j (ŷ_ij − y_ij)²}
   * @throws IllegalStateException for softmax cross-entropy, which does not reconstruct
   */
  public double reconstructionError(double[] z, double[] y, int k, int i) {
    if (!reconstructs()) {
      throw new IllegalStateException(
          "loss: softmax_cross_entropy does not reconstruct its input (no reconstruction error)");
    }
    int o = i * k;
    double t = 0;
    for (int j = 0; j < k; j++) {
      double v = z[o + j];
      double p = this == MSE ? v : 1 / (1 + Math.exp(-v));
      double d = p - y[o + j];
      t += d * d;
    }
    return t;
  }

  /**
   * The number of predictions {@link #correct} judges per sample.
   *
   * @param k outputs per sample
   * @return 1 for softmax cross-entropy, {@code k} for sigmoid binary cross-entropy, 0 for MSE
   */
  public int predictionsPerSample(int k) {
    return switch (this) {
      case SOFTMAX_CROSS_ENTROPY -> 1;
      case SIGMOID_BINARY_CROSS_ENTROPY -> k;
      default -> 0;
    };
  }

  private static int classLabel(double y, int k, int i) {
    int label = (int) y;
    if (label != y || label < 0 || label >= k) {
      throw new IllegalArgumentException(
          "y[" + i + "]: a class label must be an integer in [0, " + k + ") but is " + y);
    }
    return label;
  }
}
