package io.github.sgdph.kfac;

import io.github.sgdph.linalg.LinearOperator;

/**
 * The EKFAC matrix (George, Laurent, Bouthillier, Ballas, Vincent 2018, §3) as a linear operator:
 * on each factored layer {@code (Q_G ⊗ Q_A) diag(vec_r s) (Q_G ⊗ Q_A)ᵀ} in sgdph's row-major
 * {@code vec_r([W | b])}, with {@code Q_A}, {@code Q_G} the eigenbases of KFAC's factors and
 * {@code s} the second moment of the per-sample gradients in that basis ({@link
 * KroneckerFactors#eigenbasisScaling}); the product is {@code V ↦ Q_G (s ∘ (Q_Gᵀ V Q_A)) Q_Aᵀ}.
 * The other blocks get the Fisher diagonal as in {@link KfacOperator}. On a domain that selects
 * part of a layer it is the diagonal block of that matrix.
 *
 * <p>{@link #dampedInverse} adds {@code λ} to the scalings, the damping of George et al.: {@code
 * (EKFAC + λI)⁻¹} exactly, {@code Q (s + λ)⁻¹ Qᵀ}.
 */
public final class EkfacOperator extends LayerwiseOperator {

  EkfacOperator(KroneckerFactors factors, LayerView view) {
    super(factors, view);
  }

  @Override
  double[][] layer(LayerView.Part p, double[][] v) {
    return rescaled(p, v, 0, false);
  }

  @Override
  double diagonal(double d, double x) {
    return d * x;
  }

  /** {@code Q (s + shift)^{±1} Qᵀ} on the part, the whole layer's basis padded with zeros. */
  private double[][] rescaled(LayerView.Part p, double[][] v, double shift, boolean invert) {
    int l = p.layer();
    double[][] qa = factors.qa(l);
    double[][] qg = factors.qg(l);
    double[][] s = factors.s(l);
    int[] cols = p.cols();
    double[][] full = new double[v.length][qa.length];
    for (int o = 0; o < v.length; o++) {
      for (int c = 0; c < cols.length; c++) {
        full[o][cols[c]] = v[o][c];
      }
    }
    double[][] proj =
        HostMatrices.multiply(HostMatrices.multiply(HostMatrices.transpose(qg), full), qa);
    for (int o = 0; o < proj.length; o++) {
      for (int j = 0; j < proj[o].length; j++) {
        double d = s[o][j] + shift;
        proj[o][j] = invert ? proj[o][j] / d : proj[o][j] * d;
      }
    }
    double[][] back =
        HostMatrices.multiply(HostMatrices.multiply(qg, proj), HostMatrices.transpose(qa));
    double[][] out = new double[v.length][cols.length];
    for (int o = 0; o < v.length; o++) {
      for (int c = 0; c < cols.length; c++) {
        out[o][c] = back[o][cols[c]];
      }
    }
    return out;
  }

  /**
   * The trace, in closed form on whole layers ({@code Σ s}); on a partly selected layer the sum of
   * the diagonal block's diagonal {@code Σ_{o,j∈S} Σ_{x,y} s_xy (Q_G)_ox² (Q_A)_jy²}.
   *
   * @return the exact trace of this operator
   */
  public double trace() {
    double t = 0;
    for (LayerView.Part p : view.parts) {
      double[][] qa = factors.qa(p.layer());
      double[][] qg = factors.qg(p.layer());
      double[][] s = factors.s(p.layer());
      // column weights w_y = Σ_{j∈S} (Q_A)_jy², row weights Σ_o (Q_G)_ox² = 1
      double[] w = new double[qa.length];
      for (int j : p.cols()) {
        for (int y = 0; y < qa.length; y++) {
          w[y] += qa[j][y] * qa[j][y];
        }
      }
      for (int x = 0; x < qg.length; x++) {
        for (int y = 0; y < w.length; y++) {
          t += s[x][y] * w[y];
        }
      }
    }
    return t + diagonalTrace();
  }

  /**
   * The inverse of {@code EKFAC + λI}: {@code Q (s + λ)⁻¹ Qᵀ} per layer, {@code 1/(d + λ)} on the
   * diagonal blocks.
   *
   * @param lambda the damping {@code λ > 0}
   * @return the operator over this operator's domain
   * @throws IllegalArgumentException if {@code lambda} is not positive and finite, or the domain
   *     holds part of a layer only (the inverse of a diagonal block has no eigenbasis form)
   */
  public LinearOperator dampedInverse(double lambda) {
    requireDamping(lambda);
    for (LayerView.Part p : view.parts) {
      if (p.cols().length != p.f().homogeneousInputDim()) {
        throw new IllegalArgumentException(
            "domain: the EKFAC inverse needs whole layers, but only part of " + p.f().name()
                + " (weight and bias) is selected");
      }
    }
    return new LayerwiseOperator(factors, view) {
      @Override
      double[][] layer(LayerView.Part p, double[][] v) {
        return rescaled(p, v, lambda, true);
      }

      @Override
      double diagonal(double d, double x) {
        return x / (d + lambda);
      }
    };
  }
}
