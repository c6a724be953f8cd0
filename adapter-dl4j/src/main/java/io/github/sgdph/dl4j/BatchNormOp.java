package io.github.sgdph.dl4j;

import static io.github.sgdph.dl4j.Nd4jArrays.addInto;
import static io.github.sgdph.dl4j.Nd4jArrays.chAddInPlace;
import static io.github.sgdph.dl4j.Nd4jArrays.chMean;
import static io.github.sgdph.dl4j.Nd4jArrays.chMul;
import static io.github.sgdph.dl4j.Nd4jArrays.chSub;
import static io.github.sgdph.dl4j.Nd4jArrays.chSum;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Batch normalisation (Ioffe and Szegedy 2015) over dimension 1 of {@code [n, F]} or NCHW
 * input, with scale {@code γ} (slot 0) and shift {@code β} (slot 1) of shape {@code [1, C]},
 * or fixed ones for DL4J's {@code lockGammaBeta}.
 *
 * <p><b>Train mode</b> (batch statistics, biased variance, {@code eps} inside the root, as
 * PyTorch and DL4J): with {@code m} entries per channel, {@code μ = mean x},
 * {@code s = (mean (x − μ)² + eps)^{−1/2}}, {@code x̂ = s (x − μ)}, {@code y = γ x̂ + β}. Writing
 * {@code P(u) = u − mean u − x̂ mean(x̂ u)} (per channel), the derivatives are
 * <ul>
 *   <li>{@code ∂γ = Σ g x̂}, {@code ∂β = Σ g}, {@code ∂x = s P(γ g)};
 *   <li>{@code R{x̂} = s P(R{x})}, {@code R{s} = −s² mean(x̂ R{x})},
 *       {@code R{y} = γ R{x̂} + V_γ x̂ + V_β};
 *   <li>with {@code a = γ g}, {@code R{a} = V_γ g + γ R{g}}:
 *       {@code R{∂x} = R{s} P(a) + s [R{a} − mean R{a} − R{x̂} mean(x̂ a) − x̂ mean(R{x̂} a + x̂ R{a})]},
 *       {@code R{∂γ} = Σ (R{g} x̂ + g R{x̂})}, {@code R{∂β} = Σ R{g}}.
 * </ul>
 * <b>Eval mode</b> (running statistics {@code μ_r, σ²_r}, constants): the affine map
 * {@code y = γ s (x − μ_r) + β} with {@code s = (σ²_r + eps)^{−1/2}}; {@code R{∂x} = s (γ R{g} + V_γ g)},
 * {@code R{∂γ} = Σ (R{g} x̂ + g s R{x})}.
 */
final class BatchNormOp extends Op {
  private final boolean train;
  private final double eps;
  private final boolean fixedScale;
  private final double fixedGamma;
  private final double fixedBeta;
  /** The running statistics: read in eval mode, updated on request in train mode. */
  private final RunningStatistics running;

  /** Where the running mean and variance live (DL4J's global statistics). */
  interface RunningStatistics {
    /** The running mean and variance, {@code [C]} or {@code [1, C]}. */
    INDArray[] read();

    /** Folds a batch's mean and biased variance ({@code [C]}) into the running statistics. */
    void update(INDArray batchMean, INDArray batchVariance);
  }

  /**
   * @param fixed {@code {γ, β}} when DL4J's {@code lockGammaBeta} is set, else null
   * @param running the running statistics, read at every forward pass in eval mode
   */
  BatchNormOp(
      String where, boolean train, double eps, double[] fixed, RunningStatistics running) {
    super(where);
    this.train = train;
    this.eps = eps;
    this.fixedScale = fixed != null;
    this.fixedGamma = fixed == null ? 1 : fixed[0];
    this.fixedBeta = fixed == null ? 0 : fixed[1];
    this.running = running;
  }

  @Override
  int slots() {
    return fixedScale ? 0 : 2;
  }

  @Override
  Node forward(INDArray x, INDArray[] p, boolean keep) {
    return forward(x, p, keep, false);
  }

  /**
   * {@inheritDoc}
   *
   * <p>In evaluation mode a train-mode batch norm normalises with its running statistics, as an
   * eval-mode one always does.
   */
  @Override
  Node forward(INDArray x, INDArray[] p, boolean keep, boolean eval) {
    boolean batchStats = train && !eval;
    long c = x.size(1);
    INDArray gamma;
    INDArray beta;
    if (fixedScale) {
      gamma = Nd4j.valueArrayOf(new long[] {c}, fixedGamma, x.dataType());
      beta = Nd4j.valueArrayOf(new long[] {c}, fixedBeta, x.dataType());
    } else {
      gamma = p[0].reshape(c);
      beta = p[1].reshape(c);
    }
    INDArray xc;
    INDArray s;
    INDArray mean = null;
    INDArray var = null;
    if (batchStats) {
      mean = chMean(x);
      xc = chSub(x, mean);
      var = chMean(xc.mul(xc));
      s = var.dup();
    } else {
      INDArray[] stats = running.read();
      xc = chSub(x, stats[0].reshape(c));
      s = stats[1].reshape(c).dup();
    }
    Transforms.pow(s.addi(eps), -0.5, false);
    INDArray xhat = chMul(xc, s);
    INDArray y = chAddInPlace(chMul(xhat, gamma), beta);
    return new N(batchStats, gamma, s, xhat, y, mean, var, x.length() / c);
  }

