package io.github.sgdph.djl;

import ai.djl.Device;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The shared core of the adapter's two curvature models: a DJL {@link Block}, its trainable
 * parameters in layout order, its running statistics, a loss, and the version counter that makes
 * old curvatures stale. {@link BlockCurvatureModel} (a user's block) and {@link DjlSpecModel} (a
 * block built from the neutral spec) delegate to it.
 *
 * <p>Forward passes never touch the parameter arrays' autograd state: they read the parameters
 * through a {@link ParameterStore} that substitutes leaf aliases (curvatures), perturbed copies
 * ({@code lossAt}) or nothing ({@code loss}). Updates are in place under no-grad, so a DJL
 * {@code Trainer} sharing the arrays sees them.
 */
// try-with-resources guards (NDScope, grad mode) are used for their scope only
@SuppressWarnings("try")
final class BlockNetwork {
  final Block block;
  final DjlAlgebra algebra;
  final ParameterLayout layout;
  final Parameter[] trainable;
  final Parameter[] runningStats;
  final OutputLoss loss;
  final boolean training;
  /** Whether each objective advances the running statistics at most once (user models). */
  final boolean advanceStatsOncePerObjective;
  final boolean ownsAlgebra;
  private final AtomicLong version = new AtomicLong();
  private volatile GradientGraph gradientGraph;
  private volatile RunningStatisticsTracker tracker;
  /** What {@link GradientGraph#ADAPTIVE} stands for now: the graph of the latest product. */
  private volatile GradientGraph learnedGraph = GradientGraph.PLAIN;
  /** Whether the block's batch norms may run fused (spec models in float32, train mode). */
  private volatile boolean fusableBatchNorm;
  private volatile boolean closed;
  /** The spec of a spec model (its Kronecker-factor SPI), or null for a user's block. */
  private volatile ModelSpec spec;

  /** Folds an objective's batch statistics into tracked running statistics (spec models). */
  interface RunningStatisticsTracker {
    /**
     * {@link io.github.sgdph.curvature.Objective#updateRunningStatistics()} for a batch.
     *
     * @param batch the objective's batch
     */
    void update(BatchSource batch);
  }

  BlockNetwork(
      Block block,
      DjlAlgebra algebra,
      boolean ownsAlgebra,
      ParameterLayout layout,
      List<Parameter> trainable,
      List<Parameter> runningStats,
      OutputLoss loss,
      boolean training,
      boolean advanceStatsOncePerObjective,
      GradientGraph gradientGraph) {
    this.block = block;
    this.algebra = algebra;
    this.ownsAlgebra = ownsAlgebra;
    this.layout = layout;
    this.trainable = trainable.toArray(Parameter[]::new);
    this.runningStats = runningStats.toArray(Parameter[]::new);
    this.loss = loss;
    this.training = training;
    this.advanceStatsOncePerObjective = advanceStatsOncePerObjective;
    this.gradientGraph = gradientGraph;
    if (this.trainable.length != layout.blockCount()) {
      throw new IllegalStateException("djl: " + this.trainable.length + " parameters for " + layout);
    }
  }

  long version() {
    return version.get();
  }

  GradientGraph gradientGraph() {
    return gradientGraph;
  }

  void gradientGraph(GradientGraph g) {
    this.gradientGraph = Objects.requireNonNull(g, "gradientGraph");
  }

  /** The tracker of running statistics, or null (a user's block: none tracked by sgdph). */
  RunningStatisticsTracker runningStatisticsTracker() {
    return tracker;
  }

  void runningStatisticsTracker(RunningStatisticsTracker t) {
    this.tracker = t;
  }

  /** The spec of a spec model, or null for a user's own block. */
  ModelSpec spec() {
    return spec;
  }

  void spec(ModelSpec s) {
    this.spec = s;
  }

  boolean fusableBatchNorm() {
    return fusableBatchNorm;
  }

  void fusableBatchNorm(boolean fusable) {
    this.fusableBatchNorm = fusable;
  }

