package io.github.sgdph.reference;

import io.github.sgdph.model.LayerSpec.ActivationKind;

/**
 * Element-wise activation {@code y = σ(z)}: relu, tanh, sigmoid, softplus.
 *
 * <p>Backward {@code ∂z = σ'(z) g}; R-forward {@code R y = σ'(z) R z}; R-backward
 * {@code R ∂z = σ'(z) R g + σ''(z) R z · g} (the second term only for Hessian products).
 * Derivatives: relu {@code σ' = 1[z > 0]} (0 at the kink, as PyTorch), {@code σ'' = 0}; tanh
 * {@code σ' = 1 − y²}, {@code σ'' = −2y(1 − y²)}; sigmoid {@code σ' = y(1 − y)},
 * {@code σ'' = y(1 − y)(1 − 2y)}; softplus {@code y = log(1 + eᶻ)} evaluated stably as
 * {@code max(z, 0) + log1p(e^{−|z|})} (exact everywhere: no linear cut-off as PyTorch's
 * {@code threshold = 20}, which differs by less than {@code e^{−20}}), {@code σ' = sigmoid(z)},
 * {@code σ'' = sigmoid(z) sigmoid(−z)} (not {@code s(1 − s)}, whose subtraction loses all
 * relative accuracy as {@code z} grows: 8% at {@code z = 34.5}).
 */
final class ActivationLayer extends Layer {
  private final ActivationKind kind;

  ActivationLayer(ActivationKind kind, int size) {
    super(size, size);
    this.kind = kind;
  }

  static double sigmoid(double z) {
    if (z >= 0) {
      return 1.0 / (1.0 + Math.exp(-z));
    }
    double e = Math.exp(z);
    return e / (1.0 + e);
  }

  @Override
  Node forward(double[][] p, double[] z, int n) {
    double[] y = new double[z.length];
    double[] d1 = new double[z.length];
    double[] d2 = null;
    switch (kind) {
      case RELU -> {
        for (int i = 0; i < z.length; i++) {
          boolean pos = z[i] > 0;
          y[i] = pos ? z[i] : 0.0;
          d1[i] = pos ? 1.0 : 0.0;
        }
      }
      case TANH -> {
        for (int i = 0; i < z.length; i++) {
          double t = Math.tanh(z[i]);
          y[i] = t;
          d1[i] = 1.0 - t * t;
        }
      }
      case SIGMOID -> {
        for (int i = 0; i < z.length; i++) {
          double s = sigmoid(z[i]);
          y[i] = s;
          d1[i] = s * (1.0 - s);
        }
      }
      case SOFTPLUS -> {
        // one exponential e = e^{−|z|} gives the value and both sigmoids, σ(z) and σ(−z)
        d2 = new double[z.length];
        for (int i = 0; i < z.length; i++) {
          double v = z[i];
          double e = Math.exp(-Math.abs(v));
          double large = 1.0 / (1.0 + e);
          double small = e / (1.0 + e);
          y[i] = Math.max(v, 0.0) + Math.log1p(e);
          d1[i] = v >= 0 ? large : small;
          d2[i] = d1[i] * (v >= 0 ? small : large);
        }
      }
    }
    return new ActivationNode(z, y, d1, d2, n);
  }

  private final class ActivationNode extends Node {
    private final double[] d1;
    /** {@code σ''(z)} where it is not cheaper from the output: softplus only, else null. */
    private final double[] d2;

    ActivationNode(double[] z, double[] y, double[] d1, double[] d2, int n) {
      super(z, y, n);
      this.d1 = d1;
      this.d2 = d2;
    }

    @Override
    double[] backward(double[] g, double[][] gP, boolean needGIn) {
      if (!needGIn) {
        return null;
      }
      double[] gz = new double[g.length];
      for (int i = 0; i < g.length; i++) {
        gz[i] = d1[i] * g[i];
      }
      return gz;
    }

    @Override
    RState rForward(double[] rIn, double[][] vP) {
      if (rIn == null) {
        return null;
      }
      double[] ry = new double[rIn.length];
      for (int i = 0; i < ry.length; i++) {
        ry[i] = d1[i] * rIn[i];
      }
      return new RState(rIn, ry);
    }

    /** {@code σ''(z)} from the output {@code y} (and {@code z} for softplus). */
    private double second(int i) {
      double y = out[i];
      return switch (kind) {
        case RELU -> 0.0;
        case TANH -> -2.0 * y * (1.0 - y * y);
        case SIGMOID -> y * (1.0 - y) * (1.0 - 2.0 * y);
        case SOFTPLUS -> d2[i];
      };
    }

    @Override
    double[] rBackward(
        RState r, double[][] vP, double[] g, double[] rg, double[][] rgP, boolean needGIn) {
      if (!needGIn) {
        return null;
      }
      double[] rgz = new double[rg.length];
      for (int i = 0; i < rgz.length; i++) {
        rgz[i] = d1[i] * rg[i];
      }
      if (g != null && r != null && kind != ActivationKind.RELU) {
        double[] rz = r.rIn;
        for (int i = 0; i < rgz.length; i++) {
          rgz[i] += second(i) * rz[i] * g[i];
        }
      }
      return rgz;
    }
  }
}
