package io.github.sgdph.reference;

/**
 * Global average pooling {@code [C, H, W] → [C]}: {@code y_c = (1/P) Σ_q x_{c,q}} over the
 * {@code P = H·W} positions of each channel (the head of a ResNet, He et al. 2016, §3.4).
 *
 * <p>Linear without parameters, so every pass is the same map: backward {@code ∂x_{c,q} =
 * g_c / P}, R-forward {@code R y = pool(R x)}, R-backward the backward of {@code R g}; there are
 * no second-order terms.
 */
final class GlobalAvgPoolLayer extends Layer {
  private final int channels;
  private final int positions;

  GlobalAvgPoolLayer(int channels, int positions) {
    super(channels * positions, channels);
    this.channels = channels;
    this.positions = positions;
  }

  private double[] pool(double[] x, int n) {
    double[] y = new double[n * channels];
    double w = 1.0 / positions;
    for (int s = 0; s < n; s++) {
      for (int c = 0; c < channels; c++) {
        int off = s * inSize + c * positions;
        double t = 0;
        for (int q = 0; q < positions; q++) {
          t += x[off + q];
        }
        y[s * channels + c] = t * w;
      }
    }
    return y;
  }

  private double[] spread(double[] g, int n) {
    double[] gx = new double[n * inSize];
    double w = 1.0 / positions;
    for (int s = 0; s < n; s++) {
      for (int c = 0; c < channels; c++) {
        int off = s * inSize + c * positions;
        double v = g[s * channels + c] * w;
        for (int q = 0; q < positions; q++) {
          gx[off + q] = v;
        }
      }
    }
    return gx;
  }

  @Override
  Node forward(double[][] p, double[] x, int n) {
    return new Node(x, pool(x, n), n) {
      @Override
      double[] backward(double[] g, double[][] gP, boolean needGIn) {
        return needGIn ? spread(g, n) : null;
      }

      @Override
      RState rForward(double[] rIn, double[][] vP) {
        return rIn == null ? null : new RState(rIn, pool(rIn, n));
      }

      @Override
      double[] rBackward(
          RState r, double[][] vP, double[] g, double[] rg, double[][] rgP, boolean needGIn) {
        return needGIn ? spread(rg, n) : null;
      }
    };
  }
}
