package io.github.sgdph.optim;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.param.ParameterVector;
import java.util.Map;

/**
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
 * exactly as {@code torch.optim.SGD} (ALGORITHMS.md §5):
 *
 * <pre>
 *   g = ∇L + wd·p
 *   buf = g (first step), else buf = μ·buf + (1 − dampening)·g
 *   d = nesterov ? g + μ·buf : buf           (d = g when μ = 0)
 *   p = p − lr·d
 * </pre>
 *
 * <p>State: scalar {@code t}; buffer {@code momentum_buffer} (when μ &gt; 0). A NaN or infinite
 * loss, gradient or update throws {@link NonFiniteException} before any state or parameter
 * changes.
 */
public final class Sgd implements Optimizer {
  /** The name in case files. */
  public static final String NAME = "sgd";

  private final double lr;
  private final double momentum;
  private final double dampening;
  private final double weightDecay;
  private final boolean nesterov;
  private final StepListener listener;
  private final BufferSlot buf = new BufferSlot("momentum_buffer");
  private long t;
  /** The scratch vector the next momentum buffer is built in (the buffer before last). */
  private ParameterVector spare;

  private Sgd(Builder b) {
    this.lr = b.lr;
    this.momentum = b.momentum;
    this.dampening = b.dampening;
    this.weightDecay = b.weightDecay;
    this.nesterov = b.nesterov;
    this.listener = b.listener;
  }

  /**
   * A builder with {@code torch.optim.SGD}'s defaults and learning rate 0.01.
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
    ParameterVector newBuf = null;
    try {
      NonFiniteException.check(loss, "loss");
      NonFiniteException.check(g, "gradient");
      if (weightDecay != 0) {
        try (ParameterVector p = objective.parameters()) {
          g.axpy(weightDecay, p);
        }
      }
      ParameterVector d = g;
      if (momentum != 0) {
        // The new buffer is built in the scratch vector and committed only after the update was
        // applied, so a failed step leaves the state as it was; the old buffer becomes the next
        // step's scratch (no allocation per step).
        ParameterVector b = buf.get(objective);
        newBuf = scratch(g);
        if (b == null) {
          newBuf.assign(g);
        } else {
          newBuf.assign(b).axpby(1 - dampening, g, momentum);
        }
        d = nesterov ? g.axpy(momentum, newBuf) : newBuf;
      }
      NonFiniteException.check(d, "update");
      objective.applyUpdate(d, -lr);
      if (newBuf != null) {
        spare = buf.exchange(newBuf);
        newBuf = null;
      }
    } finally {
      g.close();
      if (newBuf != null) {
        spare = newBuf; // only scratch values: kept for the next step
      }
    }
    t++;
    StepReport r = StepReport.firstOrder(t, loss, lr);
    if (listener != null) {
      listener.onStep(r);
    }
    return r;
  }

  /** The scratch vector, (re)made when it does not fit {@code like}'s layout and algebra. */
  private ParameterVector scratch(ParameterVector like) {
    if (spare != null && (spare.algebra() != like.algebra()
        || !spare.layout().sameBlocksAs(like.layout()))) {
      spare.close();
      spare = null;
    }
    if (spare == null) {
      spare = like.zerosLike();
    }
    ParameterVector s = spare;
    spare = null;
    return s;
  }

  @Override
  public OptimizerState saveState() {
    double[][] b = buf.save();
    return new OptimizerState(
        NAME, Map.of("t", (double) t), b == null ? Map.of() : Map.of(buf.name(), b));
  }

  @Override
  public void restoreState(OptimizerState state) {
    state.requireOptimizer(NAME);
    long tt = SgdPh.wholeScalar(state, "t");
    buf.restore(state.buffer(buf.name()));
    t = tt;
  }

  /** Validated settings of {@link Sgd}; defaults as {@code torch.optim.SGD} with lr 0.01. */
  public static final class Builder {
    private double lr = 0.01;
    private double momentum = 0;
    private double dampening = 0;
    private double weightDecay = 0;
    private boolean nesterov = false;
    private StepListener listener;

    private Builder() {}

    /**
     * Learning rate, finite and &gt;= 0.
     *
     * @param v the learning rate (default 0.01)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is negative or not finite
     */
    public Builder lr(double v) {
      this.lr = Check.nonNegative(v, "lr");
      return this;
    }

    /**
     * Momentum μ in [0, 1).
     *
     * @param v the momentum factor (default 0: no momentum buffer)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is outside [0, 1)
     */
    public Builder momentum(double v) {
      this.momentum = Check.inRange(v, 0, 1, false, "momentum");
      return this;
    }

    /**
     * Dampening in [0, 1].
     *
     * @param v the dampening of the gradient in the momentum buffer (default 0)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is outside [0, 1]
     */
    public Builder dampening(double v) {
      this.dampening = Check.inRange(v, 0, 1, true, "dampening");
      return this;
    }

    /**
     * L2 weight decay, &gt;= 0.
     *
     * @param v the factor of the parameters added to the gradient (default 0)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is negative or not finite
     */
    public Builder weightDecay(double v) {
      this.weightDecay = Check.nonNegative(v, "weight_decay");
      return this;
    }

    /**
     * Nesterov momentum (needs momentum &gt; 0 and dampening 0).
     *
     * @param v whether to use Nesterov momentum (default false); checked by {@link #build()}
     * @return this builder
     */
    public Builder nesterov(boolean v) {
      this.nesterov = v;
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
     * @throws IllegalArgumentException for nesterov without momentum or with dampening
     */
    public Sgd build() {
      if (nesterov && (momentum <= 0 || dampening != 0)) {
        throw new IllegalArgumentException(
            "nesterov: requires momentum > 0 and dampening = 0 (momentum=" + momentum
                + ", dampening=" + dampening + ")");
      }
      return new Sgd(this);
    }
  }
}
