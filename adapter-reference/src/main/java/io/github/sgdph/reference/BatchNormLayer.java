package io.github.sgdph.reference;

import io.github.sgdph.model.BatchStatisticsReducer;
import io.github.sgdph.model.BatchStatisticsReducer.Kind;
import java.util.function.Supplier;

/**
 * Batch normalisation (Ioffe and Szegedy 2015) over the feature axis of {@code [n, F]} data or
 * the channel axis of {@code [n, C, H, W]} data: {@code y = γ x̂ + β}.
 *
 * <p><b>Train mode</b> uses the batch statistics of each channel over its {@code m = n·H·W}
 * values: {@code μ = mean(x)}, {@code σ² = mean((x − μ)²)} (biased), {@code s = (σ² +
 * ε)^{-1/2}}, {@code x̂ = (x − μ) s}. With the projection {@code P(u) = u − mean(u) − x̂
 * mean(x̂ u)} per channel, the Jacobian of {@code x̂} is the symmetric {@code s P}, so
 * <ul>
 *   <li>backward: {@code ∂γ = Σ g x̂}, {@code ∂β = Σ g}, {@code ∂x = s P(γ g)};
 *   <li>R-forward: {@code R x̂ = s P(R x)}, {@code R y = γ R x̂ + v_γ x̂ + v_β};
 *   <li>R-backward: {@code R ∂γ = Σ (R g · x̂ + g · R x̂)}, {@code R ∂β = Σ R g}, and with
 *       {@code u = γ g}, {@code R s = −s² mean(x̂ R x)}: {@code R ∂x = s P(γ R g) + R s · P(u)
 *       + s P(v_γ g) − s (R x̂ · mean(x̂ u) + x̂ · mean(R x̂ · u))} (the last three terms are
 *       second order).
 * </ul>
 * The statistics couple the samples of a batch. A train-mode layer's running statistics live in
 * its model ({@link ReferenceModel#updateRunningStatistics}), which evaluates with them
 * ({@link #forward(double[][], double[], int, boolean)}).
 *
 * <p><b>Synchronised statistics.</b> The batch enters every pass only through per-channel sums
 * ({@code Σ x}, {@code Σ (x − μ)²}; {@code Σ u}, {@code Σ x̂ u} of each projection; the
 * R-backward's {@code Σ x̂ g}, {@code Σ R x̂ · g}). Each is formed through the network's {@link
 * BatchStatisticsReducer}, and {@code m} is its whole batch's count: with {@link
 * BatchStatisticsReducer#LOCAL} (one machine) the arithmetic is exactly the one without the hook;
 * with a reducer over replicas holding the parts of one batch, each replica computes its samples'
 * rows of the single-machine passes. Reductions per train-mode layer: forward 2 (mean, then
 * variance: two-pass, as one machine), backward 1, R-forward 1, Gauss-Newton R-backward 1,
 * Hessian R-backward 2; evaluation with running statistics none.
 *
 * <p><b>Eval mode</b> uses the non-trainable running statistics: {@code x̂ = (x − r_μ) s} with
 * {@code s = (r_σ² + ε)^{-1/2}}, an affine map per channel; its only second-order terms are
 * {@code R ∂γ += Σ g s R x} and {@code R ∂x += v_γ s g}.
 */
final class BatchNormLayer extends Layer {
  private final int channels;
  private final int spatial;
  private final double eps;
  private final boolean train;
  private final Supplier<BatchStatisticsReducer> reducer;

  BatchNormLayer(
      int channels, int spatial, double eps, boolean train,
      Supplier<BatchStatisticsReducer> reducer) {
    super(channels * spatial, channels * spatial);
    this.channels = channels;
    this.spatial = spatial;
    this.eps = eps;
    this.train = train;
    this.reducer = reducer;
  }

  /** {@code m}: the values per channel of the whole batch of which this replica holds {@code n}. */
  private int batchValues(int n) {
    return reducer.get().samples(n) * spatial;
  }

  /**
   * The batch sums of per-channel partial sums of one reduction point, in one reduction (the
   * arrays themselves with {@link BatchStatisticsReducer#LOCAL}).
   */
  private double[][] reduce(Kind kind, double[]... partial) {
    BatchStatisticsReducer r = reducer.get();
    if (r == BatchStatisticsReducer.LOCAL) {
      return partial;
    }
    double[] all = new double[partial.length * channels];
    for (int k = 0; k < partial.length; k++) {
      System.arraycopy(partial[k], 0, all, k * channels, channels);
    }
    double[] sums = r.sum(all, kind);
    if (sums.length != all.length) {
      throw new IllegalStateException(
          "reducer: " + sums.length + " sums for " + all.length + " partial sums");
    }
    double[][] out = new double[partial.length][channels];
    for (int k = 0; k < partial.length; k++) {
      System.arraycopy(sums, k * channels, out[k], 0, channels);
    }
    return out;
  }