  /** The graph a new curvature's gradient builds: the setting, {@code ADAPTIVE} resolved. */
  GradientGraph effectiveGradientGraph() {
    GradientGraph g = gradientGraph;
    return g == GradientGraph.ADAPTIVE ? learnedGraph : g;
  }

  /**
   * A curvature was asked for a product that differentiates {@code graph} ({@code HESSIAN} or
   * {@code GAUSS_NEWTON}): with {@code ADAPTIVE}, later gradients build it.
   */
  void productAsked(GradientGraph graph) {
    learnedGraph = graph;
  }

  Device device() {
    return algebra.device();
  }

  DataType dataType() {
    return algebra.dataType();
  }

  void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("model: used after close()");
    }
  }

  void close() {
    closed = true;
    if (ownsAlgebra) {
      algebra.close();
    }
  }

  private Map<Parameter, NDArray> substitutes(NDList arrays) {
    Map<Parameter, NDArray> m = new IdentityHashMap<>();
    for (int i = 0; i < trainable.length; i++) {
      m.put(trainable[i], arrays.get(i));
    }
    return m;
  }

  /**
   * The forward pass of the block on {@code data} with the trainable parameters replaced by
   * {@code values} (by trainable index), under the running-statistics rule: for a user's model
   * the first forward pass of an objective may advance the block's running statistics (as one
   * step of a DJL training loop does) and later ones run on copies of them, so they stay as they
   * were; a spec model's train-mode batch norms always advance theirs (the spec does not list
   * them) and its eval-mode ones never change them. (Statistics are never restored in place
   * afterwards: an eval-mode batch norm's graph holds them.)
   *
   * @throws IllegalArgumentException if the block rejects the batch
   */
  NDList forward(NDManager manager, NDList values, NDList data, DjlObjective owner) {
    return forward(manager, values, data, owner, false);
  }

  /**
   * The forward pass with these parameter values; {@code fusedBatchNorm}: the spec's train-mode
   * batch norms run as PyTorch's fused kernel where {@link #fusableBatchNorm()} (same function,
   * other rounding; see {@code SpecBlocks.ExactBatchNorm}).
   */
  NDList forward(NDManager manager, NDList values, NDList data, DjlObjective owner,
      boolean fusedBatchNorm) {
    return forward(manager, values, data, owner, training, null, null, fusedBatchNorm);
  }

  /**
   * {@link #forward(NDManager, NDList, NDList, DjlObjective)} with the block's {@code training}
   * flag given ({@code false}: evaluation mode, no running statistics advanced) and, for a spec
   * model's batch norms, a sink for the batch statistics of the pass (or null); never fused.
   *
   * @param owner the objective (may be null for an evaluation-mode pass)
   */
  NDList forward(
      NDManager manager, NDList values, NDList data, DjlObjective owner, boolean trainingPass,
      SpecBlocks.BatchStatisticsSink sink) {
    return forward(manager, values, data, owner, trainingPass, sink, null, false);
  }

  /**
   * The forward pass of a spec model with these parameter values, the block's {@code training}
   * flag, never fused, its dense and convolution layers' inputs and outputs handed to {@code tap}
   * (the Kronecker-factor SPI's pass).
   */
  NDList forward(
      NDManager manager, NDList values, NDList data, DjlObjective owner, SpecBlocks.LayerTap tap) {
    return forward(manager, values, data, owner, training, null, Objects.requireNonNull(tap),
        false);
  }

  /**
   * The forward pass with these parameter values, the block's {@code training} flag given, a
   * sink for a spec model's batch statistics (or null), and {@code fusedBatchNorm}: the spec's
   * train-mode batch norms run as PyTorch's fused kernel where {@link #fusableBatchNorm()} (same
   * function, other rounding; see {@code SpecBlocks.ExactBatchNorm}) in a training pass without
   * a sink. The fused kernel gets throwaway running statistics, so no pass changes the tracked
   * ones, fused or not.
   */
  private NDList forward(
      NDManager manager, NDList values, NDList data, DjlObjective owner, boolean trainingPass,
      SpecBlocks.BatchStatisticsSink sink, SpecBlocks.LayerTap tap, boolean fusedBatchNorm) {
    Map<Parameter, NDArray> m = substitutes(values);
    if (trainingPass && runningStats.length > 0 && advanceStatsOncePerObjective
        && (owner == null || !owner.claimRunningStatsUpdate())) {
      try (PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
        for (Parameter p : runningStats) {
          m.put(p, p.getArray().duplicate());
        }
      }
    }
    try {
      boolean fused = fusedBatchNorm && fusableBatchNorm && trainingPass && sink == null;
      ParameterStore store =
          tap != null
              ? new TapStore(manager, m, tap)
              : sink == null
                  ? new SubstituteStore(manager, m, fused)
                  : new RecordingStore(manager, m, sink);
      return block.forward(store, data, trainingPass);
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().startsWith("batch")) {
        throw e;
      }
      throw new IllegalArgumentException(
          "batch: the block's forward pass failed on this batch: " + e.getMessage(), e);
    } catch (EngineException | IllegalStateException | UnsupportedOperationException e) {
      throw new IllegalArgumentException(
          "batch: the block's forward pass failed on this batch: " + e.getMessage(), e);
    }
  }

  // ------------------------------------------------------------------- parameters

  ParameterVector parameters() {
    ensureOpen();
    DjlTensor[] t = new DjlTensor[trainable.length];
    try (PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
      for (int i = 0; i < t.length; i++) {
        t[i] = algebra.adopt(trainable[i].getArray().duplicate());
      }
    }
    return ParameterVector.of(layout, t);
  }

  void setParameters(ParameterVector values) {
    ensureOpen();
    Objects.requireNonNull(values, "values");
    if (!values.layout().sameBlocksAs(layout)) {
      throw new IllegalArgumentException(
          "values: layout " + values.layout() + " differs from the model's " + layout);
    }
    try (NDScope scope = new NDScope();
        PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
      NDArray[] fresh = new NDArray[trainable.length];
      for (int i = 0; i < fresh.length; i++) {
        fresh[i] = array(values.block(i), trainable[i].getArray().getShape(),
            "values", layout.block(i).name());
        if (!DjlTensor.allFinite(fresh[i])) {
          throw new IllegalArgumentException(
              "values: block '" + layout.block(i).name() + "' has a non-finite entry");
        }
      }
      for (int i = 0; i < fresh.length; i++) {
        trainable[i].getArray().muli(0).addi(fresh[i]);
      }
    }
    version.incrementAndGet();
  }

  void applyUpdate(ParameterVector delta, double alpha, String what) {
    ensureOpen();
    Objects.requireNonNull(delta, what);
    if (!Double.isFinite(alpha)) {
      throw new IllegalArgumentException("alpha: must be finite but was " + alpha);
    }
    int[] idx = rootIndices(delta.layout(), what);
    try (NDScope scope = new NDScope();
        PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
      NDArray[] step = perturbations(delta, alpha, idx, what);
      for (int i = 0; i < idx.length; i++) {
        trainable[idx[i]].getArray().addi(step[i]);
      }
    }
    version.incrementAndGet();
  }

  /**
   * {@code alpha·d} per block of {@code d}, checked: {@code d} finite and {@code θ + alpha·d}
   * finite (created in the current scope).
   *
   * @throws IllegalArgumentException naming the block otherwise
   */
  NDArray[] perturbations(ParameterVector d, double alpha, int[] idx, String what) {
    NDArray[] step = new NDArray[idx.length];
    NDArray[] ds = new NDArray[idx.length];
    NDArray[] next = new NDArray[idx.length];
    for (int i = 0; i < idx.length; i++) {
      String name = layout.block(idx[i]).name();
      NDArray p = trainable[idx[i]].getArray();
      ds[i] = array(d.block(i), p.getShape(), what, name);
      step[i] = ds[i].mul(alpha);
      next[i] = p.add(step[i]);
    }
    // The parameters are finite, so θ + alpha·d is finite only if d is (0·∞ is NaN): one check
    // of all blocks (one host read); the block and the cause are told apart only on failure.
    if (!DjlTensor.allFinite(next)) {
      for (int i = 0; i < idx.length; i++) {
        String name = layout.block(idx[i]).name();
        if (!DjlTensor.allFinite(ds[i])) {
          throw new IllegalArgumentException(
              what + ": block '" + name + "' has a non-finite entry (NaN or infinite)");
        }
        if (!DjlTensor.allFinite(next[i])) {
          throw new IllegalArgumentException(
              what + ": block '" + name + "' times alpha " + alpha
                  + " makes the parameters overflow to infinity");
        }
      }
    }
    return step;
  }

  /**
   * The root block index of each block of {@code sub}.
   *
   * @throws IllegalArgumentException naming {@code what} unless {@code sub} is the model's
   *     layout or a selection of it
   */
  int[] rootIndices(ParameterLayout sub, String what) {
    return io.github.sgdph.curvature.SpiChecks.rootIndices(sub, layout, what);
  }

  /**
   * The values of a tensor as an array of this network's data type and device in
   * {@code shape}: the tensor's own array (or a reshaped view) for a djl tensor, else a
   * conversion (created in the current scope).
   */
  NDArray array(Tensor t, Shape shape, String what, String block) {
    Objects.requireNonNull(t, what + "." + block);
    if (t.size() != shape.size()) {
      throw new IllegalArgumentException(
          what + ": block '" + block + "' has " + t.size() + " entries but the parameter has "
              + shape.size());
    }
    if (t instanceof DjlTensor dt && dt.array().getDataType() == dataType()
        && dt.array().getDevice().equals(device())) {
      return DjlTensor.inShape(dt.array(), shape);
    }
    return DjlAlgebra.upload(algebra.manager(), t.toDoubleArray(), shape, dataType());
  }

  /** Reads the block's parameters through substitute arrays. */
  static class SubstituteStore extends ParameterStore {
    private final Map<Parameter, NDArray> values;
    private final boolean fusedBatchNorm;

    SubstituteStore(NDManager manager, Map<Parameter, NDArray> values, boolean fusedBatchNorm) {
      super(manager, false);
      this.values = values;
      this.fusedBatchNorm = fusedBatchNorm;
    }

    /** Whether the spec's train-mode batch norms may run fused in this pass. */
    boolean fusedBatchNorm() {
      return fusedBatchNorm;
    }

    @Override
    public NDArray getValue(Parameter parameter, Device device, boolean training) {
      if (parameter == null) {
        return null;
      }
      NDArray a = values.get(parameter);
      if (a == null) {
        a = parameter.getArray();
      }
      if (!a.getDevice().equals(device)) {
        throw new IllegalArgumentException(
            "batch: on " + device + " but the parameter '" + parameter.getName() + "' is on "
                + a.getDevice());
      }
      return a;
    }
  }

  /** A {@link SubstituteStore} that hands dense and convolution layers' arrays to a tap. */
  private static final class TapStore extends SubstituteStore implements SpecBlocks.LayerTap {
    private final SpecBlocks.LayerTap tap;

    TapStore(NDManager manager, Map<Parameter, NDArray> values, SpecBlocks.LayerTap tap) {
      super(manager, values, false);
      this.tap = tap;
    }

    @Override
    public NDArray tap(int layer, NDArray input, NDArray output) {
      return tap.tap(layer, input, output);
    }
  }

  /** A {@link SubstituteStore} that hands batch-norm statistics to a sink. */
  private static final class RecordingStore extends SubstituteStore
      implements SpecBlocks.BatchStatisticsSink {
    private final SpecBlocks.BatchStatisticsSink sink;

    RecordingStore(
        NDManager manager, Map<Parameter, NDArray> values, SpecBlocks.BatchStatisticsSink sink) {
      super(manager, values, false);
      this.sink = sink;
    }

    @Override
    public void batchStatistics(
        SpecBlocks.ExactBatchNorm bn, NDArray mean, NDArray variance, long count) {
      sink.batchStatistics(bn, mean, variance, count);
    }
  }
}
