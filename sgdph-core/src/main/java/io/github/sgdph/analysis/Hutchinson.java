package io.github.sgdph.analysis;

import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.Objects;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hutchinson's stochastic trace and diagonal estimators with Rademacher vectors (Hutchinson
 * 1990; Bekas, Kokiopoulou, Saad 2007 for the diagonal), as in PyHessian's {@code trace} and
 * curvlinops' {@code HutchinsonTraceEstimator} / {@code HutchinsonDiagonalEstimator}:
 *
 * <pre>
 *   tr(A)   ≈ (1/s) Σ_j z_jᵀ A z_j
 *   diag(A) ≈ (1/s) Σ_j z_j ⊙ A z_j,       z_j ∈ {−1, +1}^d independent, uniform
 * </pre>
 *
 * <p>Both are unbiased ({@code E[z zᵀ] = I}, {@code z ⊙ z = 1}); the trace estimate's variance
 * is {@code 2(‖A‖_F² − Σ A_ii²)/s}, so its error shrinks like {@code 1/√s}. One product per
 * sample.
 *
 * <p><b>Exact trace.</b> With at least as many samples as the operator has rows (a small model,
 * or a small parameter block), {@link #trace} does not sample: it computes
 * {@code Σ_i e_iᵀ A e_i} exactly from {@code n} products with the basis vectors and says so
 * ({@link TraceEstimate#exact()}, standard error 0).
 *
 * <p><b>Standard error.</b> The trace's standard error is the sample standard deviation of the
 * {@code zᵀAz} over {@code √m}, an estimate of {@code √(2(‖A‖_F² − Σ A_ii²)/m)}.
 *
 * <p>Defaults: {@code samples = 100} (PyHessian's {@code maxIter}) and no early stop. With
 * {@code relativeTolerance > 0} the trace stops once, after at least 10 samples, the standard
 * error of the mean is below {@code relativeTolerance·|estimate|} (a statistically meaningful
 * version of PyHessian's test on the change of the running mean).
 */
public final class Hutchinson {
  private static final Logger LOG = LoggerFactory.getLogger(Hutchinson.class);
  private static final int MIN_SAMPLES_FOR_STOP = 10;

  private final int samples;
  private final double relativeTolerance;
  private final AnalysisListener listener;

  private Hutchinson(Builder b) {
    this.samples = b.samples;
    this.relativeTolerance = b.relativeTolerance;
    this.listener = b.listener;
  }

  /**
   * A builder with the defaults: 100 samples, no early stop.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Hutchinson with the defaults: 100 samples, no early stop.
   *
   * @return a new estimator
   */
  public static Hutchinson withDefaults() {
    return builder().build();
  }

  /**
   * The number of samples (products) per estimate.
   *
   * @return the sample cap, at least 1; the trace may stop earlier with a relative tolerance
   */
  public int samples() {
    return samples;
  }

  /**
   * Hutchinson's estimate of {@code tr(A)}, or the exact trace when {@code samples} is at least
   * the dimension of {@code op}.
   *
   * @param op the operator {@code A}
   * @param algebra the backend of the random vectors; that of {@code op}'s vectors
   * @param random the source of the Rademacher vectors (not used for the exact trace)
   * @return the mean of {@code zᵀAz} over the samples drawn, with its standard error; or the
   *     exact trace ({@link TraceEstimate#exact()}, standard error 0, one product per row)
   * @throws ArithmeticException if a sample {@code zᵀAz} (or a diagonal entry) is NaN or
   *     infinite
   */
  public TraceEstimate trace(LinearOperator op, TensorAlgebra algebra, RandomGenerator random) {
    Objects.requireNonNull(op, "operator");
    Objects.requireNonNull(algebra, "algebra");
    Objects.requireNonNull(random, "random");
    if (samples >= op.dimension()) {
      TraceEstimate t = ExactTrace.of(op, algebra, listener, "hutchinson", samples);
      LOG.debug("hutchinson: exact trace {} from {} basis vectors", t.estimate(), t.products());
      return t;
    }
    double mean = 0;
    double m2 = 0;
    int n = 0;
    while (n < samples) {
      double x;
      try (ParameterVector z = ParameterVector.rademacher(algebra, op.domain(), random);
          ParameterVector az = op.apply(z)) {
        x = z.dot(az);
      }
      if (!Double.isFinite(x)) {
        throw new ArithmeticException("hutchinson: zᵀAz of sample " + (n + 1) + " is " + x);
      }
      n++;
      double delta = x - mean; // Welford
      mean += delta / n;
      m2 += delta * (x - mean);
      listener.onProgress(new AnalysisProgress("hutchinson", n, samples, n, mean));
      if (relativeTolerance > 0 && n >= MIN_SAMPLES_FOR_STOP
          && Math.sqrt(m2 / (n - 1) / n) <= relativeTolerance * Math.abs(mean)) {
        break;
      }
    }
    double se = n > 1 ? Math.sqrt(m2 / (n - 1) / n) : Double.NaN;
    LOG.debug("hutchinson: trace {} ± {} from {} samples", mean, se, n);
    return new TraceEstimate(mean, se, n, n);
  }

  /**
   * Hutchinson's estimate of {@code diag(A)} from {@code samples} products.
   *
   * @param op the operator {@code A}
   * @param algebra the backend of the random vectors; that of {@code op}'s vectors
   * @param random the source of the Rademacher vectors
   * @return the estimate, owned by the caller
   * @throws ArithmeticException if the estimate has a NaN or infinite entry
   */
  public DiagonalEstimate diagonal(
      LinearOperator op, TensorAlgebra algebra, RandomGenerator random) {
    Objects.requireNonNull(op, "operator");
    Objects.requireNonNull(algebra, "algebra");
    Objects.requireNonNull(random, "random");
    ParameterVector sum = ParameterVector.zeros(algebra, op.domain());
    try {
      for (int j = 1; j <= samples; j++) {
        try (ParameterVector z = ParameterVector.rademacher(algebra, op.domain(), random);
            ParameterVector az = op.apply(z)) {
          sum.axpy(1.0, az.mul(z));
        }
        listener.onProgress(new AnalysisProgress("hutchinson-diagonal", j, samples, j, Double.NaN));
      }
      String bad = sum.firstNonFiniteBlock();
      if (bad != null) {
        throw new ArithmeticException("hutchinson: non-finite diagonal estimate in block '" + bad
            + "'");
      }
      return new DiagonalEstimate(sum.scale(1.0 / samples), samples, samples);
    } catch (RuntimeException e) {
      sum.close();
      throw e;
    }
  }

  /** Options of {@link Hutchinson}; every setter validates its argument. */
  public static final class Builder {
    private int samples = 100;
    private double relativeTolerance = 0;
    private AnalysisListener listener = AnalysisListener.NONE;

    private Builder() {}

    /**
     * The number of random vectors (products); at least 1. Default 100.
     *
     * @param v the number of samples
     * @return this builder
     * @throws IllegalArgumentException if {@code v < 1}
     */
    public Builder samples(int v) {
      if (v < 1) {
        throw new IllegalArgumentException("samples: must be >= 1 but was " + v);
      }
      this.samples = v;
      return this;
    }

    /**
     * Stop the trace early once the standard error is below this fraction of the estimate; 0
     * (the default) never stops early. In {@code [0, 1)}.
     *
     * @param v the fraction of {@code |estimate|} the standard error must fall below
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is not in [0, 1)
     */
    public Builder relativeTolerance(double v) {
      if (!(v >= 0 && v < 1)) {
        throw new IllegalArgumentException("relativeTolerance: must be in [0, 1) but was " + v);
      }
      this.relativeTolerance = v;
      return this;
    }

    /**
     * Receives a report after every sample.
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
     * Builds the estimator.
     *
     * @return a new, immutable estimator with these options
     */
    public Hutchinson build() {
      return new Hutchinson(this);
    }
  }
}
