package io.github.sgdph.analysis;

import io.github.sgdph.curvature.Objective;

/**
 * Which per-sample gradients {@code g_i} the gradient second moment {@code M = (1/N) Σ_i g_i
 * g_iᵀ} is built from. The two agree for networks whose samples do not interact and differ with
 * train-mode batch norm.
 */
public enum SampleGradients {
  /**
   * The per-term gradients {@code ∂ℓ_i/∂θ} of each batch's loss in one forward pass of the whole
   * batch ({@link Objective#perTermGradients()}): what BackPACK and curvlinops compute, and the
   * default. They average to the batch gradient.
   */
  PER_TERM("per-term gradients of the batch loss"),
  /**
   * The gradient of each sample evaluated alone, as a one-sample batch ({@link
   * Objective#isolatedSampleGradients()}): with train-mode batch norm a different function of the
   * parameters (the sample is normalised by its own statistics), so never the default.
   */
  ISOLATED("each sample alone, as a one-sample batch");

  private final String description;

  SampleGradients(String description) {
    this.description = description;
  }

  /**
   * What the gradients are, for output labels.
   *
   * @return a short description
   */
  public String description() {
    return description;
  }
}
