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
 * KFAC-Pytorch: momentum, KL clipping, fixed damping) rather than the paper's quadratic-model step
 * rescaling, with the paper's adaptive damping as an option:
 *
 * <pre>
 *   every t_cov steps (from step 0): factors of the batch (Fisher type fisher, one draw for mc),
 *     F̂ ← ε F̂ + (1 − ε) F_batch,  ε = min(1 − 1/k, stat_decay), k the number of updates so far
 *     (Martens and Grosse 2015, §5; the first update takes the batch's factors)
 *   every t_inv steps (from step 0): P ← the factored-Tikhonov damped inverse of F̂ with the
 *     current λ (initially damping) ((A + π√λ I) ⊗ (G + (√λ/π) I) per layer, 1/(d + λ) on
 *     non-factored blocks; §6.3)
 *   p = P ∇L;   ν = min(1, √(kl_clip / (lr² pᵀ∇L)))  (kl_clip 0: ν = 1; Ba, Grosse, Martens 2017)
 *   d = ν p + weight_decay · θ
 *   buf = d (first step), else buf = momentum · buf + d
 *   δ = −lr · buf;   θ ← θ + δ
 *   adapt_damping, at steps t with (t + 1) mod damping_interval = 0 (T₁; §6.5):
 *     q = ∇Lᵀδ + ½ δᵀ G δ     (G the exact GGN of the batch at the old θ: one GGN-vector product)
 *     ρ = (L(θ + δ) − L(θ)) / q  on the same batch (NaN when q ≥ 0: the model predicts no decrease)
 *     ρ &gt; 3/4: λ ← max(ω₁ λ, damping_min);  ρ &lt; 1/4 or NaN: λ ← min(λ / ω₁, damping_max);
 *     ω₁ = damping_decay^T₁  (the paper's (19/20)^T₁ with the defaults 0.95 and 5)
 * </pre>
 *
 * <p>Adaptive damping follows Martens and Grosse (2015, §6.5) for {@code λ} and kfac-jax for the
 * rest: the factored Tikhonov strength is not adapted separately (the paper's γ of §6.6) but tied
 * to {@code λ} as in kfac-jax ({@code √λ} split by {@code π} between the factors), so a new
 * {@code λ} reaches the preconditioner at the next inverse update (every {@code t_inv} steps, as
 * kfac-jax's {@code inverse_update_period}); the quadratic model of {@code ρ} is the undamped one
 * with the exact curvature, kfac-jax's default ({@code include_damping_in_quad_change=False}), on
 * the loss without the weight decay (which is not part of the loss here). For the losses of this
 * library the GGN is the exact Fisher, the paper's {@code F}. Each adaptation costs one GGN-vector
 * product and one loss evaluation.
 *
 * <p>The factors come from the backend's Kronecker-factor SPI ({@link
 * Curvature#factoredLayers()}); a backend without it is refused with {@link
 * UnsupportedOperationException}. The Monte-Carlo and exact Fisher need the loss and the labels
 * ({@link LabelledObjective}, which the objectives of the reference backend and of DJL,
 * TensorFlow and DL4J spec models are); {@code empirical} needs neither. The draws of step {@code t} use seed {@code seed + t}.
 *
 * <p>State: scalars {@code t}, {@code updates}, {@code damping} (the current {@code λ}), {@code
 * inverse_damping} (the {@code λ} of the current inverse); buffers {@code momentum_buffer}, the running
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
  private final boolean adaptDamping;
  private final int dampingInterval;
  private final double dampingDecay;
  private final double dampingMin;
  private final double dampingMax;
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
  /** The current damping λ (adapted). */
  private double lambda;
  /** The λ of the current inverse. */
  private double inverseLambda;
  /** The reduction ratio of the last adaptation (NaN before one). */
  private double lastRho = Double.NaN;
  private KroneckerFactors factors;
  private KroneckerFactors inverseFactors;
  private LinearOperator inverse;
  /** Restored factors, read back at the next step (when a curvature tells the layers). */
  private Map<String, double[][]> pending;

  private Kfac(Builder b) {
    this.lr = b.lr;
    this.momentum = b.momentum;
    this.damping = b.damping;
    this.adaptDamping = b.adaptDamping;
    this.dampingInterval = b.dampingInterval;
    this.dampingDecay = b.dampingDecay;
    this.dampingMin = b.dampingMin;
    this.dampingMax = b.dampingMax;
    if (!(dampingMin <= dampingMax)) {
      throw new IllegalArgumentException("damping_min: must be <= damping_max (" + dampingMax
          + ") but was " + dampingMin);
    }
    this.lambda = damping;
    this.inverseLambda = damping;
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

  /**
   * The current damping {@code λ}: the initial damping, or as adapted (see the class comment).
   *
   * @return λ
   */
  public double currentDamping() {
    return lambda;
  }

  /**
   * The reduction ratio {@code ρ} of the last damping adaptation.
   *
   * @return ρ, NaN before the first adaptation, after a restore, or when the quadratic model
   *     predicted no decrease
   */
  public double lastReductionRatio() {
    return lastRho;
  }

  @Override
  public StepReport step(Objective objective) {
    boolean adapt = adaptDamping && (t + 1) % dampingInterval == 0;
    double loss;
    double nu;
    double used;
    double quadratic = Double.NaN;
    ParameterVector next;
    try (Curvature c = objective.curvature(); ParameterVector g = c.gradient()) {
      loss = c.loss();
      NonFiniteException.check(loss, "loss");
      NonFiniteException.check(g, "gradient");
      updateCurvature(c, objective);
      used = inverseLambda;
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
        next = b == null ? d.copy() : b.copy().scale(momentum).axpy(1, d);
      }
      if (adapt) {
        // δ = −lr · next: q = −lr gᵀnext + ½ lr² nextᵀ G next.
        try (ParameterVector gn = c.ggnvp(next)) {
          quadratic = -lr * g.dot(next) + 0.5 * lr * lr * next.dot(gn);
        } catch (RuntimeException | Error e) {
          next.close();
          throw e;
        }
      }
    }
    try {
      double after = adapt ? objective.lossAt(next, -lr) : Double.NaN;
      objective.applyUpdate(next, -lr);
      if (adapt) {
        lastRho = quadratic < 0 ? (after - loss) / quadratic : Double.NaN;
        double omega = Math.pow(dampingDecay, dampingInterval);
        lambda = LevenbergMarquardt.next(lambda, lastRho, 1 / omega, omega, dampingMin,
            dampingMax);
      }
    } catch (RuntimeException | Error e) {
      next.close();
      throw e;
    }
    buf.set(next);
    t++;
    StepReport r = new StepReport(t, loss, lr * nu, used, -1, null, Double.NaN);
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
      inverse = inverseFactors == null ? null
          : inverseFactors.kfac().dampedInverse(inverseLambda);
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
      inverse = factors.kfac().dampedInverse(lambda);
      inverseFactors = factors;
      inverseLambda = lambda;
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
    Map<String, Double> s = new LinkedHashMap<>();
    s.put("t", (double) t);
    s.put("updates", (double) updates);
    s.put("damping", lambda);
    s.put("inverse_damping", inverseLambda);
    return new OptimizerState(NAME, s, b);
  }

  @Override
  public void restoreState(OptimizerState state) {
    state.requireOptimizer(NAME);
    long tt = SgdPh.wholeScalar(state, "t");
    long uu = SgdPh.wholeScalar(state, "updates");
    double l = stateDamping(state, "damping");
    double il = stateDamping(state, "inverse_damping");
    Map<String, double[][]> p = new LinkedHashMap<>();
    for (String k : state.buffers().keySet()) {
      if (k.startsWith(FACTORS) || k.startsWith(INVERSE)) {
        p.put(k, state.buffer(k));
      }
    }
    buf.restore(state.buffer(buf.name()));
    t = tt;
    updates = uu;
    lambda = l;
    inverseLambda = il;
    lastRho = Double.NaN;
    factors = null;
    inverseFactors = null;
    inverse = null;
    pending = p.isEmpty() ? null : p;
  }

  /** A saved damping, the builder's when absent (a state saved without adaptation). */
  private double stateDamping(OptimizerState state, String key) {
    double v = state.scalar(key, damping);
    if (!(v > 0) || Double.isInfinite(v)) {
      throw new IllegalArgumentException(
          "state." + key + ": must be finite and > 0 but was " + v);
    }
    return v;
  }

  /** Validated settings of {@link Kfac}. */
  public static final class Builder {
    private double lr = 0.001;
    private double momentum = 0.9;
    private double damping = 0.001;
    private boolean adaptDamping = false;
    private int dampingInterval = 5;
    private double dampingDecay = 0.95;
    private double dampingMin = 1e-8;
    private double dampingMax = Double.POSITIVE_INFINITY;
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
     * Levenberg–Marquardt adaptation of the damping (default false: fixed damping, as
     * KFAC-Pytorch; true: Martens and Grosse 2015 §6.5, see the class comment).
     *
     * @param v whether to adapt λ every {@code damping_interval} steps
     * @return this builder
     */
    public Builder adaptDamping(boolean v) {
      this.adaptDamping = v;
      return this;
    }

    /**
     * Steps between damping adaptations {@code T₁}, at least 1 (default 5: the paper and
     * kfac-jax).
     *
     * @param v the period
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if out of range
     */
    public Builder dampingInterval(int v) {
      this.dampingInterval = Check.atLeast(v, 1, "damping_interval");
      return this;
    }

    /**
     * The per-step decay {@code ω} of the adaptation, in (0, 1): λ is multiplied or divided by
     * {@code ω₁ = ω^T₁} (default 0.95 = 19/20, the paper's; kfac-jax's is 0.9).
     *
     * @param v the decay
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if out of range
     */
    public Builder dampingDecay(double v) {
      this.dampingDecay = Check.inRange(v, 0, 1, false, "damping_decay");
      if (v == 0) {
        throw new IllegalArgumentException("damping_decay: must be in (0, 1) but was 0.0");
      }
      return this;
    }

    /**
     * The smallest adapted damping, finite and &gt; 0 (default 1e-8, kfac-jax's).
     *
     * @param v the lower bound
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if out of range
     */
    public Builder dampingMin(double v) {
      this.dampingMin = Check.positive(v, "damping_min");
      return this;
    }

    /**
     * The largest adapted damping, &gt; 0, possibly infinite (default: unbounded, as kfac-jax).
     *
     * @param v the upper bound
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if out of range
     */
    public Builder dampingMax(double v) {
      if (!(v > 0)) {
        throw new IllegalArgumentException("damping_max: must be > 0 but was " + v);
      }
      this.dampingMax = v;
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
     * @throws IllegalArgumentException if damping_min exceeds damping_max
     */
    public Kfac build() {
      return new Kfac(this);
    }
  }
}
