package io.github.sgdph.optim;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.param.ParameterVector;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam (Kingma and Ba, 2015, Algorithm 1) with L2 weight decay, in the arithmetic order of
 * {@code torch.optim.Adam} (ALGORITHMS.md §5):
 *
 * <pre>
 *   g = ∇L + wd·p
 *   m = β1·m + (1 − β1)·g;   v = β2·v + (1 − β2)·g²
 *   p = p − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
 * </pre>
 *
 * <p>State: scalar {@code t}; buffers {@code exp_avg} ({@code m}) and {@code exp_avg_sq}
 * ({@code v}), together. A NaN or infinite loss, gradient, second moment or update throws
 * {@link NonFiniteException} before any state or parameter changes (an overflowing {@code g²}
 * would otherwise freeze its entry for ever behind an infinite {@code v}).
 */
public final class Adam implements Optimizer {
  /** The name in case files. */
  public static final String NAME = "adam";

  private final double lr;
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final StepListener listener;
  private final BufferSlot m = new BufferSlot("exp_avg");
  private final BufferSlot v = new BufferSlot("exp_avg_sq");
  private long t;

  private Adam(Builder b) {
    this.lr = b.lr;
    this.beta1 = b.beta1;
    this.beta2 = b.beta2;
    this.eps = b.eps;
    this.weightDecay = b.weightDecay;
    this.listener = b.listener;
  }

  /**
   * A builder with {@code torch.optim.Adam}'s defaults.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public StepReport step(Objective objective) {
    double loss;
    ParameterVector g;
    try (Curvature c = objective.curvature()) {
      // the gradient first: a backend may compute the loss with it in one pass (TensorFlow
      // runs one graph for both), where the loss first would be a forward pass of its own
      g = c.gradient();
      try {
        loss = c.loss();
      } catch (RuntimeException e) {
        g.close();
        throw e;
      }
    }
    // The new moments are built aside and committed only after the update was applied, so a
    // failed step leaves the state as it was.
    ParameterVector mNew = null;
    ParameterVector vNew = null;
    try {
      NonFiniteException.check(loss, "loss");
      NonFiniteException.check(g, "gradient");
      if (weightDecay != 0) {
        try (ParameterVector p = objective.parameters()) {
          g.axpy(weightDecay, p);
        }
      }
      ParameterVector mv = m.get(objective);
      ParameterVector vv = v.get(objective);
      long step = t + 1;
      mNew = (mv == null ? g.zerosLike() : mv.copy()).scale(beta1).axpy(1 - beta1, g);
      vNew = vv == null ? g.zerosLike() : vv.copy();
      try (ParameterVector g2 = g.copy().mul(g)) {
        vNew.scale(beta2).axpy(1 - beta2, g2);
      }
      NonFiniteException.check(vNew, "second moment");
      double bc1 = 1 - Math.pow(beta1, step);
      double bc2 = 1 - Math.pow(beta2, step);
      try (ParameterVector denom = vNew.copy().sqrt().scale(1 / Math.sqrt(bc2)).addScalar(eps);
          ParameterVector u = mNew.copy().div(denom)) {
        NonFiniteException.check(u, "update");
        objective.applyUpdate(u, -lr / bc1);
      }
      m.set(mNew);
      mNew = null;
      v.set(vNew);
      vNew = null;
      t = step;
    } finally {
      g.close();
      if (mNew != null) {
        mNew.close();
      }
      if (vNew != null) {
        vNew.close();
      }
    }
    StepReport r = StepReport.firstOrder(t, loss, lr);
    if (listener != null) {
      listener.onStep(r);
    }
    return r;
  }

  @Override
  public OptimizerState saveState() {
    Map<String, double[][]> b = new LinkedHashMap<>();
    if (m.isPresent()) {
      b.put(m.name(), m.save());
      b.put(v.name(), v.save());
    }
    return new OptimizerState(NAME, Map.of("t", (double) t), b);
  }

  @Override
  public void restoreState(OptimizerState state) {
    state.requireOptimizer(NAME);
    long tt = SgdPh.wholeScalar(state, "t");
    double[][] mh = state.buffer(m.name());
    double[][] vh = state.buffer(v.name());
    if ((mh == null) != (vh == null)) {
      String missing = mh == null ? m.name() : v.name();
      throw new IllegalArgumentException(
          "state." + missing + ": missing (exp_avg and exp_avg_sq are saved together)");
    }
    m.restore(mh);
    v.restore(vh);
    t = tt;
  }

  /** Validated settings of {@link Adam}; defaults as {@code torch.optim.Adam}. */
  public static final class Builder {
    private double lr = 1e-3;
    private double beta1 = 0.9;
    private double beta2 = 0.999;
    private double eps = 1e-8;
    private double weightDecay = 0;
    private StepListener listener;

    private Builder() {}

    /**
     * Learning rate, finite and &gt;= 0 (default 1e-3).
     *
     * @param x the learning rate
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code x} is negative or not finite
     */
    public Builder lr(double x) {
      this.lr = Check.nonNegative(x, "lr");
      return this;
    }

    /**
     * β1 in [0, 1) (default 0.9).
     *
     * @param x the decay rate of the first moment
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code x} is outside [0, 1)
     */
    public Builder beta1(double x) {
      this.beta1 = Check.inRange(x, 0, 1, false, "beta1");
      return this;
    }

    /**
     * β2 in [0, 1) (default 0.999).
     *
     * @param x the decay rate of the second moment
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code x} is outside [0, 1)
     */
    public Builder beta2(double x) {
      this.beta2 = Check.inRange(x, 0, 1, false, "beta2");
      return this;
    }

    /**
     * eps &gt;= 0 (default 1e-8).
     *
     * @param x the constant added to the denominator's {@code sqrt(v̂)}
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code x} is negative or not finite
     */
    public Builder eps(double x) {
      this.eps = Check.nonNegative(x, "eps");
      return this;
    }

    /**
     * L2 weight decay &gt;= 0 (default 0).
     *
     * @param x the factor of the parameters added to the gradient
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code x} is negative or not finite
     */
    public Builder weightDecay(double x) {
      this.weightDecay = Check.nonNegative(x, "weight_decay");
      return this;
    }

    /**
     * Receives a report after every step (default none).
     *
     * @param l the listener, or null for none
     * @return this builder
     */
    public Builder listener(StepListener l) {
      this.listener = l;
      return this;
    }

    /**
     * Builds the optimizer.
     *
     * @return a new optimizer with these settings and no state
     */
    public Adam build() {
      return new Adam(this);
    }
  }
}
