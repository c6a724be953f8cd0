package io.github.sgdph.kfac;

import io.github.sgdph.linalg.LinearOperator;

/**
 * The KFAC matrix (Martens and Grosse 2015; KFC for convolutions, Grosse and Martens 2016) as a
 * linear operator: block-diagonal over the factored layers, {@code G ⊗ A} on each layer's {@code
 * vec_r([W | b])} (row-major; {@code A ⊗ G} in the papers' column-major {@code vec}), the product
 * {@code V ↦ G V A}, and the Fisher diagonal on the other blocks (see {@link KroneckerFactors}). On
 * a domain that selects part of a layer (its weight without its bias, say) it is the diagonal
 * block of that matrix, {@code G ⊗ A_SS}.
 *
 * <p>{@link #dampedInverse} is the inverse of the damped matrix with Tikhonov damping {@code λ}
 * split between the factors as in Martens and Grosse (2015, §6.3, "factored Tikhonov"), which is
 * also kfac-jax's default ({@code pi_adjusted} with the trace norm): {@code (A + π√λ I) ⊗ (G +
 * (√λ/π) I)} with {@code π = √((tr A / dim A) / (tr G / dim G))} ({@code π = 1} if a trace is
 * zero), and {@code d + λ} on the diagonal blocks. It is not the inverse of {@code KFAC + λI}
 * (which has no Kronecker form): it adds {@code λ I} plus the cross terms {@code π√λ I ⊗ G +
 * (√λ/π) A ⊗ I}.
 */
public final class KfacOperator extends LayerwiseOperator {

  /**
   * From how many right-hand sides {@link HostMatrices#solveColumns} beats {@link
   * HostMatrices#solveRows} (its inner loops run across them).
   */
  private static final int MANY_ROWS = 32;

  KfacOperator(KroneckerFactors factors, LayerView view) {
    super(factors, view);
  }

  @Override
  double[][] layer(LayerView.Part p, double[][] v) {
    double[][] as = HostMatrices.sub(factors.a(p.layer()), p.cols());
    return HostMatrices.multiply(HostMatrices.multiply(factors.g(p.layer()), v), as);
  }

  @Override
  double diagonal(double d, double x) {
    return d * x;
  }

  /**
   * The trace, in closed form: {@code Σ_layers tr(G) tr(A_SS)} plus the diagonal blocks' sums.
   *
   * @return the exact trace of this operator
   */
  public double trace() {
    double t = 0;
    for (LayerView.Part p : view.parts) {
      double ta = 0;
      double[][] a = factors.a(p.layer());
      for (int c : p.cols()) {
        ta += a[c][c];
      }
      double[][] g = factors.g(p.layer());
      double tg = 0;
      for (int o = 0; o < g.length; o++) {
        tg += g[o][o];
      }
      t += ta * tg;
    }
    return t + diagonalTrace();
  }

  /**
   * The factored-Tikhonov damped inverse (see the class comment): each damped factor is
   * Cholesky-factorised once, here, and every product solves with the factors ({@code n²}
   * multiply-adds per row or column of {@code V} for an {@code n × n} factor) rather than
   * multiplying by explicit inverses, which would cost another {@code n³} to form.
   *
   * @param lambda the damping {@code λ > 0}
   * @return the operator {@code ((A + π√λ I) ⊗ (G + (√λ/π) I))⁻¹} per layer, {@code 1/(d + λ)} on
   *     the diagonal blocks, over this operator's domain
   * @throws IllegalArgumentException if {@code lambda} is not positive and finite
   */
  public LinearOperator dampedInverse(double lambda) {
    requireDamping(lambda);
    double[][][] ua = new double[view.parts.size()][][];
    double[][][] ug = new double[view.parts.size()][][];
    for (int i = 0; i < ua.length; i++) {
      LayerView.Part p = view.parts.get(i);
      double[][] as = HostMatrices.sub(factors.a(p.layer()), p.cols());
      double[][] g = factors.g(p.layer());
      double pi = pi(as, g);
      double root = Math.sqrt(lambda);
      ua[i] = HostMatrices.choleskyUpper(as, pi * root, p.f().name() + " A");
      ug[i] = HostMatrices.choleskyUpper(g, root / pi, p.f().name() + " G");
    }
    return new LayerwiseOperator(factors, view) {
      @Override
      double[][] layer(LayerView.Part p, double[][] v) {
        int i = view.parts.indexOf(p);
        // V A⁻¹ by rows of V, or as (A⁻¹ Vᵀ)ᵀ when there are many rows; then G⁻¹ (V A⁻¹) with
        // its columns as right-hand sides. Either form gives the same bits (HostMatrices).
        double[][] va = v.length >= MANY_ROWS
            ? HostMatrices.transpose(
                HostMatrices.solveColumns(ua[i], HostMatrices.transpose(v)))
            : HostMatrices.solveRows(ua[i], v);
        return HostMatrices.solveColumns(ug[i], va);
      }

      @Override
      double diagonal(double d, double x) {
        return x / (d + lambda);
      }
    };
  }

  /** Martens and Grosse's {@code π} with the trace norm. */
  static double pi(double[][] a, double[][] g) {
    double ta = HostMatrices.meanDiagonal(a);
    double tg = HostMatrices.meanDiagonal(g);
    return ta > 0 && tg > 0 ? Math.sqrt(ta / tg) : 1;
  }
}
