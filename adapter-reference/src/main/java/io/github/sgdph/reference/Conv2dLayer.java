package io.github.sgdph.reference;

/**
 * 2-D convolution (cross-correlation) on NCHW data with zero padding, weight
 * {@code [out, in, kh, kw]} (PyTorch's {@code nn.Conv2d}), computed per sample by im2col:
 * {@code Y_s = W · cols(x_s) + b} with {@code W} viewed as {@code [out, in·kh·kw]}.
 *
 * <p>Backward: {@code ∂W = Σ_s g_s cols(x_s)ᵀ}, {@code ∂b = Σ g}, {@code ∂x_s =
 * col2im(Wᵀ g_s)}. R-forward: {@code R Y_s = W cols(R x_s) + V cols(x_s) + v_b}. Second-order
 * terms of the R-backward: {@code R ∂W += Σ_s g_s cols(R x_s)ᵀ}, {@code R ∂x_s +=
 * col2im(Vᵀ g_s)}.
 */
final class Conv2dLayer extends Layer {
  private final Kernels.Geometry g;
  private final int outC;
  private final boolean bias;
  private final int patch;
  private final int pos;

  Conv2dLayer(Kernels.Geometry g, int outChannels, boolean bias) {
    super(g.inputSize(), outChannels * g.positions());
    this.g = g;
    this.outC = outChannels;
    this.bias = bias;
    this.patch = g.patch();
    this.pos = g.positions();
  }

  /** {@code C·kh·kw}: the size of an unfolded patch. */
  int patchSize() {
    return patch;
  }

  /** {@code oh·ow}: the number of output positions. */
  int positions() {
    return pos;
  }

  /** The number of output channels. */
  int outChannels() {
    return outC;
  }

  private double[] im2col(double[] x, int n) {
    double[] cols = new double[n * patch * pos];
    for (int s = 0; s < n; s++) {
      Kernels.im2col(g, x, s * inSize, cols, s * patch * pos);
    }
    return cols;
  }

  private void addBias(double[] y, int n, double[] b) {
    for (int s = 0; s < n; s++) {
      for (int o = 0; o < outC; o++) {
        int off = s * outSize + o * pos;
        double bo = b[o];
        for (int q = 0; q < pos; q++) {
          y[off + q] += bo;
        }
      }
    }
  }

  private void addBiasGrad(double[] gy, int n, double[] gb) {
    for (int s = 0; s < n; s++) {
      for (int o = 0; o < outC; o++) {
        int off = s * outSize + o * pos;
        double sum = 0;
        for (int q = 0; q < pos; q++) {
          sum += gy[off + q];
        }
        gb[o] += sum;
      }
    }
  }

  /** {@code y_s (+)= W cols_s} for every sample. */
  private void apply(double[] w, double[] cols, double[] y, int n) {
    for (int s = 0; s < n; s++) {
      Kernels.gemm(false, false, outC, pos, patch, w, 0, cols, s * patch * pos, y, s * outSize,
          true);
    }
  }

  /** {@code gW += Σ_s gy_s cols_sᵀ}. */
  private void weightGrad(double[] gy, double[] cols, double[] gw, int n) {
    for (int s = 0; s < n; s++) {
      Kernels.gemm(false, true, outC, patch, pos, gy, s * outSize, cols, s * patch * pos, gw, 0,
          true);
    }
  }

  /** {@code gx_s += col2im(Wᵀ gy_s)}. */
  private void inputGrad(double[] w, double[] gy, double[] gx, int n) {
    double[] gcols = new double[patch * pos];
    for (int s = 0; s < n; s++) {
      Kernels.gemm(true, false, patch, pos, outC, w, 0, gy, s * outSize, gcols, 0, false);
      Kernels.col2imAdd(g, gcols, 0, gx, s * inSize);
    }
  }

  @Override
  Node forward(double[][] p, double[] x, int n) {
    double[] cols = im2col(x, n);
    double[] y = new double[n * outSize];
    apply(p[0], cols, y, n);
    if (bias) {
      addBias(y, n, p[1]);
    }
    return new ConvNode(x, y, n, p[0], cols);
  }

  private static final class ConvRState extends RState {
    final double[] rcols;

    ConvRState(double[] rIn, double[] rOut, double[] rcols) {
      super(rIn, rOut);
      this.rcols = rcols;
    }
  }

  private final class ConvNode extends Node {
    private final double[] w;
    private final double[] cols;

    ConvNode(double[] x, double[] y, int n, double[] w, double[] cols) {
      super(x, y, n);
      this.w = w;
      this.cols = cols;
    }

    @Override
    double[] factorInput() {
      return cols;
    }

    @Override
    double[] backward(double[] gy, double[][] gP, boolean needGIn) {
      if (has(gP, 0)) {
        weightGrad(gy, cols, gP[0], n);
      }
      if (has(gP, 1)) {
        addBiasGrad(gy, n, gP[1]);
      }
      if (!needGIn) {
        return null;
      }
      double[] gx = new double[n * inSize];
      inputGrad(w, gy, gx, n);
      return gx;
    }

    @Override
    RState rForward(double[] rIn, double[][] vP) {
      if (rIn == null && !has(vP, 0) && !has(vP, 1)) {
        return null;
      }
      double[] ry = new double[n * outSize];
      double[] rcols = null;
      if (rIn != null) {
        rcols = im2col(rIn, n);
        apply(w, rcols, ry, n);
      }
      if (has(vP, 0)) {
        apply(vP[0], cols, ry, n);
      }
      if (has(vP, 1)) {
        addBias(ry, n, vP[1]);
      }
      return new ConvRState(rIn, ry, rcols);
    }

    @Override
    double[] rBackward(
        RState r, double[][] vP, double[] gy, double[] rg, double[][] rgP, boolean needGIn) {
      boolean second = gy != null;
      if (has(rgP, 0)) {
        weightGrad(rg, cols, rgP[0], n);
        if (second && r instanceof ConvRState cr && cr.rcols != null) {
          weightGrad(gy, cr.rcols, rgP[0], n);
        }
      }
      if (has(rgP, 1)) {
        addBiasGrad(rg, n, rgP[1]);
      }
      if (!needGIn) {
        return null;
      }
      double[] rgx = new double[n * inSize];
      inputGrad(w, rg, rgx, n);
      if (second && has(vP, 0)) {
        inputGrad(vP[0], gy, rgx, n);
      }
      return rgx;
    }
  }
}
