package io.github.sgdph.optim;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.kfac.FisherType;
import io.github.sgdph.kfac.KroneckerFactors;
import io.github.sgdph.kfac.LabelledObjective;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.param.ParameterVector;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * KFAC, the Kronecker-factored natural-gradient optimizer (Martens and Grosse, "Optimizing neural
 * networks with Kronecker-factored approximate curvature", ICML 2015; KFC for convolutions,
 * Grosse and Martens 2016), in the simple form of widely used implementations (Wang's
 * KFAC-Pytorch: momentum, KL clipping, fixed damping) rather than the paper's adaptive damping and
 * quadratic-model step rescaling:
 *
 * <pre>
 *   every t_cov steps (from step 0): factors of the batch (Fisher type fisher, one draw for mc),
 *     F̂ ← ε F̂ + (1 − ε) F_batch,  ε = min(1 − 1/k, stat_decay), k the number of updates so far
 *     (Martens and Grosse 2015, §5; the first update takes the batch's factors)
 *   every t_inv steps (from step 0): P ← the factored-Tikhonov damped inverse of F̂ with λ = damping
 *     ((A + π√λ I) ⊗ (G + (√λ/π) I) per layer, 1/(d + λ) on non-factored blocks; §6.3)
 *   p = P ∇L;   ν = min(1, √(kl_clip / (lr² pᵀ∇L)))  (kl_clip 0: ν = 1; Ba, Grosse, Martens 2017)
 *   d = ν p + weight_decay · θ
 *   buf = d (first step), else buf = momentum · buf + d
 *   θ ← θ − lr · buf
 * </pre>
 *
 * <p>The factors come from the backend's Kronecker-factor SPI ({@link
 * Curvature#factoredLayers()}); a backend without it is refused with {@link
 * UnsupportedOperationException}. The Monte-Carlo and exact Fisher need the loss and the labels
 * ({@link LabelledObjective}, which the reference backend's and DL4J spec models' objectives
 * are); {@code empirical} needs neither. The draws of step {@code t} use seed {@code seed + t}.
 *
 * <p>State: scalars {@code t}, {@code updates}; buffers {@code momentum_buffer}, the running
 * factors ({@code factors.*}) and the factors of the current inverse ({@code inverse.*}), so a
 * restored optimizer continues exactly. A NaN or infinite loss, gradient or update throws {@link
 * NonFiniteException} before any parameter changes.
 */
public final class Kfac implements Optimizer {
  /** The name in case files and {@code --optimizer}. */
  public static final String NAME = "kfac";

  private static final String FACTORS = "factors.";
  private static final String INVERSE = "inverse.";

  private final double lr;
  private final double momentum;
  private final double damping;
  private final double statDecay;
  private final double klClip;
  private final double weightDecay;
  private final int tCov;
  private final int tInv;
  private final FisherType fisher;
  private final long seed;
  private final StepListener listener;
  private final BufferSlot buf = new BufferSlot("momentum_buffer");
  private long t;
  private long updates;
  private KroneckerFactors factors;
  private KroneckerFactors inverseFactors;
  private LinearOperator inverse;
  /** Restored factors, read back at the next step (when a curvature tells the layers). */
  private Map<String, double[][]> pending;

  private Kfac(Builder b) {
    this.lr = b.lr;
    this.momentum = b.momentum;
    this.damping = b.damping;
    this.statDecay = b.statDecay;
    this.klClip = b.klClip;
    this.weightDecay = b.weightDecay;
    this.tCov = b.tCov;
    this.tInv = b.tInv;
    this.fisher = b.fisher;
    this.seed = b.seed;
    this.listener = b.listener;
  }

