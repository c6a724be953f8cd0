package io.github.sgdph.conformance;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.CurvatureModel;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.Objects;
import java.util.function.Function;

/**
 * Central finite differences and closed forms against which an adapter's test checks the exact
 * products of a user's own model (a framework's ResNet, a residual graph), where the kit's
 * bundled cases do not apply. Take them in float64 with step {@code h = 1e-5} along a
 * unit-norm direction: the truncation error of a central difference is {@code O(h²)} (~1e-10
 * relative) and its rounding error {@code O(ε/h)} (~1e-11), so a tolerance of 1e-7 separates an
 * exact product from a wrong one, as {@link Tolerances} does for the bundled cases.
 */
public final class FiniteDifferences {
  private FiniteDifferences() {}

  /**
   * {@code (f(θ + h v) − f(θ − h v)) / 2h} of a vector function of the model's parameters,
   * which are restored afterwards.
   *
   * @param model the model whose parameters move
   * @param v the direction, over the model's layout
   * @param h the step
   * @param f the function, evaluated at the moved parameters
   * @return the central difference, entry by entry
   */
  public static double[] central(
      CurvatureModel<?> model, ParameterVector v, double h, Function<CurvatureModel<?>, double[]> f) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(v, "v");
    if (!(h > 0) || !Double.isFinite(h)) {
      throw new IllegalArgumentException("h: must be positive and finite but was " + h);
    }
    try (ParameterVector theta = model.parameters()) {
      try {
        model.setParameters(theta.copy().axpy(h, v));
        double[] plus = f.apply(model);
        model.setParameters(theta.copy().axpy(-h, v));
        double[] minus = f.apply(model);
        double[] d = new double[plus.length];
        for (int i = 0; i < d.length; i++) {
          d[i] = (plus[i] - minus[i]) / (2 * h);
        }
        return d;
      } finally {
        model.setParameters(theta);
      }
    }
  }

  /**
   * {@code H v} by central differences of the gradient: {@code (∇L(θ + h v) − ∇L(θ − h v)) / 2h}.
   *
   * @param model the model of {@code objective}
   * @param objective the objective, bound to the model's parameters
   * @param v the direction
   * @param h the step
   * @return the difference, over the model's layout in block order
   */
  public static double[] hessianVector(
      CurvatureModel<?> model, Objective objective, ParameterVector v, double h) {
    return central(model, v, h, m -> {
      try (Curvature c = objective.curvature(); ParameterVector g = c.gradient()) {
        return g.toDoubleArray();
      }
    });
  }

  /**
   * {@code ∇Lᵀ v} by central differences of the loss, with {@link Objective#lossAt} (the
   * parameters do not move).
   *
   * @param objective the objective
   * @param v the direction
   * @param h the step
   * @return {@code (L(θ + h v) − L(θ − h v)) / 2h}
   */
  public static double directional(Objective objective, ParameterVector v, double h) {
    return (objective.lossAt(v, h) - objective.lossAt(v, -h)) / (2 * h);
  }

  /**
   * {@code uᵀ H_L w} of the mean softmax cross-entropy {@code L = −(1/n) Σ_i log p_{i, y_i}} with
   * respect to the logits, {@code H_L = (1/n) blockdiag(diag p_i − p_i p_iᵀ)}, the softmax
   * {@code p} recovered from the output gradient {@code ∂L/∂z = (p − onehot(y)) / n}: with
   * {@code u = J a}, {@code w = J b} the closed form of {@code aᵀ G b} (Schraudolph 2002).
   *
   * @param outputGradient {@code ∂L/∂z}, {@code [n, k]} row-major
   * @param u a vector over the outputs, {@code [n, k]} row-major
   * @param w another
   * @param labels the class of each sample
   * @param k the number of classes
   * @return {@code uᵀ H_L w}
   */
  public static double softmaxCrossEntropyForm(
      Tensor outputGradient, double[] u, double[] w, int[] labels, int k) {
    double[] g = outputGradient.toDoubleArray();
    int n = labels.length;
    double s = 0;
    for (int i = 0; i < n; i++) {
      double pu = 0;
      double pw = 0;
      double puw = 0;
      for (int j = 0; j < k; j++) {
        double p = g[i * k + j] * n + (j == labels[i] ? 1 : 0);
        pu += p * u[i * k + j];
        pw += p * w[i * k + j];
        puw += p * u[i * k + j] * w[i * k + j];
      }
      s += (puw - pu * pw) / n;
    }
    return s;
  }
}
