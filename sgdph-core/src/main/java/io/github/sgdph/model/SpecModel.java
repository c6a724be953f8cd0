package io.github.sgdph.model;

import io.github.sgdph.curvature.CurvatureModel;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import java.util.List;

/** A backend's model built from a {@link ModelSpec}: what case replay and the conformance kit use. */
public interface SpecModel extends CurvatureModel<ArrayBatch> {

  /**
   * The spec this model was built from.
   *
   * @return the spec given to {@link SpecBackend#build}
   */
  ModelSpec spec();

  /**
   * Every parameter entry of the spec, trainable or not, with its current values in PyTorch
   * layout and case-file order.
   *
   * @return new host copies of the entries, in {@link ModelSpec#entries()} order
   */
  List<NamedArray> exportParameters();

  /**
   * The network's outputs on a batch in <b>evaluation mode</b>, as PyTorch's {@code
   * model.eval()}: every batch norm normalises with running statistics (a train-mode layer's
   * {@linkplain #runningStatistics() tracked} ones, an eval-mode layer's entries), so each
   * sample's output depends on that sample alone. The outputs are the loss's inputs (logits for
   * the cross-entropies), before any link function.
   *
   * @param batch the inputs (labels are not read, but must have the spec's shape)
   * @return a new host array {@code [batch size, outputs]}, row-major, in the model's dtype
   *     rounded to double
   * @throws IllegalArgumentException if the batch does not fit the spec
   * @throws UnsupportedOperationException if the backend cannot evaluate (never a train-mode
   *     answer instead)
   */
  default double[] predict(ArrayBatch batch) {
    throw new UnsupportedOperationException(
        getClass().getName() + ": evaluation-mode outputs (predict) are not implemented");
  }

  /**
   * The running statistics the model tracks for its train-mode batch norms
   * ({@link ModelSpec#runningStatistics()}): PyTorch's initial values (means 0, variances 1)
   * when built, then updated by {@link Objective#updateRunningStatistics()}.
   *
   * @return new host copies, in {@link ModelSpec#runningStatistics()} order; empty without
   *     train-mode batch norm
   * @throws UnsupportedOperationException if the backend does not track them
   */
  default List<NamedArray> runningStatistics() {
    if (spec().runningStatistics().isEmpty()) {
      return List.of();
    }
    throw new UnsupportedOperationException(
        getClass().getName() + ": running statistics are not implemented");
  }

  /**
   * Replaces the tracked running statistics (restoring a checkpoint).
   *
   * @param values exactly {@link ModelSpec#runningStatistics()}'s entries, finite, variances
   *     non-negative
   * @throws IllegalArgumentException naming the first offending entry
   * @throws UnsupportedOperationException if the backend does not track them
   */
  default void setRunningStatistics(List<NamedArray> values) {
    spec().validateRunningStatistics(values);
    if (!values.isEmpty()) {
      throw new UnsupportedOperationException(
          getClass().getName() + ": running statistics are not implemented");
    }
  }

  /**
   * Installs the hook through which this model's train-mode batch norms form their batch sums
   * ({@link BatchStatisticsReducer}), for every pass that follows (including the passes of
   * curvatures opened before) until another is installed; {@link BatchStatisticsReducer#LOCAL}
   * restores the single-machine behaviour. What data-parallel training with synchronised
   * batch-norm statistics needs from a backend.
   *
   * <p>The default refuses: a backend whose batch norm is a fused kernel (DJL's, TensorFlow's,
   * DL4J's) has no seam at its reductions. The reference backend implements it.
   *
   * @param reducer the hook, {@link BatchStatisticsReducer#LOCAL} for none
   * @throws UnsupportedOperationException naming the backend, if its batch norms have no such
   *     seam
   */
  default void setBatchStatisticsReducer(BatchStatisticsReducer reducer) {
    java.util.Objects.requireNonNull(reducer, "reducer");
    throw new UnsupportedOperationException(
        getClass().getName() + ": its batch norms are fused kernels with no seam at their batch"
            + " sums, so it cannot synchronise batch statistics across replicas"
            + " (setBatchStatisticsReducer); the reference backend can");
  }
}