  /** Whether the batch norm normalises with batch statistics (train mode). */
  boolean train() {
    return train;
  }

  /**
   * The batch statistics of a train-mode forward pass.
   *
   * @return {@code {mean, biased variance}} of each channel, {@code [C]}, in the pass's scope
   */
  static INDArray[] batchStatistics(Node node) {
    N n = (N) node;
    if (!n.train) {
      throw new IllegalStateException("batch norm: no batch statistics in an eval-mode pass");
    }
    return new INDArray[] {n.batchMean, n.batchVar};
  }

  /** The values per channel, {@code M = N·H·W}, of a forward pass. */
  static long valuesPerChannel(Node node) {
    return ((N) node).count;
  }

  /**
   * Folds the batch statistics of a train-mode forward pass into the running statistics.
   *
   * @return whether there was something to fold (a train-mode batch norm with running
   *     statistics)
   */
  boolean updateRunningStatistics(Node node) {
    N n = (N) node;
    if (!n.train || running == null) {
      return false;
    }
    running.update(n.batchMean, n.batchVar);
    return true;
  }

  private static final class N extends Node {
    final boolean train;
    INDArray gamma;
    INDArray s;
    INDArray xhat;
    INDArray y;
    /** The batch mean and biased variance (train mode; not kept). */
    final INDArray batchMean;
    final INDArray batchVar;
    /** The values per channel. */
    final long count;

    N(boolean train, INDArray gamma, INDArray s, INDArray xhat, INDArray y, INDArray batchMean,
        INDArray batchVar, long count) {
      this.count = count;
      this.train = train;
      this.gamma = gamma;
      this.s = s;
      this.xhat = xhat;
      this.y = y;
      this.batchMean = batchMean;
      this.batchVar = batchVar;
    }

    @Override
    INDArray out() {
      return y;
    }

    @Override
    void keep(Scratch k) {
      gamma = k.keep(gamma);
      s = k.keep(s);
      xhat = k.keep(xhat);
      y = k.keep(y);
    }

    /** {@code P(u) = u − mean u − x̂ mean(x̂ u)} per channel. */
    private INDArray project(INDArray u) {
      INDArray out = chSub(u, chMean(u));
      return out.subi(chMul(xhat, chMean(xhat.mul(u))));
    }

    private static INDArray vec(INDArray[] v, int slot, long c) {
      INDArray a = slot(v, slot);
      return a == null ? null : a.reshape(c);
    }

    @Override
    INDArray backward(INDArray g, boolean[] want, INDArray[] pg, boolean needIn) {
      if (wants(want, 0)) {
        pg[0] = chSum(g.mul(xhat)).reshape(1, gamma.length());
      }
      if (wants(want, 1)) {
        pg[1] = chSum(g).reshape(1, gamma.length());
      }
      if (!needIn) {
        return null;
      }
      if (train) {
        return chMul(project(chMul(g, gamma)), s);
      }
      return chMul(g, gamma.mul(s));
    }

    @Override
    RState rForward(INDArray rIn, INDArray[] v) {
      long c = gamma.length();
      INDArray vg = vec(v, 0, c);
      INDArray vb = vec(v, 1, c);
      INDArray rxhat = null;
      if (rIn != null) {
        rxhat = train ? chMul(project(rIn), s) : chMul(rIn, s);
      }
      INDArray r = rxhat == null ? null : chMul(rxhat, gamma);
      if (vg != null) {
        r = addInto(r, chMul(xhat, vg));
      }
      if (vb != null) {
        r = r == null ? Nd4jArrays.chBroadcast(vb, y.shape(), y.dataType()) : chAddInPlace(r, vb);
      }
      return new RState(rIn, r, rxhat);
    }

    @Override
    INDArray rBackward(
        RState r, INDArray[] v, INDArray g, INDArray rg, boolean[] want, INDArray[] rpg,
        boolean needIn) {
      long c = gamma.length();
      INDArray rxhat = r.aux;
      if (wants(want, 0)) {
        INDArray a = rg == null ? null : chSum(rg.mul(xhat));
        if (rxhat != null) {
          a = addInto(a, chSum(g.mul(rxhat)));
        }
        rpg[0] = a == null ? null : a.reshape(1, c);
      }
      if (wants(want, 1)) {
        rpg[1] = rg == null ? null : chSum(rg).reshape(1, c);
      }
      if (!needIn) {
        return null;
      }
      INDArray vg = vec(v, 0, c);
      INDArray ra = rg == null ? null : chMul(rg, gamma);
      if (vg != null) {
        ra = addInto(ra, chMul(g, vg));
      }
      if (!train) {
        return ra == null ? null : chMul(ra, s);
      }
      INDArray a = chMul(g, gamma);
      INDArray out = null;
      if (ra != null) {
        out = project(ra);
      }
      if (rxhat != null) {
        // − R{x̂} mean(x̂ a) − x̂ mean(R{x̂} a)
        INDArray t = chMul(rxhat, chMean(xhat.mul(a))).addi(chMul(xhat, chMean(rxhat.mul(a))));
        out = out == null ? t.negi() : out.subi(t);
      }
      out = out == null ? null : chMul(out, s);
      if (r.rIn != null) {
        // R{s} P(a), R{s} = −s² mean(x̂ R{x})
        INDArray rs = s.mul(s).muli(chMean(xhat.mul(r.rIn))).negi();
        out = addInto(out, chMul(project(a), rs));
      }
      return out;
    }
  }
}