  /**
   * A builder with the defaults of KFAC-Pytorch (lr 0.001, momentum 0.9, damping 0.001,
   * stat_decay 0.95, kl_clip 0.001, t_cov 10, t_inv 100) and the Monte-Carlo Fisher of Martens
   * and Grosse.
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
      g = c.gradient();
      try {
        loss = c.loss();
        NonFiniteException.check(loss, "loss");
        NonFiniteException.check(g, "gradient");
        updateCurvature(c, objective);
      } catch (RuntimeException | Error e) {
        g.close();
        throw e;
      }
    }
    double nu;
    try (ParameterVector p = inverse.apply(g)) {
      nu = 1;
      if (klClip > 0) {
        double vg = lr * lr * p.dot(g);
        if (vg > 0) {
          nu = Math.min(1, Math.sqrt(klClip / vg));
        }
      }
      ParameterVector d = p.scale(nu);
      if (weightDecay != 0) {
        try (ParameterVector theta = objective.parameters()) {
          d.axpy(weightDecay, theta);
        }
      }
      NonFiniteException.check(d, "update");
      ParameterVector b = buf.get(objective);
      ParameterVector next = b == null ? d.copy() : b.copy().scale(momentum).axpy(1, d);
      try {
        objective.applyUpdate(next, -lr);
      } catch (RuntimeException | Error e) {
        next.close();
        throw e;
      }
      buf.set(next);
    } finally {
      g.close();
    }
    t++;
    StepReport r = new StepReport(t, loss, lr * nu, damping, -1, null, Double.NaN);
    if (listener != null) {
      listener.onStep(r);
    }
    return r;
  }

  /** The factor and inverse updates of this step's schedule. */
  private void updateCurvature(Curvature c, Objective objective) {
    if (pending != null) {
      int samples = 1;
      factors = pending.containsKey(FACTORS + "present")
          ? KroneckerFactors.fromBuffers(c, fisher, samples, pending, FACTORS) : null;
      inverseFactors = pending.containsKey(INVERSE + "present")
          ? KroneckerFactors.fromBuffers(c, fisher, samples, pending, INVERSE) : null;
      inverse = inverseFactors == null ? null : inverseFactors.kfac().dampedInverse(damping);
      pending = null;
    }
    if (t % tCov == 0 || factors == null) {
      LossKind loss = null;
      double[] labels = null;
      if (fisher != FisherType.EMPIRICAL) {
        if (!(objective instanceof LabelledObjective lo)) {
          throw new UnsupportedOperationException(
              "kfac: the " + fisher + " Fisher needs the loss and labels, which "
                  + objective.getClass().getName()
                  + " does not give (LabelledObjective); use fisher \"empirical\"");
        }
        loss = lo.lossKind();
        labels = lo.labels();
      }
      KroneckerFactors fresh = KroneckerFactors.of(c, loss, labels, fisher, 1, seed + t, false);
      updates++;
      double decay = Math.min(1 - 1.0 / updates, statDecay);
      factors = factors == null || decay == 0 ? fresh : fresh.averagedWith(factors, decay);
    }
    if (t % tInv == 0 || inverse == null) {
      inverse = factors.kfac().dampedInverse(damping);
      inverseFactors = factors;
    }
  }

  @Override
  public OptimizerState saveState() {
    Map<String, double[][]> b = new LinkedHashMap<>();
    double[][] m = buf.save();
    if (m != null) {
      b.put(buf.name(), m);
    }
    if (pending != null) {
      b.putAll(pending);
    } else {
      if (factors != null) {
        b.putAll(factors.toBuffers(FACTORS));
        b.put(FACTORS + "present", new double[0][]);
      }
      if (inverseFactors != null) {
        b.putAll(inverseFactors.toBuffers(INVERSE));
        b.put(INVERSE + "present", new double[0][]);
      }
    }
    return new OptimizerState(
        NAME, Map.of("t", (double) t, "updates", (double) updates), b);
  }