  /** {@code {Σ u, Σ x̂ u}} per channel over the batch: what the projection {@code P(u)} needs. */
  private double[][] projectionSums(double[] u, double[] xhat, int n, Kind kind) {
    return reduce(kind, channelSums(u, n), channelDots(xhat, u, n));
  }

  /** {@code Σ a} per channel. */
  private double[] channelSums(double[] a, int n) {
    double[] s = new double[channels];
    for (int b = 0; b < n; b++) {
      for (int c = 0; c < channels; c++) {
        int off = b * inSize + c * spatial;
        double t = 0;
        for (int q = 0; q < spatial; q++) {
          t += a[off + q];
        }
        s[c] += t;
      }
    }
    return s;
  }

  /** {@code Σ a b} per channel. */
  private double[] channelDots(double[] a, double[] bb, int n) {
    double[] s = new double[channels];
    for (int b = 0; b < n; b++) {
      for (int c = 0; c < channels; c++) {
        int off = b * inSize + c * spatial;
        double t = 0;
        for (int q = 0; q < spatial; q++) {
          t += a[off + q] * bb[off + q];
        }
        s[c] += t;
      }
    }
    return s;
  }

  /**
   * {@code out += scale_c · (u − mean(u) − x̂ mean(x̂ u))} per channel, the means over the batch
   * (one reduction of {@code kind}).
   *
   * @return {@code mean(x̂ u)} per channel
   */
  private double[] addProjected(
      double[] u, double[] xhat, double[] scale, double[] out, int n, Kind kind) {
    return addProjected(u, xhat, scale, out, n, projectionSums(u, xhat, n, kind));
  }

  /** As above with the batch sums {@code {Σ u, Σ x̂ u}} given ({@link #projectionSums}). */
  private double[] addProjected(
      double[] u, double[] xhat, double[] scale, double[] out, int n, double[][] sums) {
    int m = batchValues(n);
    double[] mu = sums[0].clone();
    double[] mxu = sums[1].clone();
    for (int c = 0; c < channels; c++) {
      mu[c] /= m;
      mxu[c] /= m;
    }
    for (int b = 0; b < n; b++) {
      for (int c = 0; c < channels; c++) {
        int off = b * inSize + c * spatial;
        double sc = scale[c];
        double a = mu[c];
        double d = mxu[c];
        for (int q = 0; q < spatial; q++) {
          out[off + q] += sc * (u[off + q] - a - xhat[off + q] * d);
        }
      }
    }
    return mxu;
  }

  /** {@code out = a_c · x} per channel (a new array). */
  private double[] scaled(double[] x, double[] a, int n) {
    double[] out = new double[x.length];
    for (int b = 0; b < n; b++) {
      for (int c = 0; c < channels; c++) {
        int off = b * inSize + c * spatial;
        double ac = a[c];
        for (int q = 0; q < spatial; q++) {
          out[off + q] = ac * x[off + q];
        }
      }
    }
    return out;
  }

  /** {@code out += a_c · x} per channel. */
  private void addScaled(double[] x, double[] a, double[] out, int n) {
    for (int b = 0; b < n; b++) {
      for (int c = 0; c < channels; c++) {
        int off = b * inSize + c * spatial;
        double ac = a[c];
        for (int q = 0; q < spatial; q++) {
          out[off + q] += ac * x[off + q];
        }
      }
    }
  }

  /** {@code out += v_c} per channel. */
  private void addPerChannel(double[] v, double[] out, int n) {
    for (int b = 0; b < n; b++) {
      for (int c = 0; c < channels; c++) {
        int off = b * inSize + c * spatial;
        double vc = v[c];
        for (int q = 0; q < spatial; q++) {
          out[off + q] += vc;
        }
      }
    }
  }

  @Override
  Node forward(double[][] p, double[] x, int n) {
    return forward(p, x, n, false);
  }

  /** Whether the layer normalises with batch statistics (train mode). */
  boolean train() {
    return train;
  }

