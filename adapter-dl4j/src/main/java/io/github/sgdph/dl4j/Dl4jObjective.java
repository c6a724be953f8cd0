package io.github.sgdph.dl4j;

import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The mean loss of a Deeplearning4j network on one validated batch (inputs and targets as
 * ND4J arrays of the network's data type). {@link #curvature()} does one forward pass and keeps
 * what the gradient and the products need; {@link #loss()} and {@link #lossAt} are forward
 * passes only; {@link #perTermGradients()} is one forward pass of the whole batch and one
 * backward pass per sample ({@link io.github.sgdph.curvature.Curvature#perTermGradients()}).
 * Not thread-safe.
 */
public final class Dl4jObjective implements Objective {
  private final NetworkCore core;
  private final INDArray x;
  private final INDArray y;

  Dl4jObjective(NetworkCore core, INDArray x, INDArray y) {
    this.core = core;
    this.x = x;
    this.y = y;
  }

  /**
   * The inputs of the batch.
   *
   * @return the array (do not modify it)
   */
  public INDArray features() {
    return x;
  }

  /**
   * The targets of the batch ({@code [n, k]}; one-hot rows for softmax cross-entropy).
   *
   * @return the array (do not modify it)
   */
  public INDArray labels() {
    return y;
  }

  @Override
  public ParameterLayout layout() {
    return core.layout;
  }

  @Override
  public Nd4jAlgebra algebra() {
    return core.algebra;
  }

  @Override
  public Capabilities capabilities() {
    return core.capabilities();
  }

  @Override
  public int batchSize() {
    return (int) x.size(0);
  }

  @Override
  public Dl4jCurvature curvature() {
    core.ensureOpen();
    return new Dl4jCurvature(core, x, y);
  }

  @Override
  public double loss() {
    core.ensureOpen();
    return core.loss(x, y);
  }

  @Override
  public double lossAt(ParameterVector direction, double alpha) {
    core.ensureOpen();
    return core.lossAt(direction, alpha, x, y);
  }

  @Override
  public void applyUpdate(ParameterVector delta, double alpha) {
    core.applyUpdate(delta, alpha);
  }

  @Override
  public ParameterVector parameters() {
    return core.parameters();
  }

  /**
   * The gradient of each sample evaluated alone, as a one-sample batch ({@link #subBatch}): a
   * forward and a backward pass per sample. Equal to the {@linkplain #perTermGradients()
   * per-term gradients} for networks whose samples do not interact.
   *
   * <p>With train-mode batch norm this is a different function of the parameters, computed as
   * such (no exception, as the reference backend): a lone sample is normalised with its own
   * statistics (variance 0, so {@code (0 + eps)^{-1/2}} scales a zero deviation). Over
   * {@code [n, F]} inputs (a batch norm after a dense layer) the normalised value is then
   * exactly 0 and the output of the batch norm its shift {@code β} whatever the input, so every
   * parameter before the batch norm, and its scale {@code γ}, gets a gradient of exactly zero;
   * over images the statistics are those of the sample's own pixels, per channel. For the
   * quantity that averages to the batch gradient, use {@link #perTermGradients()}.
   *
   * @return {@link #batchSize()} new vectors over {@link #layout()}, in sample order; the
   *     caller closes them
   */
  @Override
  public List<ParameterVector> isolatedSampleGradients() {
    return Objective.super.isolatedSampleGradients();
  }

  /**
   * {@inheritDoc}
   *
   * <p>On a {@link Dl4jSpecModel}: one forward pass at the current parameters that keeps nothing
   * for a backward pass (the objective keeps no forward pass between calls), whose batch
   * statistics are folded into the network's {@code mean} and {@code var} parameters. On a
   * {@link Dl4jNetworkModel} or {@link Dl4jGraphModel} (a user's network) this refuses; use
   * their {@code updateBatchNormStatistics}, which follows DL4J's own convention.
   *
   * @throws UnsupportedOperationException on a user's network
   */
  @Override
  public void updateRunningStatistics() {
    core.ensureOpen();
    NetworkCore.RunningStatisticsTracker t = core.runningStatisticsTracker();
    if (t == null) {
      Objective.super.updateRunningStatistics();
      return;
    }
    t.update(x);
  }

  @Override
  public Dl4jObjective subBatch(int... indices) {
    core.ensureOpen();
    io.github.sgdph.curvature.SpiChecks.subBatchIndices(indices, batchSize());
    return new Dl4jObjective(core, Nd4jArrays.rows(x, indices), Nd4jArrays.rows(y, indices));
  }

  @Override
  public String toString() {
    return "Dl4jObjective[x" + java.util.Arrays.toString(x.shape()) + ", y"
        + java.util.Arrays.toString(y.shape()) + "]";
  }
}