  @Override
  public void restoreState(OptimizerState state) {
    state.requireOptimizer(NAME);
    long tt = SgdPh.wholeScalar(state, "t");
    long uu = SgdPh.wholeScalar(state, "updates");
    Map<String, double[][]> p = new LinkedHashMap<>();
    for (String k : state.buffers().keySet()) {
      if (k.startsWith(FACTORS) || k.startsWith(INVERSE)) {
        p.put(k, state.buffer(k));
      }
    }
    buf.restore(state.buffer(buf.name()));
    t = tt;
    updates = uu;
    factors = null;
    inverseFactors = null;
    inverse = null;
    pending = p.isEmpty() ? null : p;
  }

  /** Validated settings of {@link Kfac}. */
  public static final class Builder {
    private double lr = 0.001;
    private double momentum = 0.9;
    private double damping = 0.001;
    private double statDecay = 0.95;
    private double klClip = 0.001;
    private double weightDecay = 0;
    private int tCov = 10;
    private int tInv = 100;
    private FisherType fisher = FisherType.MONTE_CARLO;
    private long seed = 0;
    private StepListener listener;

    private Builder() {}

    /**
     * Learning rate, finite and &gt; 0.
     *
     * @param v the learning rate (default 0.001)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if out of range
     */
    public Builder lr(double v) {
      this.lr = Check.positive(v, "lr");
      return this;
    }

    /**
     * Momentum, in [0, 1).
     *
     * @param v the momentum (default 0.9)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if out of range
     */
    public Builder momentum(double v) {
      this.momentum = Check.inRange(v, 0, 1, false, "momentum");
      return this;
    }

    /**
     * Tikhonov damping {@code λ}, finite and &gt; 0.
     *
     * @param v the damping (default 0.001)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if out of range
     */
    public Builder damping(double v) {
      this.damping = Check.positive(v, "damping");
      return this;
    }

    /**
     * The largest weight of the old factors in the running average, in [0, 1).
     *
     * @param v the decay (default 0.95)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if out of range
     */
    public Builder statDecay(double v) {
      this.statDecay = Check.inRange(v, 0, 1, false, "stat_decay");
      return this;
    }

    /**
     * KL clipping bound {@code κ} of the step, &gt;= 0 (0: off).
     *
     * @param v the bound (default 0.001)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if out of range
     */
    public Builder klClip(double v) {
      this.klClip = Check.nonNegative(v, "kl_clip");
      return this;
    }

    /**
     * L2 weight decay added to the preconditioned step, &gt;= 0.
     *
     * @param v the weight decay (default 0)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if out of range
     */
    public Builder weightDecay(double v) {
      this.weightDecay = Check.nonNegative(v, "weight_decay");
      return this;
    }

    /**
     * Steps between factor updates, at least 1.
     *
     * @param v the period (default 10)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if out of range
     */
    public Builder tCov(int v) {
      this.tCov = Check.atLeast(v, 1, "t_cov");
      return this;
    }

    /**
     * Steps between inverse updates, at least 1.
     *
     * @param v the period (default 100)
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if out of range
     */
    public Builder tInv(int v) {
      this.tInv = Check.atLeast(v, 1, "t_inv");
      return this;
    }

    /**
     * The Fisher the factors estimate.
     *
     * @param v Monte-Carlo (default, one draw per sample), empirical or exact
     * @return this builder
     */
    public Builder fisher(FisherType v) {
      this.fisher = java.util.Objects.requireNonNull(v, "fisher");
      return this;
    }

    /**
     * The seed of the Monte-Carlo draws (step {@code t} uses {@code seed + t}).
     *
     * @param v the seed (default 0)
     * @return this builder
     */
    public Builder seed(long v) {
      this.seed = v;
      return this;
    }

    /**
     * A listener called after each step.
     *
     * @param l the listener, or null
     * @return this builder
     */
    public Builder listener(StepListener l) {
      this.listener = l;
      return this;
    }

    /**
     * The optimizer.
     *
     * @return a new optimizer with no state
     */
    public Kfac build() {
      return new Kfac(this);
    }
  }
}