  /**
   * Each channel's batch mean and biased variance of {@code x} over its {@code M = n·H·W}
   * values, and {@code M}.
   *
   * @return {@code {mean, variance, {M}}}
   */
  double[][] batchStatistics(double[] x, int n) {
    int m = batchValues(n);
    double[] mean = reduce(Kind.ACTIVATIONS, channelSums(x, n))[0];
    for (int c = 0; c < channels; c++) {
      mean[c] /= m;
    }
    double[] var = new double[channels];
    for (int b = 0; b < n; b++) {
      for (int c = 0; c < channels; c++) {
        int off = b * inSize + c * spatial;
        double mc = mean[c];
        double t = 0;
        for (int q = 0; q < spatial; q++) {
          double d = x[off + q] - mc;
          t += d * d;
        }
        var[c] += t;
      }
    }
    var = reduce(Kind.ACTIVATIONS, var)[0];
    for (int c = 0; c < channels; c++) {
      var[c] /= m;
    }
    return new double[][] {mean, var, {m}};
  }

  /**
   * The forward pass; with {@code running} true, as in evaluation mode: a train-mode layer
   * normalises with the running statistics in {@code p[2]} and {@code p[3]} instead of the batch
   * statistics.
   */
  Node forward(double[][] p, double[] x, int n, boolean running) {
    boolean batchStats = train && !running;
    double[] gamma = p[0];
    double[] beta = p[1];
    double[] mean;
    double[] s = new double[channels];
    double[] xhat = new double[x.length];
    if (batchStats) {
      double[][] st = batchStatistics(x, n);
      mean = st[0];
      for (int c = 0; c < channels; c++) {
        s[c] = 1.0 / Math.sqrt(st[1][c] + eps);
      }
    } else {
      mean = p[2];
      for (int c = 0; c < channels; c++) {
        s[c] = 1.0 / Math.sqrt(p[3][c] + eps);
      }
    }
    double[] y = new double[x.length];
    for (int b = 0; b < n; b++) {
      for (int c = 0; c < channels; c++) {
        int off = b * inSize + c * spatial;
        double mc = mean[c];
        double sc = s[c];
        double gc = gamma[c];
        double bc = beta[c];
        for (int q = 0; q < spatial; q++) {
          double h = (x[off + q] - mc) * sc;
          xhat[off + q] = h;
          y[off + q] = gc * h + bc;
        }
      }
    }
    return batchStats
        ? new TrainNode(x, y, n, gamma, s, xhat)
        : new EvalNode(x, y, n, gamma, s, xhat);
  }

  private static final class TrainRState extends RState {
    /** {@code R x̂}, or null for a zero input direction. */
    final double[] rxhat;

    /** {@code mean(x̂ R x)} per channel ({@code R s = −s² ·} this). */
    final double[] mxr;

    TrainRState(double[] rIn, double[] rOut, double[] rxhat, double[] mxr) {
      super(rIn, rOut);
      this.rxhat = rxhat;
      this.mxr = mxr;
    }
  }

  private abstract class BnNode extends Node {
    final double[] gamma;
    final double[] s;
    final double[] xhat;
    final double[] gs;

    BnNode(double[] x, double[] y, int n, double[] gamma, double[] s, double[] xhat) {
      super(x, y, n);
      this.gamma = gamma;
      this.s = s;
      this.xhat = xhat;
      this.gs = new double[channels];
      for (int c = 0; c < channels; c++) {
        gs[c] = gamma[c] * s[c];
      }
    }

    void paramGrads(double[] g, double[][] gP) {
      if (has(gP, 0)) {
        double[] d = channelDots(g, xhat, n);
        for (int c = 0; c < channels; c++) {
          gP[0][c] += d[c];
        }
      }
      if (has(gP, 1)) {
        double[] d = channelSums(g, n);
        for (int c = 0; c < channels; c++) {
          gP[1][c] += d[c];
        }
      }
    }
  }

  private final class TrainNode extends BnNode {
    TrainNode(double[] x, double[] y, int n, double[] gamma, double[] s, double[] xhat) {
      super(x, y, n, gamma, s, xhat);
    }

    @Override
    double[] backward(double[] g, double[][] gP, boolean needGIn) {
      paramGrads(g, gP);
      if (!needGIn) {
        return null;
      }
      double[] gx = new double[g.length];
      addProjected(g, xhat, gs, gx, n, Kind.LOSS_DERIVATIVES);
      return gx;
    }

    @Override
    RState rForward(double[] rIn, double[][] vP) {
      if (rIn == null && !has(vP, 0) && !has(vP, 1)) {
        return null;
      }
      double[] ry = new double[n * inSize];
      double[] rxhat = null;
      double[] mxr = null;
      if (rIn != null) {
        rxhat = new double[rIn.length];
        mxr = addProjected(rIn, xhat, s, rxhat, n, Kind.ACTIVATIONS);
        addScaled(rxhat, gamma, ry, n);
      }
      if (has(vP, 0)) {
        addScaled(xhat, vP[0], ry, n);
      }
      if (has(vP, 1)) {
        addPerChannel(vP[1], ry, n);
      }
      return new TrainRState(rIn, ry, rxhat, mxr);
    }

