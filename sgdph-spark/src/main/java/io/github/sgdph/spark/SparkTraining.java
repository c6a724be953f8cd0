package io.github.sgdph.spark;

import io.github.sgdph.train.Training;

/**
 * Mini-batch training of a {@link SparkModel}: {@link Training}'s loop (docs/TRAINING.md) with
 * the samples on the executors. {@link #builder(SparkModel)} is a {@link Training.Builder} whose
 * model is the driver's replica ({@link SparkModel#driverModel()}: it holds the parameters and
 * running statistics, is checkpointed and is evaluated on the test set, on the driver) and whose
 * mini-batches are {@link SparkModel#objective(int...)} of the epoch's global sample indices
 * ({@link Training.Builder#trainingObjectives}). So the epoch orders ({@code
 * EpochOrder.shuffled(N, seed, e)}), the step (the batch's objective, then, with train-mode batch
 * norm, {@code updateRunningStatistics()}, then the optimizer's step on it and the curvature
 * sub-batch of its first samples), non-finite-step handling, listeners, checkpoints ({@link
 * io.github.sgdph.train.TrainingState}, the same files as one machine's) and resumption are
 * {@code Training}'s own.
 *
 * <p>Without batch norm a run equals {@code Training} on one machine with the same seed and batch
 * size, to rounding (the sums are taken per partition, in partition order). A resumed run is bit
 * for bit the uninterrupted one: each step's sums depend only on the parameters, the batch and
 * the partitioning, not on task timing.
 */
public final class SparkTraining {
  private SparkTraining() {}

  /**
   * A training builder over the model's dataset; set the optimizer (required), epochs, batch
   * size, seed, test data, checkpoints and resumption on it as for {@link Training}. Do not set
   * its {@code model} or {@code trainingData}.
   *
   * @param model the distributed model, open for the run
   * @return a builder training {@code model} on its dataset
   */
  public static Training.Builder builder(SparkModel model) {
    return Training.builder().model(model.driverModel())
        .trainingObjectives(model, model.dataset().size());
  }
}
