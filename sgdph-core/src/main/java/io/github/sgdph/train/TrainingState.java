package io.github.sgdph.train;

import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.optim.OptimizerState;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.Objects;

/**
 * Everything a {@link Training} run needs to continue exactly where it stopped: the model's
 * parameters and running statistics, the optimizer's state, the position in the data (the
 * epoch's order is a function of the seed and the epoch, {@link io.github.sgdph.data.EpochOrder},
 * so the position is two counters) and the current epoch's partial training loss. The file
 * format is the {@code sgdph-io} module's; this record is its content.
 *
 * @param spec the model's spec
 * @param backend the backend the run trains on ({@code TensorAlgebra.backendName()})
 * @param dtype the model's dtype
 * @param seed the run's seed (data order)
 * @param batchSize samples per mini-batch
 * @param trainingSize the number of training samples
 * @param epoch the 0-based epoch the next step belongs to
 * @param batch the 0-based mini-batch of {@code epoch} the next step takes
 * @param step the number of steps taken
 * @param epochLossSum the sum of the current epoch's mini-batch losses so far
 * @param parameters every parameter entry ({@code SpecModel.exportParameters()})
 * @param runningStatistics the tracked running statistics ({@code SpecModel.runningStatistics()})
 * @param optimizer the optimizer's state ({@code Optimizer.saveState()})
 */
public record TrainingState(
    ModelSpec spec,
    String backend,
    DType dtype,
    long seed,
    int batchSize,
    int trainingSize,
    int epoch,
    int batch,
    long step,
    double epochLossSum,
    List<NamedArray> parameters,
    List<NamedArray> runningStatistics,
    OptimizerState optimizer) {

  /**
   * Validates the fields.
   *
   * @param spec the model's spec
   * @param backend the backend's name
   * @param dtype the model's dtype
   * @param seed the run's seed
   * @param batchSize samples per mini-batch, positive
   * @param trainingSize training samples, positive
   * @param epoch the next step's epoch, non-negative
   * @param batch the next step's mini-batch, non-negative
   * @param step the steps taken, non-negative
   * @param epochLossSum the current epoch's loss sum, finite
   * @param parameters every parameter entry of {@code spec}
   * @param runningStatistics the running statistics of {@code spec}
   * @param optimizer the optimizer's state
   * @throws IllegalArgumentException naming the first field out of range
   * @throws NullPointerException naming a missing field
   */
  public TrainingState {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(backend, "backend");
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(optimizer, "optimizer");
    parameters = List.copyOf(Objects.requireNonNull(parameters, "parameters"));
    runningStatistics = List.copyOf(Objects.requireNonNull(runningStatistics, "runningStatistics"));
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize: must be positive but was " + batchSize);
    }
    if (trainingSize < 1) {
      throw new IllegalArgumentException(
          "trainingSize: must be positive but was " + trainingSize);
    }
    if (epoch < 0 || batch < 0 || step < 0) {
      throw new IllegalArgumentException(
          "epoch, batch, step: must be non-negative but are " + epoch + ", " + batch + ", "
              + step);
    }
    if (!Double.isFinite(epochLossSum)) {
      throw new IllegalArgumentException("epochLossSum: must be finite but was " + epochLossSum);
    }
    spec.validateParameters(parameters);
    spec.validateRunningStatistics(runningStatistics);
  }
}
