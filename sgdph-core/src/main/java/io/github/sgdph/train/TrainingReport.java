package io.github.sgdph.train;

import java.util.List;

/**
 * How a {@link Training} run ended.
 *
 * @param epochs the epochs completed in this process, in order
 * @param steps the run's step count at the end (including steps of the run it resumed)
 * @param completed true if every epoch ran; false if the run stopped early
 * @param stopReason why it stopped early (e.g. a non-finite loss, with the epoch, batch and
 *     step), null when completed
 */
public record TrainingReport(
    List<EpochResult> epochs, long steps, boolean completed, String stopReason) {

  /**
   * Copies the list.
   *
   * @param epochs the epochs completed in this process
   * @param steps the run's step count at the end
   * @param completed whether every epoch ran
   * @param stopReason why the run stopped early, or null
   * @throws NullPointerException if {@code epochs} is null
   */
  public TrainingReport {
    epochs = List.copyOf(epochs);
  }

  /**
   * The last epoch's held-out evaluation.
   *
   * @return the evaluation, or null if no epoch completed or the run has no held-out set
   */
  public Evaluation lastTest() {
    return epochs.isEmpty() ? null : epochs.get(epochs.size() - 1).test();
  }
}
