package io.github.sgdph.dl4j;

import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.curvature.CurvatureModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.Objects;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;

/**
 * The curvature interface of a user's own Deeplearning4j {@link MultiLayerNetwork}: exact
 * gradients, Hessian-, Jacobian- and Gauss-Newton-vector products by the adapter's per-layer
 * R-operator (Pearlmutter 1994; Schraudolph 2002), for sgdph's optimizers and analysis tools.
 * For a {@code ComputationGraph} (a residual network), see {@link Dl4jGraphModel}.
 *
 * <pre>{@code
 * MultiLayerNetwork net = ...;             // built with NeuralNetConfiguration, init() called
 * Dl4jNetworkModel model = Dl4jNetworkModel.of(net);
 * Optimizer sgdph = Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.05)));
 * for (DataSet batch : batches) {
 *   sgdph.step(model.objective(batch));    // updates net's parameters in place
 * }
 * }</pre>
 *
 * <p><b>What is computed.</b> The layers are read from the network's configuration (supported:
 * {@link UnsupportedLayerException#SUPPORTED}; anything else is that exception at
 * construction). The objective is the network's data loss as DL4J defines it, averaged over the
 * batch: DL4J's {@code MultiLayerNetwork} gradient is the batch <em>sum</em>, this one is the
 * <em>mean</em> (DL4J's score without regularisation). {@code MSE} is the mean over all
 * elements, {@code L2} and {@code XENT} sum over the outputs, {@code MCXENT} over the classes.
 * Regularisation configured on the network ({@code l1}, {@code l2}, {@code weightDecay}) is not
 * part of the objective (use the optimizer's {@code weight_decay}). Batch normalisation uses
 * batch statistics ({@link BatchNormMode#TRAIN}, the function DL4J's {@code fit} trains) or the
 * stored global statistics ({@link BatchNormMode#INFERENCE}); the global statistics change only
 * through {@link #updateBatchNormStatistics}. Jacobian-vector products are of the network outputs before a softmax
 * or sigmoid output activation (the logits), after any other.
 *
 * <p><b>Parameters.</b> The trainable parameters are the network's own {@code paramTable()}
 * views (batch-norm {@code mean}/{@code var} excluded), so updates land in the network. Blocks
 * are named by DL4J's keys ({@code 0_W}, {@code 0_b}, {@code 1_gamma}, an LSTM's {@code 2_W},
 * {@code 2_RW}, {@code 2_b}, ...) with DL4J's shapes, except that biases, {@code gamma} and
 * {@code beta} are 1-D ({@code [n]}), which makes them SGD-PH's channel-wise tensors. Changes through this model make older curvatures stale;
 * changes made to the network directly are not seen. Not thread-safe.
 */
public final class Dl4jNetworkModel implements CurvatureModel<DataSet> {

  /** Which statistics a batch normalisation uses. */
  public enum BatchNormMode {
    /** Batch statistics (biased variance), as DL4J in training. */
    TRAIN,
    /** The stored global mean and variance, as DL4J at inference. */
    INFERENCE
  }

  private final MultiLayerNetwork net;
  private final NetworkCore core;
  private final BatchNormMode batchNormMode;

  private Dl4jNetworkModel(MultiLayerNetwork net, BatchNormMode mode) {
    this.net = net;
    this.batchNormMode = mode;
    this.core = NetworkCore.ofUserNetwork(NetworkPlan.of(net, options(mode)));
  }

  /** How a user's network is read: DL4J's losses and weight layout, batch norm by the mode. */
  static NetworkPlan.Options options(BatchNormMode mode) {
    return new NetworkPlan.Options(id -> mode == BatchNormMode.TRAIN, false, false);
  }

  /**
   * The model of a network with batch normalisation in {@link BatchNormMode#TRAIN} mode.
   *
   * @param net an initialised {@code MultiLayerNetwork} in FLOAT or DOUBLE
   * @return the model
   * @throws UnsupportedLayerException naming a layer without an exact R-operator and listing
   *     the supported ones
   * @throws IllegalArgumentException for a network that is not initialised or of another dtype
   */
  public static Dl4jNetworkModel of(MultiLayerNetwork net) {
    return of(net, BatchNormMode.TRAIN);
  }

  /**
   * The model of a network.
   *
   * @param net an initialised {@code MultiLayerNetwork} in FLOAT or DOUBLE
   * @param batchNorm which statistics batch normalisations use
   * @return the model
   * @throws UnsupportedLayerException naming a layer without an exact R-operator and listing
   *     the supported ones
   * @throws IllegalArgumentException for a network that is not initialised or of another dtype
   */
  public static Dl4jNetworkModel of(MultiLayerNetwork net, BatchNormMode batchNorm) {
    Objects.requireNonNull(net, "net");
    Objects.requireNonNull(batchNorm, "batchNorm");
    return new Dl4jNetworkModel(net, batchNorm);
  }

  /**
   * The network whose parameters this model reads and updates.
   *
   * @return the network
   */
  public MultiLayerNetwork network() {
    return net;
  }

  /**
   * The batch-norm mode.
   *
   * @return which statistics batch normalisations use
   */
  public BatchNormMode batchNormMode() {
    return batchNormMode;
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

  /**
   * The mean loss on a DL4J batch (features and labels; no masks).
   *
   * @throws IllegalArgumentException naming the problem for a batch of the wrong shape, with
   *     masks, or with NaN/infinite values
   */
  @Override
  public Dl4jObjective objective(DataSet batch) {
    return core.objective(batch);
  }

  /**
   * The mean loss on features and labels (labels {@code [n, k]}, one-hot for softmax
   * cross-entropy). The arrays are converted to the network's data type.
   *
   * @param features the inputs, {@code [n, ...]} as the network takes them
   * @param labels the targets {@code [n, k]}
   * @return the objective
   * @throws IllegalArgumentException naming the problem for arrays of the wrong shape or with
   *     NaN/infinite values
   */
  public Dl4jObjective objective(INDArray features, INDArray labels) {
    return core.objective(features, labels);
  }

  /**
   * Folds the batch statistics of {@code batch} into every batch normalisation's global mean
   * and variance as DL4J's own {@code fit} does at each iteration
   * ({@code r ← decay·r + (1 − decay)·batch}, biased variance, DL4J's {@code log10stdev}
   * parameterisation when configured), so that the network predicts in inference mode after
   * training with sgdph. Call it once per step with the step's batch (or over the data after
   * training). Does nothing in {@link BatchNormMode#INFERENCE} mode. This is the update of a
   * user's network; {@link Dl4jObjective#updateRunningStatistics()} (PyTorch's convention, for
   * models of the spec) refuses on this model. The objective (batch statistics) does not
   * depend on the global statistics, so curvatures stay valid.
   *
   * @param batch a batch for this network
   * @return the number of batch normalisations updated
   * @throws IllegalArgumentException naming the problem for a batch that does not fit
   */
  public int updateBatchNormStatistics(DataSet batch) {
    return core.updateBatchNormStatistics(batch);
  }

  @Override
  public ParameterVector parameters() {
    return core.parameters();
  }

  @Override
  public void setParameters(ParameterVector values) {
    core.setParameters(values);
  }

  @Override
  public void applyUpdate(ParameterVector delta, double alpha) {
    core.applyUpdate(delta, alpha);
  }

  /** Releases nothing of the network (it stays usable); later use of this model throws. */
  @Override
  public void close() {
    core.close();
  }

  @Override
  public String toString() {
    return "Dl4jNetworkModel[" + core.layout.blockCount() + " blocks, "
        + core.algebra.dtype().jsonName() + ", batch norm " + batchNormMode + "]";
  }
}
