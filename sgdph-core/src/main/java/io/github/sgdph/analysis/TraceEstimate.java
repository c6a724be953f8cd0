package io.github.sgdph.analysis;

/**
 * An estimate of {@code tr(A)}: stochastic, with its standard error, or exact.
 *
 * @param estimate the estimate (the trace itself when {@code exact})
 * @param standardError the standard error of the estimate: for Hutchinson {@code s/√m}, the
 *     sample standard deviation of the {@code m} samples {@code zᵀAz} over {@code √m}; for Hutch++
 *     the same for the samples of its Hutchinson part on the deflated operator, a standard error
 *     conditional on the sketch (its low-rank part {@code tr(QᵀAQ)} is exact given {@code Q});
 *     0 when {@code exact}; NaN with fewer than two samples
 * @param samples the random vectors used in the Hutchinson part, or the basis vectors when
 *     {@code exact}
 * @param products the operator products made
 * @param exact whether the trace was computed exactly as {@code Σ_i e_iᵀ A e_i} over all basis
 *     vectors (when the sample or product budget is at least the dimension)
 */
public record TraceEstimate(
    double estimate, double standardError, int samples, long products, boolean exact) {

  /**
   * A stochastic (not exact) estimate.
   *
   * @param estimate the estimate
   * @param standardError its standard error, NaN with fewer than two samples
   * @param samples the random vectors used in the Hutchinson part
   * @param products the operator products made
   */
  public TraceEstimate(double estimate, double standardError, int samples, long products) {
    this(estimate, standardError, samples, products, false);
  }
}
