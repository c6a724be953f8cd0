package io.github.sgdph.train;

/**
 * Where a {@link Training} run hands its checkpoints: a file writer (the {@code sgdph-io}
 * module's {@code CheckpointFile}), memory in tests. The core does no I/O itself.
 */
@FunctionalInterface
public interface CheckpointSink {

  /**
   * Keeps a checkpoint. A sink that throws stops the run with its exception, after the state it
   * could not keep — so no progress is reported saved that was not.
   *
   * @param state the run's complete state
   */
  void save(TrainingState state);
}
