package io.github.sgdph.dl4j;

import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.curvature.CurvatureModel;
import io.github.sgdph.dl4j.Dl4jNetworkModel.BatchNormMode;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.Objects;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;

/**
 * The curvature interface of a user's own Deeplearning4j {@link ComputationGraph} — a residual
 * network, say (He, Zhang, Ren, Sun, "Deep residual learning for image recognition", CVPR 2016):
 * exact gradients, Hessian-, Jacobian- and Gauss-Newton-vector products by the adapter's
 * per-layer R-operator (Pearlmutter 1994; Schraudolph 2002) run over the graph, for sgdph's
 * optimizers and analysis tools. The {@code ComputationGraph} counterpart of
 * {@link Dl4jNetworkModel}, with the same semantics.
 *
 * <pre>{@code
 * ComputationGraph graph = ...;           // built with graphBuilder(), init() called
 * Dl4jGraphModel model = Dl4jGraphModel.of(graph);
 * Optimizer sgdph = Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.05)));
 * for (DataSet batch : batches) {
 *   sgdph.step(model.objective(batch));    // updates the graph's parameters in place
 * }
 * }</pre>
 *
 * <p><b>What is read.</b> A graph of one input and one output. Its vertices, in DL4J's
 * topological order: {@code LayerVertex}es of the layers a {@code MultiLayerNetwork} may have
 * (with their pre-processors), {@code ElementWiseVertex} with {@code Add} (a residual merge),
 * {@code MergeVertex} (concatenation along dimension 1: features, or channels of NCHW) and
 * {@code PreprocessorVertex}es; the output vertex is an {@code OutputLayer} or {@code LossLayer}
 * read by no other vertex ({@link UnsupportedLayerException#SUPPORTED}; anything else is that
 * exception, naming the vertex, at construction). An activation read by several vertices (the
 * input of a block and of its shortcut) gets the sum of their gradients, and so does every
 * R-derivative of a gradient; an {@code Add} of one array twice counts it twice.
 *
 * <p><b>What is computed</b> is what {@link Dl4jNetworkModel} computes: DL4J's data loss averaged
 * over the batch, batch normalisation with batch statistics ({@link BatchNormMode#TRAIN}) or the
 * stored global ones ({@link BatchNormMode#INFERENCE}), Jacobian-vector products of the logits
 * before a softmax or sigmoid output activation.
 *
 * <p><b>Parameters.</b> The graph's own {@code paramTable()} views (batch-norm
 * {@code mean}/{@code var} excluded), so updates land in the graph. Blocks are named by DL4J's
 * keys, {@code <vertex>_<parameter>} ({@code conv1_W}, {@code bn1_gamma}, {@code fc_b}, ...),
 * with DL4J's shapes, except that biases, {@code gamma} and {@code beta} are 1-D ({@code [n]}),
 * which makes them SGD-PH's channel-wise tensors, every batch norm's among them, those on
 * shortcut branches included. Blocks come in the graph's topological order. Changes through
 * this model make older curvatures stale; changes made to the graph directly are not seen. Not
 * thread-safe.
 */
public final class Dl4jGraphModel implements CurvatureModel<DataSet> {
  private final ComputationGraph graph;
  private final NetworkCore core;
  private final BatchNormMode batchNormMode;

  private Dl4jGraphModel(ComputationGraph graph, BatchNormMode mode) {
    this.graph = graph;
    this.batchNormMode = mode;
    this.core = NetworkCore.ofUserNetwork(
        NetworkPlan.of(graph, Dl4jNetworkModel.options(mode)));
  }

  /**
   * The model of a graph with batch normalisation in {@link BatchNormMode#TRAIN} mode.
   *
   * @param graph an initialised {@code ComputationGraph} in FLOAT or DOUBLE, of one input and
   *     one output
   * @return the model
   * @throws UnsupportedLayerException naming a vertex without an exact R-operator and listing
   *     the supported ones
   * @throws IllegalArgumentException for a graph that is not initialised or of another dtype
   */
  public static Dl4jGraphModel of(ComputationGraph graph) {
    return of(graph, BatchNormMode.TRAIN);
  }

  /**
   * The model of a graph.
   *
   * @param graph an initialised {@code ComputationGraph} in FLOAT or DOUBLE, of one input and
   *     one output
   * @param batchNorm which statistics batch normalisations use
   * @return the model
   * @throws UnsupportedLayerException naming a vertex without an exact R-operator and listing
   *     the supported ones
   * @throws IllegalArgumentException for a graph that is not initialised or of another dtype
   */
  public static Dl4jGraphModel of(ComputationGraph graph, BatchNormMode batchNorm) {
    Objects.requireNonNull(graph, "graph");
    Objects.requireNonNull(batchNorm, "batchNorm");
    return new Dl4jGraphModel(graph, batchNorm);
  }

  /**
   * The graph whose parameters this model reads and updates.
   *
   * @return the graph
   */
  public ComputationGraph graph() {
    return graph;
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
   * cross-entropy). The arrays are converted to the graph's data type.
   *
   * @param features the inputs, {@code [n, ...]} as the graph's input takes them
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
   * and variance as DL4J's own {@code fit} does ({@link
   * Dl4jNetworkModel#updateBatchNormStatistics}). Does nothing in
   * {@link BatchNormMode#INFERENCE} mode.
   *
   * @param batch a batch for this graph
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

  /** Releases nothing of the graph (it stays usable); later use of this model throws. */
  @Override
  public void close() {
    core.close();
  }

  @Override
  public String toString() {
    return "Dl4jGraphModel[" + core.layout.blockCount() + " blocks, "
        + core.algebra.dtype().jsonName() + ", batch norm " + batchNormMode + "]";
  }
}