    @Override
    double[] rBackward(
        RState r, double[][] vP, double[] g, double[] rg, double[][] rgP, boolean needGIn) {
      boolean second = g != null;
      double[] rxhat = second && r instanceof TrainRState t ? t.rxhat : null;
      paramGrads(rg, rgP);
      if (rxhat != null && has(rgP, 0)) {
        double[] d = channelDots(g, rxhat, n);
        for (int c = 0; c < channels; c++) {
          rgP[0][c] += d[c];
        }
      }
      if (!needGIn) {
        return null;
      }
      double[] rgx = new double[rg.length];
      addProjected(rg, xhat, gs, rgx, n, Kind.LOSS_DERIVATIVES);
      if (!second || (!has(vP, 0) && rxhat == null)) {
        return rgx;
      }
      // one reduction for the second-order terms: {Σ g, Σ x̂ g} of P(g), and Σ R x̂ · g
      double[][] gSums = rxhat == null
          ? projectionSums(g, xhat, n, Kind.LOSS_DERIVATIVES)
          : reduce(Kind.LOSS_DERIVATIVES, channelSums(g, n), channelDots(xhat, g, n),
              channelDots(rxhat, g, n));
      if (has(vP, 0)) {
        double[] vs = new double[channels];
        for (int c = 0; c < channels; c++) {
          vs[c] = vP[0][c] * s[c];
        }
        addProjected(g, xhat, vs, rgx, n, gSums);
      }
      if (rxhat != null) {
        double[] mxr = ((TrainRState) r).mxr;
        int m = batchValues(n);
        // u = γ g: R s · P(u) = −s² mean(x̂ R x) γ P(g)
        double[] rsGamma = new double[channels];
        for (int c = 0; c < channels; c++) {
          rsGamma[c] = -s[c] * mxr[c] * gs[c];
        }
        addProjected(g, xhat, rsGamma, rgx, n, gSums);
        // − s (R x̂ · mean(x̂ u) + x̂ · mean(R x̂ · u))
        double[] mxg = gSums[1];
        double[] mrg = gSums[2];
        for (int b = 0; b < n; b++) {
          for (int c = 0; c < channels; c++) {
            int off = b * inSize + c * spatial;
            double a = gs[c] * mxg[c] / m;
            double d = gs[c] * mrg[c] / m;
            for (int q = 0; q < spatial; q++) {
              rgx[off + q] -= a * rxhat[off + q] + d * xhat[off + q];
            }
          }
        }
      }
      return rgx;
    }
  }

  private final class EvalNode extends BnNode {
    EvalNode(double[] x, double[] y, int n, double[] gamma, double[] s, double[] xhat) {
      super(x, y, n, gamma, s, xhat);
    }

    @Override
    double[] backward(double[] g, double[][] gP, boolean needGIn) {
      paramGrads(g, gP);
      return needGIn ? scaled(g, gs, n) : null;
    }

    @Override
    RState rForward(double[] rIn, double[][] vP) {
      if (rIn == null && !has(vP, 0) && !has(vP, 1)) {
        return null;
      }
      double[] ry = rIn != null ? scaled(rIn, gs, n) : new double[n * inSize];
      if (has(vP, 0)) {
        addScaled(xhat, vP[0], ry, n);
      }
      if (has(vP, 1)) {
        addPerChannel(vP[1], ry, n);
      }
      return new RState(rIn, ry);
    }

    @Override
    double[] rBackward(
        RState r, double[][] vP, double[] g, double[] rg, double[][] rgP, boolean needGIn) {
      boolean second = g != null;
      paramGrads(rg, rgP);
      if (second && r != null && r.rIn != null && has(rgP, 0)) {
        double[] d = channelDots(g, r.rIn, n);
        for (int c = 0; c < channels; c++) {
          rgP[0][c] += s[c] * d[c];
        }
      }
      if (!needGIn) {
        return null;
      }
      double[] rgx = scaled(rg, gs, n);
      if (second && has(vP, 0)) {
        double[] vs = new double[channels];
        for (int c = 0; c < channels; c++) {
          vs[c] = vP[0][c] * s[c];
        }
        addScaled(g, vs, rgx, n);
      }
      return rgx;
    }
  }
}
