package io.github.sgdph.train;

/**
 * Callbacks of a {@link Training} run, on the thread that runs it: progress bars, metric files,
 * logs. Every method has an empty default; a listener that throws stops the run with its
 * exception.
 */
public interface TrainingListener {

  /**
   * An epoch starts.
   *
   * @param epoch the 0-based epoch
   * @param batches the number of mini-batches the epoch has
   * @param firstBatch the batch it starts at (0, or later when a run resumes mid-epoch)
   */
  default void epochStarted(int epoch, int batches, int firstBatch) {}

  /**
   * An optimizer step was taken.
   *
   * @param event what the step did
   */
  default void stepped(StepEvent event) {}

  /**
   * An epoch ended and the model was evaluated.
   *
   * @param result the epoch's figures
   */
  default void epochEnded(EpochResult result) {}

  /**
   * A checkpoint was taken (and handed to the run's {@link CheckpointSink}).
   *
   * @param state what was saved
   */
  default void checkpointed(TrainingState state) {}
}
