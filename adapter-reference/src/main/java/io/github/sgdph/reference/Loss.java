package io.github.sgdph.reference;

import io.github.sgdph.model.LossKind;

/**
 * A loss evaluated on the network outputs {@code z [n, k]}: its mean value, its gradient and
 * its Hessian-vector product with respect to {@code z}. Every loss is a mean, so the gradient
 * and Hessian carry the factor {@code 1/n} (cross-entropy) or {@code 1/(n k)} (element-wise
 * losses).
 *
 * <ul>
 *   <li>softmax cross-entropy (integer labels): {@code ℓ_i = logsumexp(z_i) − z_{i,y_i}},
 *       {@code ∇ = (p − e_y)/n}, {@code H u = (p ⊙ u − p (pᵀu))/n} per row, {@code p =
 *       softmax(z_i)}, evaluated as {@code p ⊙ ((u − u_m) − Σ_{k≠m} p_k (u_k − u_m))} with
 *       {@code m} the most probable class (accurate when the softmax saturates);
 *   <li>mse ({@code MSELoss}): {@code (z − y)²} averaged over all elements, {@code ∇ = 2(z −
 *       y)/(nk)}, {@code H u = 2u/(nk)};
 *   <li>sigmoid binary cross-entropy ({@code BCEWithLogitsLoss}): {@code max(z, 0) − z y +
 *       log1p(e^{−|z|})} averaged over all elements, {@code ∇ = (σ(z) − y)/(nk)}, {@code H u =
 *       σ(z) σ(−z) u/(nk)} (not {@code σ(1 − σ)}, which cancels as {@code σ(z) → 1}).
 * </ul>
 */
final class Loss {
  private final LossKind kind;
  private final int n;
  private final int k;
  private final double[] z;
  private final double[] y;
  /** Softmax probabilities (cross-entropy) or sigmoids (binary cross-entropy). */
  private final double[] p;
  private final double[] sampleLosses;
  /** {@code σ(−z)} of binary cross-entropy, on first use. */
  private double[] minusZSigmoids;
  private final double value;

  Loss(LossKind kind, double[] z, double[] y, int n, int k) {
    this.kind = kind;
    this.n = n;
    this.k = k;
    this.z = z;
    this.y = y;
    this.sampleLosses = new double[n];
    switch (kind) {
      case SOFTMAX_CROSS_ENTROPY -> {
        p = new double[n * k];
        for (int i = 0; i < n; i++) {
          int o = i * k;
          double max = Double.NEGATIVE_INFINITY;
          for (int j = 0; j < k; j++) {
            max = Math.max(max, z[o + j]);
          }
          double sum = 0;
          for (int j = 0; j < k; j++) {
            double e = Math.exp(z[o + j] - max);
            p[o + j] = e;
            sum += e;
          }
          for (int j = 0; j < k; j++) {
            p[o + j] /= sum;
          }
          sampleLosses[i] = max + Math.log(sum) - z[o + (int) y[i]];
        }
      }
      case MSE -> {
        p = null;
        for (int i = 0; i < n; i++) {
          double t = 0;
          for (int j = 0; j < k; j++) {
            double d = z[i * k + j] - y[i * k + j];
            t += d * d;
          }
          sampleLosses[i] = t / k;
        }
      }
      case SIGMOID_BINARY_CROSS_ENTROPY -> {
        p = new double[n * k];
        for (int i = 0; i < n; i++) {
          double t = 0;
          for (int j = 0; j < k; j++) {
            int q = i * k + j;
            double v = z[q];
            p[q] = ActivationLayer.sigmoid(v);
            t += Math.max(v, 0.0) - v * y[q] + Math.log1p(Math.exp(-Math.abs(v)));
          }
          sampleLosses[i] = t / k;
        }
      }
      default -> throw new IllegalArgumentException("loss: unsupported " + kind);
    }
    double s = 0;
    for (double l : sampleLosses) {
      s += l;
    }
    this.value = s / n;
  }

  /** The mean loss. */
  double value() {
    return value;
  }

  /** Each sample's loss (their mean is {@link #value()}). */
  double[] sampleLosses() {
    return sampleLosses.clone();
  }

  /** {@code ∂ℓ/∂z}. */
  double[] gradient() {
    double[] g = new double[n * k];
    switch (kind) {
      case SOFTMAX_CROSS_ENTROPY -> {
        for (int i = 0; i < n; i++) {
          for (int j = 0; j < k; j++) {
            g[i * k + j] = p[i * k + j] / n;
          }
          g[i * k + (int) y[i]] -= 1.0 / n;
        }
      }
      case MSE -> {
        double c = 2.0 / ((double) n * k);
        for (int q = 0; q < g.length; q++) {
          g[q] = c * (z[q] - y[q]);
        }
      }
      case SIGMOID_BINARY_CROSS_ENTROPY -> {
        double c = 1.0 / ((double) n * k);
        for (int q = 0; q < g.length; q++) {
          g[q] = c * (p[q] - y[q]);
        }
      }
      default -> throw new IllegalArgumentException("loss: unsupported " + kind);
    }
    return g;
  }

  /** {@code σ(−z)} per element (binary cross-entropy), computed on the first product and kept. */
  private double[] sigmoidOfMinusZ() {
    if (minusZSigmoids == null) {
      double[] s = new double[z.length];
      for (int q = 0; q < s.length; q++) {
        s[q] = ActivationLayer.sigmoid(-z[q]);
      }
      minusZSigmoids = s;
    }
    return minusZSigmoids;
  }

  /** {@code (∂²ℓ/∂z²) u}. */
  double[] hessianVector(double[] u) {
    double[] h = new double[n * k];
    switch (kind) {
      case SOFTMAX_CROSS_ENTROPY -> {
        for (int i = 0; i < n; i++) {
          int o = i * k;
          // p ⊙ (u − pᵀu) with u shifted by u_m, m the most probable class: Σ_k p_k = 1 makes
          // u_j − pᵀu = (u_j − u_m) − Σ_{k≠m} p_k (u_k − u_m), which has no cancellation when
          // p_m → 1 (the plain form loses ε/p_j relative accuracy: 1e-7 at a logit gap of 20)
          int m = 0;
          for (int j = 1; j < k; j++) {
            if (p[o + j] > p[o + m]) {
              m = j;
            }
          }
          double um = u[o + m];
          double pu = 0;
          for (int j = 0; j < k; j++) {
            if (j != m) {
              pu += p[o + j] * (u[o + j] - um);
            }
          }
          for (int j = 0; j < k; j++) {
            h[o + j] = p[o + j] * ((u[o + j] - um) - pu) / n;
          }
        }
      }
      case MSE -> {
        double c = 2.0 / ((double) n * k);
        for (int q = 0; q < h.length; q++) {
          h[q] = c * u[q];
        }
      }
      case SIGMOID_BINARY_CROSS_ENTROPY -> {
        double c = 1.0 / ((double) n * k);
        double[] sm = sigmoidOfMinusZ();
        for (int q = 0; q < h.length; q++) {
          // σ(z) σ(−z), not σ(1 − σ): no cancellation as σ(z) → 1
          h[q] = c * p[q] * sm[q] * u[q];
        }
      }
      default -> throw new IllegalArgumentException("loss: unsupported " + kind);
    }
    return h;
  }
}
