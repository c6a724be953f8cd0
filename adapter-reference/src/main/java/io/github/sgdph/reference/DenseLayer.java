package io.github.sgdph.reference;

/**
 * Fully connected layer {@code y = x Wᵀ + b}, {@code W [out, in]} (PyTorch's
 * {@code nn.Linear}).
 *
 * <p>Backward: {@code ∂W = gᵀ x}, {@code ∂b = Σ_rows g}, {@code ∂x = g W}. R-forward:
 * {@code R y = R x Wᵀ + x Vᵀ + v_b}. Second-order terms of the R-backward:
 * {@code R ∂W += gᵀ R x} and {@code R ∂x += g V}.
 */
final class DenseLayer extends Layer {
  private final int inF;
  private final int outF;
  private final boolean bias;

  DenseLayer(int in, int out, boolean bias) {
    super(in, out);
    this.inF = in;
    this.outF = out;
    this.bias = bias;
  }

  /** The number of input features. */
  int inFeatures() {
    return inF;
  }

  /** The number of output features. */
  int outFeatures() {
    return outF;
  }

  @Override
  Node forward(double[][] p, double[] x, int n) {
    double[] y = new double[n * outF];
    Kernels.gemm(false, true, n, outF, inF, x, 0, p[0], 0, y, 0, false);
    if (bias) {
      Kernels.addRowVector(y, n, outF, p[1]);
    }
    return new DenseNode(p, x, y, n);
  }

  private final class DenseNode extends Node {
    private final double[] w;

    DenseNode(double[][] p, double[] x, double[] y, int n) {
      super(x, y, n);
      this.w = p[0];
    }

    @Override
    double[] backward(double[] g, double[][] gP, boolean needGIn) {
      if (has(gP, 0)) {
        Kernels.gemm(true, false, outF, inF, n, g, 0, this.in, 0, gP[0], 0, true);
      }
      if (has(gP, 1)) {
        Kernels.addColumnSums(g, n, outF, gP[1]);
      }
      if (!needGIn) {
        return null;
      }
      double[] gx = new double[n * inF];
      Kernels.gemm(false, false, n, inF, outF, g, 0, w, 0, gx, 0, false);
      return gx;
    }

    @Override
    RState rForward(double[] rIn, double[][] vP) {
      if (rIn == null && !has(vP, 0) && !has(vP, 1)) {
        return null;
      }
      double[] ry = new double[n * outF];
      if (rIn != null) {
        Kernels.gemm(false, true, n, outF, inF, rIn, 0, w, 0, ry, 0, true);
      }
      if (has(vP, 0)) {
        Kernels.gemm(false, true, n, outF, inF, this.in, 0, vP[0], 0, ry, 0, true);
      }
      if (has(vP, 1)) {
        Kernels.addRowVector(ry, n, outF, vP[1]);
      }
      return new RState(rIn, ry);
    }

    @Override
    double[] rBackward(
        RState r, double[][] vP, double[] g, double[] rg, double[][] rgP, boolean needGIn) {
      boolean second = g != null;
      if (has(rgP, 0)) {
        Kernels.gemm(true, false, outF, inF, n, rg, 0, this.in, 0, rgP[0], 0, true);
        if (second && r != null && r.rIn != null) {
          Kernels.gemm(true, false, outF, inF, n, g, 0, r.rIn, 0, rgP[0], 0, true);
        }
      }
      if (has(rgP, 1)) {
        Kernels.addColumnSums(rg, n, outF, rgP[1]);
      }
      if (!needGIn) {
        return null;
      }
      double[] rgx = new double[n * inF];
      Kernels.gemm(false, false, n, inF, outF, rg, 0, w, 0, rgx, 0, false);
      if (second && has(vP, 0)) {
        Kernels.gemm(false, false, n, inF, outF, g, 0, vP[0], 0, rgx, 0, true);
      }
      return rgx;
    }
  }
}
