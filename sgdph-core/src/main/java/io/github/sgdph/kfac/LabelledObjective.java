package io.github.sgdph.kfac;

import io.github.sgdph.curvature.Objective;
import io.github.sgdph.model.LossKind;

/**
 * An objective that also tells its loss and the labels of its batch, which the Monte-Carlo and
 * exact Kronecker factors need to read the predictive distribution off {@code ∂L/∂z} ({@link
 * io.github.sgdph.model.PredictiveDistribution#fromOutputGradient}). The reference backend's
 * objectives implement it, and DJL's and TensorFlow's (for a user's own block or graph their
 * methods throw {@link UnsupportedOperationException}); the empirical factors need neither.
 */
public interface LabelledObjective extends Objective {

  /**
   * The model's loss.
   *
   * @return the loss the objective averages
   */
  LossKind lossKind();

  /**
   * The batch's labels.
   *
   * @return {@code [n]} class indices for softmax cross-entropy, else {@code [n, k]} targets; a
   *     view the caller does not modify
   */
  double[] labels();
}
