package io.github.sgdph.kfac;

/**
 * Which expectation the Kronecker factors' output-gradient factor {@code G} takes over the labels
 * (curvlinops' {@code fisher_type}).
 */
public enum FisherType {
  /**
   * The data's own labels: {@code δ_i = ∂ℓ_i/∂s_i}. The factors of the empirical Fisher (not the
   * Fisher; Kunstner, Balles, Hennig 2019).
   */
  EMPIRICAL,
  /**
   * {@code K} labels per sample drawn from the model's predictive distribution (seeded), each
   * outer product multiplied by the distribution's {@linkplain
   * io.github.sgdph.model.PredictiveDistribution#fisherScale() Fisher scale}: Martens and Grosse's
   * (2015, §5) Monte-Carlo estimate, unbiased for {@link #EXACT}'s {@code G}.
   */
  MONTE_CARLO,
  /**
   * The expectation over the labels in closed form, through the factor {@code H_ℓ = S Sᵀ} of the
   * loss Hessian: one backward pass per output, seeded with the columns of {@code S}
   * (curvlinops' {@code type-2}); for the losses here the Fisher's and the GGN's factor.
   */
  EXACT
}
