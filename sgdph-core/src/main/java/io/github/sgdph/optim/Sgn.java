package io.github.sgdph.optim;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.kfac.CurvaturePreconditioner;
import io.github.sgdph.linalg.CgResult;
import io.github.sgdph.linalg.ConjugateGradient;
import io.github.sgdph.linalg.GaussNewtonOperator;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stochastic Generalized Gauss-Newton (SGN; Gargiani, Zanelli, Diehl and Hutter, "On the
 * Promise of the Stochastic Generalized Gauss-Newton Method for Training DNNs", 2020), exactly
 * as the authors' solver (ALGORITHMS.md §2). Each step on one mini-batch solves
 * {@code (G + ρI) Δ = −m̂} approximately by conjugate gradient, using only generalized
 * Gauss-Newton-vector products {@code G v = Jᵀ H_L J v}, and takes {@code θ = θ + α Δ}:
 *
 * <pre>
 *   g = ∇L(θ);  t = t + 1
 *   m = β m + (1−β) g;   m̂ = m / (1 − β^t)                    (β = 0: m̂ = g)
 *   CG from Δ = 0 on (G + ρI) Δ = −m̂, preconditioner P (identity unless cg_prec):
 *     at most min_cg_iters iterations while t &lt; k_cg, then max_cg_iters;
 *     the first iteration is always made, then stop once max|r| ≤ cg_tol
 *   trust region (optional): ratio = (L(θ+αΔ) − L(θ)) / (½ (r + g)ᵀ Δ),  r = (G+ρI)Δ + m̂
 *     ratio &lt; 1/4 → ρ = 1.5 ρ;   ratio &gt; 3/4 → ρ = max(2ρ/3, ρ_min)      (for the next step)
 *   line search (optional): rhs = L(θ) + α c m̂ᵀΔ, computed once with the initial α;
 *     while L(θ + αΔ) &gt; rhs, at most max_ls_iters times: α = ls_rho·α
 *   θ = θ + α Δ
 * </pre>
 *
 * Loss values of the line search and the trust-region ratio are on the step's mini-batch; the
 * ratio uses the loss at the initial α. As in the reference, the step is taken with the last α
 * tried even if the Armijo condition still fails after {@code max_ls_iters} halvings. With the
 * trust region off the damping may follow the reference's schedules {@code rho_decay}
 * {@code const} (default), {@code linear} ({@code ρ_t = ρ + (ρ_min − ρ)(t − 1)/(K − 1)}, at least
 * ρ_min) or {@code cos} ({@code ρ_t = ρ cos(π t / 2K)}, ρ_min once below it or for
 * {@code t > K}), with {@code K = rho_decay_steps}. The optional diagonal preconditioner of the
 * reference ({@code cg_prec}) is {@code P = 1 / (m̂⊙m̂ + ρ)^alpha_exp}; the tensor SPI has no
 * general power, so {@code alpha_exp} is 0, 0.5 or 1 (the reference default).
 *
 * <p>Deviations, all where the reference fails: a zero gradient gives {@code Δ = 0} (the
 * reference divides 0 by 0); a direction with {@code pᵀ(G+ρI)p ≤ 0} (ρ = 0 and a singular G)
 * stops CG with the last good iterate (the reference produces NaN); a NaN or infinite trial loss
 * counts as a failed Armijo test and as a trust-region ratio below 1/4, and if the accepted
 * step's loss is still not finite the step throws {@link NonFiniteException} instead of
 * corrupting the parameters. Like every optimizer here, a NaN or infinite loss, gradient or
 * solution throws {@link NonFiniteException} before any state or parameter changes.
 *
 * <p><b>Hyper-parameters</b> (case-file names; reference names in capitals; defaults of the
 * authors' solver — their experiments used ρ 1e-4, ρ_min 1e-6, trust region and line search on,
 * 10 CG iterations for the first 10 steps):
 *
 * <table>
 *   <caption>SGN hyper-parameters</caption>
 *   <tr><th>name</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>{@code lr} (or {@code alpha}; ALPHA)</td><td>1</td><td>initial step size α, &gt; 0</td></tr>
 *   <tr><td>{@code beta} (BETA)</td><td>0</td><td>gradient moving average β in [0, 1)</td></tr>
 *   <tr><td>{@code rho} (DAMP_RHO)</td><td>1e-3</td><td>initial damping ρ, &gt;= 0</td></tr>
 *   <tr><td>{@code rho_min} (DAMP_RHO_MIN)</td><td>0</td><td>lower bound of ρ, &gt;= 0</td></tr>
 *   <tr><td>{@code max_cg_iters} (MAX_CG_ITERS)</td><td>10</td><td>CG iterations, &gt;= 1</td></tr>
 *   <tr><td>{@code min_cg_iters} (MIN_CG_ITERS)</td><td>= max_cg_iters</td><td>CG iterations
 *       while {@code t < k_cg}, &gt;= 1</td></tr>
 *   <tr><td>{@code k_cg} (K_CG)</td><td>0</td><td>steps of the CG warm-up, &gt;= 0</td></tr>
 *   <tr><td>{@code cg_tol} (CG_TOL)</td><td>1e-6</td><td>tolerance on max|r|, &gt;= 0</td></tr>
 *   <tr><td>{@code line_search} (LS)</td><td>true</td><td>Armijo backtracking</td></tr>
 *   <tr><td>{@code ls_c} (C_LS)</td><td>1e-4</td><td>Armijo constant c in [0, 1)</td></tr>
 *   <tr><td>{@code ls_rho} (RHO_LS)</td><td>0.5</td><td>step reduction factor in (0, 1)</td></tr>
 *   <tr><td>{@code max_ls_iters} (MAX_LS_ITERS)</td><td>10</td><td>reductions, &gt;= 1</td></tr>
 *   <tr><td>{@code trust_region} (TR)</td><td>false</td><td>adapt ρ by the reduction ratio</td></tr>
 *   <tr><td>{@code cg_prec} (CG_PREC)</td><td>false</td><td>diagonal preconditioner</td></tr>
 *   <tr><td>{@code cg_preconditioner}</td><td>none</td><td>this library: {@code ggn-diagonal} or
 *       {@code kfac}, a {@link CurvaturePreconditioner} of the step's batch with ρ</td></tr>
 *   <tr><td>{@code alpha_exp} (ALPHA_EXP)</td><td>1</td><td>its exponent: 0, 0.5 or 1</td></tr>
 *   <tr><td>{@code rho_decay} (RHO_DECAY)</td><td>const</td><td>{@code const}, {@code linear}
 *       or {@code cos}; trust region off only</td></tr>
 *   <tr><td>{@code rho_decay_steps} (K)</td><td>10</td><td>K of the schedule, &gt;= 1 (&gt;= 2
 *       for linear)</td></tr>
 * </table>
 *
 * <p><b>State</b>: scalars {@code t} and {@code rho} (the adapted damping); buffer
 * {@code exp_avg} ({@code m}, only when β &gt; 0).
 *
 * <p>Step reports give the loss before the step, the step size α taken, the damping used, the CG
 * iterations and stop reason, and the curvature {@code ΔᵀGΔ/ΔᵀΔ} of the step.
 */
public final class Sgn implements Optimizer {
  /** The name in case files. */
  public static final String NAME = "sgn";

  private static final Logger LOG = LoggerFactory.getLogger(Sgn.class);
  /** The reference starts its CG loop with an accuracy of 10 before any residual is known. */
  private static final double REFERENCE_INITIAL_ACCURACY = 10;

  /** The reference's damping schedules when the trust region is off. */
  public enum RhoDecay {
    /** {@code ρ_t = ρ}. */
    CONST,
    /** {@code ρ_t = max(ρ + (ρ_min − ρ)(t − 1)/(K − 1), ρ_min)}. */
    LINEAR,
    /** {@code ρ_t = ρ cos(π t / 2K)}, or {@code ρ_min} once below it or for {@code t > K}. */
    COS;

    /**
     * The case-file name: {@code const}, {@code linear}, {@code cos}.
     *
     * @return the constant's name in lower case
     */
    public String jsonName() {
      return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses a case file's {@code rho_decay}.
     *
     * @param s {@code const}, {@code linear} or {@code cos} (case-sensitive)
     * @return the schedule of that name
     * @throws IllegalArgumentException naming {@code rho_decay} for another value
     */
    public static RhoDecay parse(String s) {
      for (RhoDecay d : values()) {
        if (d.jsonName().equals(s)) {
          return d;
        }
      }
      throw new IllegalArgumentException(
          "rho_decay: expected 'const', 'linear' or 'cos' but was '" + s + "'");
    }
  }

  private final double lr;
  private final double beta;
  private final double rho0;
  private final double rhoMin;
  private final int maxCgIters;
  private final int minCgIters;
  private final int kCg;
  private final double cgTol;
  private final boolean lineSearch;
  private final double lsC;
  private final double lsRho;
  private final int maxLsIters;
  private final boolean trustRegion;
  private final boolean cgPrec;
  private final CurvaturePreconditioner.Kind curvaturePreconditioner;
  private final double alphaExp;
  private final RhoDecay rhoDecay;
  private final int rhoDecaySteps;
  private final StepListener listener;

  private final BufferSlot m = new BufferSlot("exp_avg");
  private long t;
  private double rho;

  private Sgn(Builder b) {
    this.lr = b.lr;
    this.beta = b.beta;
    this.rho0 = b.rho;
    this.rhoMin = b.rhoMin;
    this.maxCgIters = b.maxCgIters;
    this.minCgIters = b.minCgIters < 0 ? b.maxCgIters : b.minCgIters;
    this.kCg = b.kCg;
    this.cgTol = b.cgTol;
    this.lineSearch = b.lineSearch;
    this.lsC = b.lsC;
    this.lsRho = b.lsRho;
    this.maxLsIters = b.maxLsIters;
    this.trustRegion = b.trustRegion;
    this.cgPrec = b.cgPrec;
    this.curvaturePreconditioner = b.curvaturePreconditioner;
    this.alphaExp = b.alphaExp;
    this.rhoDecay = b.rhoDecay;
    this.rhoDecaySteps = b.rhoDecaySteps;
    this.listener = b.listener;
    this.rho = b.rho;
  }

  /**
   * A builder with the defaults of the authors' solver.
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
   * The current (adapted) damping ρ.
   *
   * @return ρ as adapted by the trust region (or the initial ρ without it); scheduled values are
   *     not stored
   */
  public double damping() {
    return rho;
  }

  @Override
  public StepReport step(Objective objective) {
    double loss0;
    ParameterVector g;
    ParameterVector mNew = null;
    ParameterVector mHat = null;
    ParameterVector rhs = null;
    CgResult cg = null;
    long tNew = t + 1;
    double rhoStep = scheduledRho(tNew);
    try (Curvature c = objective.curvature()) {
      // the gradient first: a backend may compute the loss with it in one pass (TensorFlow
      // runs one graph for both), where the loss first would be a forward pass of its own
      g = c.gradient();
      try {
        loss0 = c.loss();
        NonFiniteException.check(loss0, "loss");
        NonFiniteException.check(g, "gradient");
        if (beta > 0) {
          ParameterVector old = m.get(objective);
          mNew = (old == null ? g.zerosLike() : old.copy()).scale(beta).axpy(1 - beta, g);
          mHat = mNew.copy().scale(1 / (1 - Math.pow(beta, tNew)));
        } else {
          mHat = g.copy();
        }
        int cap = tNew >= kCg ? maxCgIters : minCgIters;
        if (cgTol >= REFERENCE_INITIAL_ACCURACY) {
          cap = 0; // the reference's loop test 10 > CG_TOL fails at once
        }
        ConjugateGradient solver =
            ConjugateGradient.builder()
                .maxIterations(cap)
                .minIterations(Math.min(1, cap))
                .relativeTolerance(0)
                .maxAbsTolerance(cgTol)
                .build();
        rhs = mHat.copy().scale(-1);
        LinearOperator a = new GaussNewtonOperator(c).plusIdentity(rhoStep);
        try (Preconditioner p = cgPrec ? new Preconditioner(mHat, rho, alphaExp) : null;
            CurvaturePreconditioner cp = curvaturePreconditioner == null ? null
                : CurvaturePreconditioner.of(curvaturePreconditioner, objective, c, rhoStep)) {
          cg = solver.solve(a, rhs, null, p != null ? p : cp != null ? cp.on(c.layout()) : null);
        }
        if (cg.stopReason() == CgResult.StopReason.NON_FINITE) {
          throw new NonFiniteException(
              "conjugate gradient: a Gauss-Newton-vector product was NaN or infinite");
        }
        NonFiniteException.check(cg.solution(), "conjugate-gradient solution");
      } catch (RuntimeException e) {
        g.close();
        closeAll(mNew, mHat, rhs);
        if (cg != null) {
          cg.close();
        }
        throw e;
      }
    }

    double alpha = lr;
    double rhoNext = rho;
    try {
      ParameterVector delta = cg.solution();
      if (lineSearch || trustRegion) {
        double lhs = objective.lossAt(delta, alpha);
        if (trustRegion) {
          // The reference's residual r = (G+ρI)Δ + m̂ is the negative of CG's b − AΔ.
          double model = 0.5 * (g.dot(delta) - cg.residual().dot(delta));
          double ratio = Double.isFinite(lhs) ? (lhs - loss0) / model : Double.NEGATIVE_INFINITY;
          if (ratio < 0.25) {
            rhoNext = 1.5 * rho;
          } else if (ratio > 0.75) {
            rhoNext = Math.max(2.0 / 3.0 * rho, rhoMin);
          }
        }
        if (lineSearch) {
          double armijo = loss0 + alpha * lsC * mHat.dot(delta);
          int tries = 0;
          while (!(lhs <= armijo) && tries < maxLsIters) {
            tries++;
            alpha = lsRho * alpha;
            lhs = objective.lossAt(delta, alpha);
          }
        }
        if (!Double.isFinite(lhs)) {
          throw new NonFiniteException(
              "loss after the step: is " + lhs + " at step size " + alpha);
        }
      }
      objective.applyUpdate(delta, alpha);
      if (beta > 0) {
        m.set(mNew);
        mNew = null;
      }
      t = tNew;
      rho = rhoNext;
    } finally {
      g.close();
      closeAll(mNew, mHat, rhs);
      cg.close();
    }
    double curvature = cg.solutionCurvature() - rhoStep;
    StepReport r =
        new StepReport(
            t, loss0, alpha, rhoStep, cg.iterations(), cg.stopReason().label(), curvature);
    if (LOG.isDebugEnabled()) {
      LOG.debug("sgn step {}: loss {} alpha {} rho {} cg {} ({})", t, loss0, alpha, rhoStep,
          cg.iterations(), cg.stopReason().label());
    }
    if (listener != null) {
      listener.onStep(r);
    }
    return r;
  }

  /** ρ for step {@code tt}: the adapted ρ, or the reference's schedule without trust region. */
  private double scheduledRho(long tt) {
    if (trustRegion || rhoDecay == RhoDecay.CONST) {
      return rho;
    }
    double k = rhoDecaySteps;
    double out;
    if (rhoDecay == RhoDecay.COS) {
      out = rho * Math.cos(Math.PI / 2 * (tt / k));
      if (out < rhoMin || tt > rhoDecaySteps) {
        out = rhoMin;
      }
    } else {
      double slope = (rhoMin - rho) / (k - 1);
      out = rho + slope * (tt - 1);
      if (out < rhoMin) {
        out = rhoMin;
      }
    }
    return Math.max(out, 0); // rounding of cos near π/2 with ρ_min = 0
  }

  private static void closeAll(ParameterVector... vs) {
    for (ParameterVector v : vs) {
      if (v != null) {
        v.close();
      }
    }
  }

  /** The reference's diagonal preconditioner {@code P = 1 / (m̂⊙m̂ + ρ)^alpha_exp}. */
  private static final class Preconditioner implements LinearOperator, AutoCloseable {
    private final ParameterVector diagonal;

    Preconditioner(ParameterVector mHat, double rho, double alphaExp) {
      ParameterVector d = mHat.copy().mul(mHat).addScalar(rho);
      if (alphaExp == 0.5) {
        d.sqrt();
      } else if (alphaExp == 0) {
        d.fill(1.0);
      }
      this.diagonal = mHat.zerosLike().fill(1.0).div(d);
      d.close();
      String bad = diagonal.firstNonFiniteBlock();
      if (bad != null) {
        diagonal.close();
        throw new NonFiniteException("conjugate-gradient preconditioner: 1 / (m̂⊙m̂ + ρ)^"
            + alphaExp + " is NaN or infinite in block '" + bad + "' (ρ = " + rho
            + " and a zero gradient entry?)");
      }
    }

    @Override
    public ParameterLayout domain() {
      return diagonal.layout();
    }

    @Override
    public ParameterVector apply(ParameterVector v) {
      return v.copy().mul(diagonal);
    }

    @Override
    public void close() {
      diagonal.close();
    }
  }

  @Override
  public OptimizerState saveState() {
    Map<String, Double> s = new LinkedHashMap<>();
    s.put("t", (double) t);
    s.put("rho", rho);
    Map<String, double[][]> b = new LinkedHashMap<>();
    if (m.isPresent()) {
      b.put(m.name(), m.save());
    }
    return new OptimizerState(NAME, s, b);
  }

  @Override
  public void restoreState(OptimizerState state) {
    state.requireOptimizer(NAME);
    long tt = SgdPh.wholeScalar(state, "t");
    double r = state.scalar("rho", rho0);
    if (!(r >= 0) || Double.isInfinite(r)) {
      throw new IllegalArgumentException("state.rho: must be finite and >= 0 but was " + r);
    }
    m.restore(state.buffer(m.name()));
    t = tt;
    rho = r;
  }

  /** Validated settings of {@link Sgn}; defaults as the authors' solver. */
  public static final class Builder {
    private double lr = 1;
    private double beta = 0;
    private double rho = 1e-3;
    private double rhoMin = 0;
    private int maxCgIters = 10;
    private int minCgIters = -1;
    private int kCg = 0;
    private double cgTol = 1e-6;
    private boolean lineSearch = true;
    private double lsC = 1e-4;
    private double lsRho = 0.5;
    private int maxLsIters = 10;
    private boolean trustRegion = false;
    private boolean cgPrec = false;
    private CurvaturePreconditioner.Kind curvaturePreconditioner;
    private double alphaExp = 1;
    private RhoDecay rhoDecay = RhoDecay.CONST;
    private int rhoDecaySteps = 10;
    private StepListener listener;

    private Builder() {}

    /**
     * Initial step size α (ALPHA), finite and &gt; 0 (default 1).
     *
     * @param v the initial step size α of every step
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is not positive or not
     *     finite
     */
    public Builder lr(double v) {
      this.lr = Check.positive(v, "lr");
      return this;
    }

    /**
     * Gradient moving-average coefficient β (BETA) in [0, 1) (default 0).
     *
     * @param v the coefficient β of the gradient's moving average; 0 uses the gradient itself
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is outside [0, 1)
     */
    public Builder beta(double v) {
      this.beta = Check.inRange(v, 0, 1, false, "beta");
      return this;
    }

    /**
     * Initial damping ρ (DAMP_RHO), finite and &gt;= 0 (default 1e-3).
     *
     * @param v the damping ρ added to the Gauss-Newton matrix
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is negative or not finite
     */
    public Builder rho(double v) {
      this.rho = Check.nonNegative(v, "rho");
      return this;
    }

    /**
     * Lower bound of ρ (DAMP_RHO_MIN), finite and &gt;= 0 (default 0).
     *
     * @param v the smallest damping the trust region and the schedules reach
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is negative or not finite
     */
    public Builder rhoMin(double v) {
      this.rhoMin = Check.nonNegative(v, "rho_min");
      return this;
    }

    /**
     * CG iterations after the warm-up (MAX_CG_ITERS), &gt;= 1 (default 10).
     *
     * @param v the cap on CG iterations once {@code t >= k_cg}
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v < 1}
     */
    public Builder maxCgIters(int v) {
      this.maxCgIters = Check.atLeast(v, 1, "max_cg_iters");
      return this;
    }

    /**
     * CG iterations while {@code t < k_cg} (MIN_CG_ITERS), &gt;= 1 (default max_cg_iters).
     *
     * @param v the cap on CG iterations during the warm-up
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v < 1}
     */
    public Builder minCgIters(int v) {
      this.minCgIters = Check.atLeast(v, 1, "min_cg_iters");
      return this;
    }

    /**
     * Steps of the CG warm-up (K_CG), &gt;= 0 (default 0: no warm-up).
     *
     * @param v the number of warm-up steps
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v < 0}
     */
    public Builder kCg(int v) {
      this.kCg = Check.atLeast(v, 0, "k_cg");
      return this;
    }

    /**
     * CG tolerance on {@code max|r|} (CG_TOL), finite and &gt;= 0 (default 1e-6).
     *
     * @param v the tolerance on the largest absolute CG residual entry
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is negative or not finite
     */
    public Builder cgTol(double v) {
      this.cgTol = Check.nonNegative(v, "cg_tol");
      return this;
    }

    /**
     * Armijo backtracking line search (LS, default true).
     *
     * @param v whether to backtrack the step size until the Armijo condition holds
     * @return this builder
     */
    public Builder lineSearch(boolean v) {
      this.lineSearch = v;
      return this;
    }

    /**
     * Armijo constant c (C_LS) in [0, 1) (default 1e-4).
     *
     * @param v the Armijo constant c
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is outside [0, 1)
     */
    public Builder lsC(double v) {
      this.lsC = Check.inRange(v, 0, 1, false, "ls_c");
      return this;
    }

    /**
     * Step reduction factor (RHO_LS) in (0, 1) (default 0.5).
     *
     * @param v the factor applied to α at each reduction
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is outside (0, 1)
     */
    public Builder lsRho(double v) {
      if (!(v > 0 && v < 1)) {
        throw new IllegalArgumentException("ls_rho: must be in (0, 1) but was " + v);
      }
      this.lsRho = v;
      return this;
    }

    /**
     * Maximum step reductions (MAX_LS_ITERS), &gt;= 1 (default 10).
     *
     * @param v the most reductions of α per step
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v < 1}
     */
    public Builder maxLsIters(int v) {
      this.maxLsIters = Check.atLeast(v, 1, "max_ls_iters");
      return this;
    }

    /**
     * Trust-region adaptation of ρ (TR, default false).
     *
     * @param v whether to adapt ρ after each step by the ratio of actual to predicted reduction
     * @return this builder
     */
    public Builder trustRegion(boolean v) {
      this.trustRegion = v;
      return this;
    }

    /**
     * The reference's diagonal CG preconditioner (CG_PREC, default false).
     *
     * @param v whether to precondition CG with {@code 1 / (m̂⊙m̂ + ρ)^alpha_exp}
     * @return this builder
     */
    public Builder cgPrec(boolean v) {
      this.cgPrec = v;
      return this;
    }

    /**
     * A curvature preconditioner of CG instead of the reference's ({@code cg_preconditioner}:
     * {@code ggn-diagonal}: {@code (diag G + ρ)^{−3/4}}; {@code kfac}: the damped inverse of the
     * exact-Fisher KFAC matrix with {@code ρ}; see {@link CurvaturePreconditioner}), built on the
     * step's batch; default none. Not together with {@link #cgPrec}.
     *
     * @param v the preconditioner, or null for none
     * @return this builder
     */
    public Builder curvaturePreconditioner(CurvaturePreconditioner.Kind v) {
      this.curvaturePreconditioner = v;
      return this;
    }

    /**
     * The preconditioner's exponent (ALPHA_EXP): 0, 0.5 or 1 (default 1).
     *
     * @param v the exponent of the preconditioner: 0, 0.5 or 1
     * @return this builder
     * @throws IllegalArgumentException naming the parameter for another value
     */
    public Builder alphaExp(double v) {
      if (v != 0 && v != 0.5 && v != 1) {
        throw new IllegalArgumentException(
            "alpha_exp: must be 0, 0.5 or 1 (the tensor SPI has no general power) but was " + v);
      }
      this.alphaExp = v;
      return this;
    }

    /**
     * The damping schedule without trust region (RHO_DECAY, default const).
     *
     * @param v the schedule; not null
     * @return this builder
     */
    public Builder rhoDecay(RhoDecay v) {
      this.rhoDecay = Objects.requireNonNull(v, "rho_decay");
      return this;
    }

    /**
     * K of the damping schedule, &gt;= 1 (default 10).
     *
     * @param v the length K of the schedule, in steps
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v < 1}
     */
    public Builder rhoDecaySteps(int v) {
      this.rhoDecaySteps = Check.atLeast(v, 1, "rho_decay_steps");
      return this;
    }

    /**
     * Receives every step's report (default none).
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
     * @return a new optimizer with no state
     * @throws IllegalArgumentException for a linear schedule with {@code rho_decay_steps < 2}
     */
    public Sgn build() {
      if (rhoDecay == RhoDecay.LINEAR && !trustRegion && rhoDecaySteps < 2) {
        throw new IllegalArgumentException(
            "rho_decay_steps: the linear schedule needs >= 2 but was " + rhoDecaySteps);
      }
      if (cgPrec && curvaturePreconditioner != null) {
        throw new IllegalArgumentException(
            "cg_preconditioner: give either cg_prec or cg_preconditioner, not both");
      }
      return new Sgn(this);
    }
  }
}
