package io.github.sgdph.analysis;

import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Hutch++ trace estimator (Meyer, Musco, Musco, Woodruff, "Hutch++: Optimal Stochastic
 * Trace Estimation", SOSA 2021, Algorithm 1), as curvlinops' {@code HutchPPTraceEstimator}. With
 * a budget of {@code m} products, {@code s = ⌊m/3⌋} and {@code l = m − 2s}:
 *
 * <pre>
 *   S ∈ {±1}^{d×s};  Q = orth(A S)                      (s products)
 *   tr(A) ≈ tr(Qᵀ A Q)                                 (≤ s products)
 *         + (1/l) Σ_j g_jᵀ (I − QQᵀ) A (I − QQᵀ) g_j,  g_j ∈ {±1}^d   (l products)
 * </pre>
 *
 * <p>The top of the spectrum is captured exactly by the sketch and only the remainder is
 * sampled, so for matrices dominated by a few large eigenvalues (Hessians of deep nets) the
 * error falls like {@code 1/m} instead of Hutchinson's {@code 1/√m}. The orthonormalisation is
 * Gram-Schmidt twice on the backend; sketch columns that are numerically dependent are dropped
 * (then fewer than {@code s} products go to {@code tr(QᵀAQ)}).
 *
 * <p><b>Standard error.</b> Given the sketch {@code Q}, {@code tr(QᵀAQ)} is exact and the
 * Hutchinson part is an unbiased mean of {@code l} independent samples; the reported standard
 * error is their sample standard deviation over {@code √l}, the standard error conditional on
 * the sketch (NaN when {@code l < 2}).
 *
 * <p><b>Exact trace.</b> With a budget of at least the dimension {@code n} of the operator (a
 * small model, or a small parameter block), {@link #trace} computes {@code Σ_i e_iᵀ A e_i}
 * exactly from {@code n} products with the basis vectors instead ({@link TraceEstimate#exact()},
 * standard error 0).
 */
public final class HutchPlusPlus {
  private static final Logger LOG = LoggerFactory.getLogger(HutchPlusPlus.class);

  private final int products;
  private final AnalysisListener listener;

  private HutchPlusPlus(Builder b) {
    this.products = b.products;
    this.listener = b.listener;
  }

  /**
   * A builder with the default budget of 99 products.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Hutch++ with the default budget of 99 products.
   *
   * @return a new estimator
   */
  public static HutchPlusPlus withDefaults() {
    return builder().build();
  }

  /**
   * The product budget.
   *
   * @return the budget {@code m}, at least 3; at most {@code m} products are made
   */
  public int products() {
    return products;
  }

  /**
   * The Hutch++ estimate of {@code tr(A)}.
   *
   * @param op the operator {@code A}
   * @param algebra the backend of the random vectors; that of {@code op}'s vectors
   * @param random the source of the sketch and sample vectors
   * @return the estimate; its standard error is that of the Hutchinson part on the deflated
   *     operator (conditional on the sketch); or, when the budget is at least the dimension, the
   *     exact trace ({@link TraceEstimate#exact()}, standard error 0)
   * @throws ArithmeticException if a sketch product, a diagonal entry or the estimate is NaN or
   *     infinite
   */
  public TraceEstimate trace(LinearOperator op, TensorAlgebra algebra, RandomGenerator random) {
    Objects.requireNonNull(op, "operator");
    Objects.requireNonNull(algebra, "algebra");
    Objects.requireNonNull(random, "random");
    if (products >= op.dimension()) {
      TraceEstimate t = ExactTrace.of(op, algebra, listener, "hutch++", products);
      LOG.debug("hutch++: exact trace {} from {} basis vectors", t.estimate(), t.products());
      return t;
    }
    int s = (int) Math.min(products / 3, op.dimension());
    int l = products - 2 * s;
    long used = 0;
    List<ParameterVector> q = new ArrayList<>(s);
    try {
      for (int i = 0; i < s; i++) {
        ParameterVector y;
        try (ParameterVector z = ParameterVector.rademacher(algebra, op.domain(), random)) {
          y = op.apply(z);
        }
        used++;
        double n0 = y.norm();
        if (!Double.isFinite(n0)) {
          y.close();
          throw new ArithmeticException("hutch++: a sketch product is not finite");
        }
        project(y, q);
        project(y, q);
        double n1 = y.norm();
        if (n1 > 1e-10 * n0 && n1 > 0) {
          q.add(y.scale(1 / n1));
        } else {
          y.close();
        }
        progress(used);
      }
      double low = 0;
      for (ParameterVector u : q) {
        try (ParameterVector au = op.apply(u)) {
          low += u.dot(au);
        }
        used++;
        progress(used);
      }
      double mean = 0;
      double m2 = 0;
      for (int j = 1; j <= l; j++) {
        double x;
        try (ParameterVector g = ParameterVector.rademacher(algebra, op.domain(), random)) {
          project(g, q);
          try (ParameterVector ag = op.apply(g)) {
            project(ag, q);
            x = g.dot(ag);
          }
        }
        used++;
        double delta = x - mean;
        mean += delta / j;
        m2 += delta * (x - mean);
        progress(used);
      }
      double estimate = low + mean;
      if (!Double.isFinite(estimate)) {
        throw new ArithmeticException("hutch++: the estimate is " + estimate);
      }
      double se = l > 1 ? Math.sqrt(m2 / (l - 1) / l) : Double.NaN;
      LOG.debug("hutch++: trace {} (sketch {} + residual {}) from {} products", estimate, low,
          mean, used);
      return new TraceEstimate(estimate, se, l, used);
    } finally {
      q.forEach(ParameterVector::close);
    }
  }

  private void progress(long used) {
    listener.onProgress(new AnalysisProgress("hutch++", (int) used, products, used, Double.NaN));
  }

  /** {@code x ← (I − QQᵀ) x}. */
  private static void project(ParameterVector x, List<ParameterVector> q) {
    for (ParameterVector u : q) {
      x.axpy(-u.dot(x), u);
    }
  }

  /** Options of {@link HutchPlusPlus}; every setter validates its argument. */
  public static final class Builder {
    private int products = 99;
    private AnalysisListener listener = AnalysisListener.NONE;

    private Builder() {}

    /**
     * The product budget {@code m}; at least 3. Default 99.
     *
     * @param v the budget {@code m}
     * @return this builder
     * @throws IllegalArgumentException if {@code v < 3}
     */
    public Builder products(int v) {
      if (v < 3) {
        throw new IllegalArgumentException("products: must be >= 3 but was " + v);
      }
      this.products = v;
      return this;
    }

    /**
     * Receives a report after every product.
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
    public HutchPlusPlus build() {
      return new HutchPlusPlus(this);
    }
  }
}
