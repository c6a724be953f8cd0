package io.github.sgdph.analysis;

import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code k} largest or smallest eigenpairs of a symmetric operator by the Lanczos method
 * with full reorthogonalisation (Lanczos 1950; Golub and Van Loan, "Matrix Computations",
 * §10.1; Parlett, "The Symmetric Eigenvalue Problem", ch. 13), the method curvlinops and
 * Ghorbani et al. (2019) use for Hessian spectra.
 *
 * <p>From a random normal start vector it builds {@code T_m = V_mᵀ A V_m} one product at a time
 * ({@code LanczosProcess}) and after each step computes the eigen-decomposition
 * {@code T_m = S Θ Sᵀ} on the host (implicit QL). The Ritz pair {@code (θ_i, V_m s_i)} has
 * residual {@code ‖A V_m s_i − θ_i V_m s_i‖ = |β_m|·|s_{m,i}|}; the run stops when the
 * {@code k} wanted pairs all have
 *
 * <pre>
 *   |β_m|·|s_{m,i}| ≤ tolerance · ‖T_m‖
 * </pre>
 *
 * <p>or the Krylov space is exhausted, or after {@code maxIterations} steps. For a symmetric
 * operator the eigenvalue error is at most that residual, and about its square over the gap to
 * the rest of the spectrum. Costs: one product per step, plus {@code 2m} dot products and axpys
 * for the reorthogonalisation; memory {@code m} vectors. The Krylov method finds one copy of a
 * multiple eigenvalue per start vector; after a breakdown it restarts with a fresh vector, so
 * multiplicities show up when the space is exhausted. In less than float64 precision a breakdown
 * is a {@code β_m} below the tolerance times {@code ‖T_m‖} (rounding keeps it from reaching
 * zero), so that multiple eigenvalues are found there too.
 *
 * <p>Defaults: {@code maxIterations = 150}, {@code tolerance = 1e-7} (relative to the operator
 * norm estimate; for a backend in less than float64 precision at least {@value #FLOAT32_FLOOR},
 * since the residual of float32 products cannot fall much below that). Compare PyHessian's
 * power iteration (100 iterations per eigenvalue, {@link PowerIteration}).
 */
public final class Lanczos {
  private static final Logger LOG = LoggerFactory.getLogger(Lanczos.class);
  /** The smallest tolerance used for products in less than float64 precision. */
  static final double FLOAT32_FLOOR = 1e-4;

  private final int maxIterations;
  private final double tolerance;
  private final AnalysisListener listener;

  private Lanczos(Builder b) {
    this.maxIterations = b.maxIterations;
    this.tolerance = b.tolerance;
    this.listener = b.listener;
  }

  /**
   * A builder with the defaults.
   *
   * @return a new builder: at most 150 steps, tolerance 1e-7
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Lanczos with the defaults.
   *
   * @return a new solver: at most 150 steps, tolerance 1e-7
   */
  public static Lanczos withDefaults() {
    return builder().build();
  }

  /**
   * The most Lanczos steps of a run.
   *
   * @return the step cap, at least 1
   */
  public int maxIterations() {
    return maxIterations;
  }

  /**
   * The residual tolerance relative to the estimated operator norm (raised to {@value
   * #FLOAT32_FLOOR} for products in less than float64 precision).
   *
   * @return the tolerance, in (0, 1)
   */
  public double tolerance() {
    return tolerance;
  }

  /**
   * The {@code k} algebraically largest eigenpairs, largest first.
   *
   * @param operator the symmetric operator
   * @param algebra the backend of the random start vectors; that of {@code operator}'s vectors
   * @param k the number of eigenpairs wanted
   * @param random the source of the start vector (and of restart vectors after a breakdown)
   * @return the eigenpairs, owned by the caller; fewer than {@code k} (and not converged) only if
   *     the Krylov space could not be extended to {@code k} vectors
   * @throws IllegalArgumentException if {@code k} is not in {@code [1, min(dimension,
   *     maxIterations)]}
   * @throws ArithmeticException if a product is NaN or infinite
   */
  public Eigenpairs largest(
      LinearOperator operator, TensorAlgebra algebra, int k, RandomGenerator random) {
    return run(operator, algebra, k, true, random);
  }

  /**
   * The {@code k} algebraically smallest eigenpairs, smallest first.
   *
   * @param operator the symmetric operator
   * @param algebra the backend of the random start vectors; that of {@code operator}'s vectors
   * @param k the number of eigenpairs wanted
   * @param random the source of the start vector (and of restart vectors after a breakdown)
   * @return the eigenpairs, owned by the caller; fewer than {@code k} (and not converged) only if
   *     the Krylov space could not be extended to {@code k} vectors
   * @throws IllegalArgumentException if {@code k} is not in {@code [1, min(dimension,
   *     maxIterations)]}
   * @throws ArithmeticException if a product is NaN or infinite
   */
  public Eigenpairs smallest(
      LinearOperator operator, TensorAlgebra algebra, int k, RandomGenerator random) {
    return run(operator, algebra, k, false, random);
  }

  private Eigenpairs run(
      LinearOperator op, TensorAlgebra algebra, int k, boolean largest, RandomGenerator random) {
    Objects.requireNonNull(op, "operator");
    Objects.requireNonNull(algebra, "algebra");
    Objects.requireNonNull(random, "random");
    long dim = op.dimension();
    if (k < 1 || k > dim) {
      throw new IllegalArgumentException("k: must be in [1, " + dim + "] but was " + k);
    }
    if (k > maxIterations) {
      throw new IllegalArgumentException(
          "k: must be <= maxIterations (" + maxIterations + ") but was " + k);
    }
    int cap = (int) Math.min(maxIterations, dim);
    double tol =
        algebra.dtype() == DType.FLOAT64 ? tolerance : Math.max(tolerance, FLOAT32_FLOOR);
    String task = largest ? "lanczos-largest" : "lanczos-smallest";
    ParameterVector start = ParameterVector.randomNormal(algebra, op.domain(), random);
    // In less than float64 precision a β below the tolerance is a breakdown: the product's
    // rounding leaves β where it is 0 in exact arithmetic at 5.0e-7·‖T‖ (TensorFlow), 5.6e-7
    // (DL4J) and 1.0e-6 (DJL) in float32 (measured: step 5 of the bundled linear-mse-probe,
    // whose Hessian has 5 distinct eigenvalues of multiplicity 3), far above float64's 1e-12
    // (which all four backends reach at step 5 in float64); without a restart there
    // the converged Ritz values are the distinct eigenvalues and every copy is missed. Taking
    // β = 0 moves the eigenvalues of T by at most β ≤ tol·‖T‖ (Weyl), the accuracy tol claims.
    double breakdown = algebra.dtype() == DType.FLOAT64 ? LanczosProcess.BREAKDOWN : tol;
    try (LanczosProcess p = new LanczosProcess(op, algebra, start, random, true, breakdown)) {
      boolean converged = false;
      while (p.steps() < cap && p.step()) {
        int m = p.steps();
        double estimate = Double.NaN;
        if (m >= k) {
          double[] beta = p.beta();
          SymmetricTridiagonal.Eigen e =
              SymmetricTridiagonal.eigen(p.alpha(), beta, new int[] {m - 1});
          boolean all = true;
          for (int i = 0; i < k; i++) {
            int idx = largest ? m - 1 - i : i;
            double r = Math.abs(beta[m - 1] * e.rows()[0][idx]);
            if (r > tol * p.normEstimate()) {
              all = false;
            }
          }
          estimate = e.values()[largest ? m - 1 : 0];
          if (all && !p.exhausted()) {
            all = latestBlockSettled(p, e.values()[largest ? m - k : k - 1], largest, tol);
          }
          converged = all || p.exhausted();
        }
        listener.onProgress(new AnalysisProgress(task, m, cap, p.products(), estimate));
        if (converged) {
          break;
        }
      }
      int m = p.steps();
      if (m < k) {
        // the Krylov space could not be extended (numerically rank-deficient restart vectors)
        k = m;
        converged = false;
      }
      double[] beta = p.beta();
      SymmetricTridiagonal.Eigen e = SymmetricTridiagonal.eigen(p.alpha(), beta, null);
      double[] values = new double[k];
      double[] residuals = new double[k];
      List<ParameterVector> vectors = new ArrayList<>(k);
      for (int i = 0; i < k; i++) {
        int idx = largest ? m - 1 - i : i;
        values[i] = e.values()[idx];
        double[] s = new double[m];
        for (int j = 0; j < m; j++) {
          s[j] = e.rows()[j][idx];
        }
        residuals[i] = Math.abs(beta[m - 1] * s[m - 1]);
        ParameterVector u = p.combine(s);
        double n = u.norm();
        vectors.add(n > 0 ? u.scale(1 / n) : u);
      }
      LOG.debug("{}: k={} after {} steps ({} products), converged={}, values={}", task, k, m,
          p.products(), converged, values);
      return new Eigenpairs(values, vectors, residuals, m, p.products(), converged);
    }
  }

  /**
   * After a breakdown, whether the restarts may stop: the latest Krylov block (the last one with
   * a step) holds no value beyond the {@code k}-th wanted one that it could still have copies of.
   * A closed (invariant) block that improved the wanted set calls for another restart, since a
   * multiple eigenvalue shows one copy per Krylov block; an open block must first converge its
   * extreme Ritz value. Without a breakdown this is always true.
   */
  private static boolean latestBlockSettled(
      LanczosProcess p, double kth, boolean largest, double tolerance) {
    int[] starts = p.blockStarts();
    if (starts.length == 1) {
      return true;
    }
    int m = p.steps();
    int last = starts[starts.length - 1];
    boolean closed = last == m;
    int from = closed ? starts[starts.length - 2] : last;
    double[] alpha = java.util.Arrays.copyOfRange(p.alpha(), from, m);
    double[] beta = java.util.Arrays.copyOfRange(p.beta(), from, m);
    SymmetricTridiagonal.Eigen b =
        SymmetricTridiagonal.eigen(alpha, beta, new int[] {alpha.length - 1});
    int idx = largest ? alpha.length - 1 : 0;
    double slack = tolerance * p.normEstimate();
    if (!closed && Math.abs(beta[alpha.length - 1] * b.rows()[0][idx]) > slack) {
      return false; // the open block's extreme Ritz value has not converged yet
    }
    double top = b.values()[idx];
    boolean improves = largest ? top > kth + slack : top < kth - slack;
    return !(closed && improves);
  }

  /** Options of {@link Lanczos}; every setter validates its argument. */
  public static final class Builder {
    private int maxIterations = 150;
    private double tolerance = 1e-7;
    private AnalysisListener listener = AnalysisListener.NONE;

    private Builder() {}

    /**
     * The most Lanczos steps (= products = basis vectors kept); at least 1. Default 150.
     *
     * @param v the step cap
     * @return this builder
     * @throws IllegalArgumentException if {@code v < 1}
     */
    public Builder maxIterations(int v) {
      if (v < 1) {
        throw new IllegalArgumentException("maxIterations: must be >= 1 but was " + v);
      }
      this.maxIterations = v;
      return this;
    }

    /**
     * The residual tolerance relative to the estimated operator norm; in {@code (0, 1)}.
     * Default 1e-7.
     *
     * @param v the relative residual tolerance
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is not in (0, 1)
     */
    public Builder tolerance(double v) {
      if (!(v > 0 && v < 1)) {
        throw new IllegalArgumentException("tolerance: must be in (0, 1) but was " + v);
      }
      this.tolerance = v;
      return this;
    }

    /**
     * Receives a report after every step.
     *
     * @param v the listener; {@link AnalysisListener#NONE} for none
     * @return this builder
     * @throws NullPointerException if {@code v} is null
     */
    public Builder listener(AnalysisListener v) {
      this.listener = Objects.requireNonNull(v, "listener");
      return this;
    }

    /**
     * Builds the solver.
     *
     * @return a new, immutable solver with these options
     */
    public Lanczos build() {
      return new Lanczos(this);
    }
  }
}
