package io.github.sgdph.model;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.tensor.Tensor;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * The model's predictive distribution over the labels of one batch, {@code p(y_i | z_i)}, for
 * the three losses of the spec, and the factorisation {@code H_ℓ = S Sᵀ} of each term's Hessian
 * with respect to the outputs: what the Monte-Carlo Fisher samples from and what the exact GGN
 * diagonal is built from (Martens 2014, "New insights and perspectives on the natural gradient
 * method", §9.2; Dangel, Kunstner, Hennig 2020, "BackPACK", appendix on the symmetric
 * factorisation of the loss Hessian).
 *
 * <ul>
 *   <li>softmax cross-entropy: {@code y ~ Categorical(p)}, {@code p = softmax(z)}; {@code H_ℓ =
 *       diag(p) − p pᵀ}, {@code S = diag(√p) − p √pᵀ} (column {@code c}: {@code √p_c (e_c − p)});
 *   <li>sigmoid BCE, {@code ℓ = (1/k) Σ_j bce(z_j, y_j)}: {@code y_j ~ Bernoulli(σ(z_j))}
 *       independently; {@code H_ℓ = diag(σ(1 − σ)) / k}, {@code S = diag(√(σ(1 − σ)/k))}. The
 *       term is the negative log-likelihood divided by {@code k}, so {@code E[∇ℓ ∇ℓᵀ] = H_ℓ / k}:
 *       {@link #fisherScale()} is {@code k};
 *   <li>MSE, {@code ℓ = (1/k) Σ_j (z_j − y_j)²}: {@code y = z + ε}, {@code ε ~ N(0, (k/2) I)}, for
 *       which {@code ℓ} is the negative log-likelihood up to a constant and {@code E[∇ℓ ∇ℓᵀ] =
 *       (4/k²)(k/2) I = (2/k) I = H_ℓ}; {@code S = √(2/k) I}.
 * </ul>
 *
 * <p>The distribution is read off the backend's {@code ∂L/∂z} and the batch's labels, so it is
 * that of the forward pass the curvature products use (train-mode batch norm included): with
 * {@code L = (1/n) Σ ℓ_i}, row {@code i} of {@code n ∂L/∂z} is {@code p_i − e_{y_i}} (softmax
 * cross-entropy), {@code (σ(z_i) − y_i)/k} (BCE) and {@code (2/k)(z_i − y_i)} (MSE). This needs
 * no evaluation-mode {@code predict}, which would give another distribution with batch norm.
 */
public final class PredictiveDistribution {
  private final LossKind loss;
  private final int n;
  private final int k;
  /** Probabilities {@code p} (softmax CE), {@code σ(z)} (BCE) or outputs {@code z} (MSE). */
  private final double[] params;

  private PredictiveDistribution(LossKind loss, int n, int k, double[] params) {
    this.loss = loss;
    this.n = n;
    this.k = k;
    this.params = params;
  }

  /**
   * The predictive distribution of a curvature's batch: its {@link Curvature#outputGradient()}
   * ({@code [n, k]}, copied to the host once) read with the batch's labels.
   *
   * @param loss the model's loss
   * @param curvature the curvature of the batch at the current parameters
   * @param labels the batch's labels, as for {@link #fromOutputGradient}
   * @return the distribution of each sample's label given its outputs in that forward pass
   * @throws IllegalArgumentException naming the argument if the sizes do not fit
   * @throws UnsupportedOperationException naming the backend if it does not give {@code ∂L/∂z}
   */
  public static PredictiveDistribution of(LossKind loss, Curvature curvature, double[] labels) {
    Objects.requireNonNull(curvature, "curvature");
    try (Tensor dz = curvature.outputGradient()) {
      return fromOutputGradient(loss, dz.toDoubleArray(), labels, curvature.batchSize());
    }
  }

  /**
   * The predictive distribution of a batch, from the gradient of its mean loss with respect to
   * the outputs and its labels.
   *
   * @param loss the model's loss
   * @param outputGradient {@code ∂L/∂z} of the mean loss, {@code [n, k]} row-major (as {@link
   *     io.github.sgdph.curvature.Curvature#outputGradient()} gives it)
   * @param labels the batch's labels: {@code [n]} class indices for softmax cross-entropy, else
   *     {@code [n, k]}
   * @param n the number of samples
   * @return the distribution of each sample's label given its outputs
   * @throws IllegalArgumentException naming the argument if the sizes do not fit, a class label
   *     is not an integer in {@code [0, k)}, or a value is not finite
   */
  public static PredictiveDistribution fromOutputGradient(
      LossKind loss, double[] outputGradient, double[] labels, int n) {
    Objects.requireNonNull(loss, "loss");
    Objects.requireNonNull(outputGradient, "outputGradient");
    Objects.requireNonNull(labels, "labels");
    if (n <= 0 || outputGradient.length == 0 || outputGradient.length % n != 0) {
      throw new IllegalArgumentException(
          "outputGradient: " + outputGradient.length + " values are not [n, k] for n = " + n);
    }
    int k = outputGradient.length / n;
    int expected = loss == LossKind.SOFTMAX_CROSS_ENTROPY ? n : n * k;
    if (labels.length != expected) {
      throw new IllegalArgumentException(
          "labels: " + labels.length + " values, expected " + expected + " for " + loss.jsonName());
    }
    double[] p = new double[n * k];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < k; j++) {
        int o = i * k + j;
        double d = n * outputGradient[o];
        if (!Double.isFinite(d)) {
          throw new IllegalArgumentException("outputGradient[" + o + "]: not finite: " + d);
        }
        switch (loss) {
          case SOFTMAX_CROSS_ENTROPY -> {
            int y = classLabel(labels[i], k, i);
            p[o] = clamp01(d + (j == y ? 1 : 0));
          }
          case SIGMOID_BINARY_CROSS_ENTROPY -> p[o] = clamp01(labels[o] + k * d);
          default -> p[o] = labels[o] + 0.5 * k * d;
        }
      }
    }
    return new PredictiveDistribution(loss, n, k, p);
  }

  /**
   * The loss.
   *
   * @return the loss whose predictive distribution this is
   */
  public LossKind loss() {
    return loss;
  }

  /**
   * The number of samples.
   *
   * @return {@code n}
   */
  public int samples() {
    return n;
  }

  /**
   * The number of outputs per sample.
   *
   * @return {@code k}
   */
  public int outputs() {
    return k;
  }

  /**
   * The factor {@code c} with {@code c · E_{y ~ p}[∇_z ℓ ∇_z ℓᵀ] = H_ℓ}: {@code k} for sigmoid
   * BCE (whose term is the negative log-likelihood divided by the {@code k} outputs), 1 for
   * softmax cross-entropy and MSE. The Monte-Carlo Fisher multiplies each sampled outer product
   * by it, so that it estimates the GGN.
   *
   * @return {@code c}
   */
  public double fisherScale() {
    return loss == LossKind.SIGMOID_BINARY_CROSS_ENTROPY ? k : 1;
  }

  /**
   * Sample {@code i}'s predictive parameters.
   *
   * @param i the sample
   * @return a copy of its {@code k} probabilities (softmax CE), Bernoulli probabilities {@code
   *     σ(z)} (BCE) or outputs {@code z} (MSE)
   */
  public double[] parameters(int i) {
    double[] out = new double[k];
    System.arraycopy(params, i * k, out, 0, k);
    return out;
  }

  /**
   * One draw of the batch's labels from the predictive distribution, in the loss's label format
   * (so that a batch built with them is valid for the model).
   *
   * @param random the source of randomness
   * @return {@code [n]} class indices (softmax CE), {@code [n, k]} 0/1 targets (BCE) or {@code
   *     [n, k]} real targets (MSE)
   */
  public double[] sampleLabels(RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    switch (loss) {
      case SOFTMAX_CROSS_ENTROPY -> {
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
          double u = random.nextDouble();
          double acc = 0;
          int c = k - 1;
          for (int j = 0; j < k; j++) {
            acc += params[i * k + j];
            if (u < acc) {
              c = j;
              break;
            }
          }
          y[i] = c;
        }
        return y;
      }
      case SIGMOID_BINARY_CROSS_ENTROPY -> {
        double[] y = new double[n * k];
        for (int o = 0; o < y.length; o++) {
          y[o] = random.nextDouble() < params[o] ? 1 : 0;
        }
        return y;
      }
      default -> {
        double sd = Math.sqrt(0.5 * k);
        double[] y = new double[n * k];
        for (int o = 0; o < y.length; o++) {
          y[o] = params[o] + sd * random.nextGaussian();
        }
        return y;
      }
    }
  }

  /**
   * The gradients {@code ∂ℓ_i/∂z_i} of each term for given labels (drawn by {@link
   * #sampleLabels} or the data's own), at the outputs of this distribution's forward pass: {@code
   * p_i − e_{y_i}} (softmax CE), {@code (σ(z_i) − y_i)/k} (BCE), {@code (2/k)(z_i − y_i)} (MSE).
   * Used as seeds of backward passes, they give the Monte-Carlo Fisher's per-term quantities
   * without another forward pass.
   *
   * @param labels labels in the loss's format ({@code [n]} class indices for softmax CE, else
   *     {@code [n, k]})
   * @return a new {@code [n, k]} row-major array
   * @throws IllegalArgumentException naming the argument if the labels do not fit
   */
  public double[] termOutputGradients(double[] labels) {
    Objects.requireNonNull(labels, "labels");
    int expected = loss == LossKind.SOFTMAX_CROSS_ENTROPY ? n : n * k;
    if (labels.length != expected) {
      throw new IllegalArgumentException(
          "labels: " + labels.length + " values, expected " + expected + " for " + loss.jsonName());
    }
    double[] d = new double[n * k];
    for (int i = 0; i < n; i++) {
      int y = loss == LossKind.SOFTMAX_CROSS_ENTROPY ? classLabel(labels[i], k, i) : -1;
      for (int j = 0; j < k; j++) {
        int o = i * k + j;
        d[o] =
            switch (loss) {
              case SOFTMAX_CROSS_ENTROPY -> params[o] - (j == y ? 1 : 0);
              case SIGMOID_BINARY_CROSS_ENTROPY -> (params[o] - labels[o]) / k;
              default -> 2.0 / k * (params[o] - labels[o]);
            };
      }
    }
    return d;
  }

  /**
   * A symmetric factor of sample {@code i}'s loss Hessian with respect to its outputs, {@code
   * H_ℓ = S Sᵀ}, {@code k × k} (see the class comment).
   *
   * @param i the sample
   * @return {@code S} row-major: entry {@code [j][c]} at {@code j k + c}; column {@code c} is the
   *     output cotangent {@code s_c}
   */
  public double[] hessianFactor(int i) {
    double[] s = new double[k * k];
    int o = i * k;
    switch (loss) {
      case SOFTMAX_CROSS_ENTROPY -> {
        for (int c = 0; c < k; c++) {
          double r = Math.sqrt(params[o + c]);
          for (int j = 0; j < k; j++) {
            s[j * k + c] = r * ((j == c ? 1 : 0) - params[o + j]);
          }
        }
      }
      case SIGMOID_BINARY_CROSS_ENTROPY -> {
        for (int c = 0; c < k; c++) {
          double q = params[o + c];
          s[c * k + c] = Math.sqrt(q * (1 - q) / k);
        }
      }
      default -> {
        double r = Math.sqrt(2.0 / k);
        for (int c = 0; c < k; c++) {
          s[c * k + c] = r;
        }
      }
    }
    return s;
  }

  private static double clamp01(double v) {
    return Math.min(1, Math.max(0, v));
  }

  private static int classLabel(double y, int k, int i) {
    int label = (int) y;
    if (label != y || label < 0 || label >= k) {
      throw new IllegalArgumentException(
          "labels[" + i + "]: a class label must be an integer in [0, " + k + ") but is " + y);
    }
    return label;
  }
}
