package io.github.sgdph.dl4j;

import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.param.ParameterBlock;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The state every kind of model shares: a {@link NetworkPlan}, the layout of its trainable
 * blocks with how each block's tensors map to the network's parameter arrays, a version counter
 * that makes older curvatures stale, and the forward pass.
 */
final class NetworkCore {

  /** How a block's tensor (in the layout's shape) maps to the network's parameter array. */
  enum Mapping {
    /** The same entries in row-major order (e.g. a bias {@code [n]} ↔ DL4J's {@code [1, n]}). */
    RESHAPE,
    /** A transpose: PyTorch's dense weight {@code [out, in]} ↔ DL4J's {@code [in, out]}. */
    TRANSPOSE,
    /**
     * An LSTM entry of the case format, {@code [4H, m]} ({@code weight_ih}, {@code weight_hh})
     * or {@code [4H]} (the bias) with the gates' row blocks in the order {@code i, f, g, o}, ↔
     * DL4J's {@code [m, 4H]} ({@code W}, {@code RW}) or {@code [1, 4H]} ({@code b}) with the
     * column blocks {@code g, f, o, i}: the blocks reordered and transposed.
     */
    LSTM_GATES
  }

  /** DL4J's column block {@code j} of an LSTM holds the case format's gate block {@code [j]}. */
  private static final int[] DL4J_GATE_FROM_SPEC = {2, 1, 3, 0};
  /** The case format's gate block {@code s} is DL4J's column block {@code [s]}. */
  private static final int[] SPEC_GATE_FROM_DL4J = {3, 1, 0, 2};

  /**
   * The gate blocks of {@code a}'s {@code [4H, m]} rows reordered: block {@code j} of the
   * result is block {@code from[j]} of {@code a} (a new array).
   */
  private static INDArray reorderGates(INDArray a, int[] from) {
    long rows = a.size(0);
    long m = a.size(1);
    // each gate block a row of [4, H·m]: one gather of whole rows, then back to [4H, m]
    INDArray blocks = a.dup('c').reshape('c', 4, rows / 4 * m);
    return Nd4j.pullRows(blocks, 1, from).reshape('c', rows, m);
  }

  /** One block: the plan's parameter and the mapping. */
  record Block(NetworkPlan.Param param, Mapping mapping) {}

  final NetworkPlan plan;
  final Nd4jAlgebra algebra;
  final ParameterLayout layout;
  final List<Block> blocks;
  private long version;
  private boolean closed;
  private RunningStatisticsTracker tracker;

  /** Folds an objective's batch statistics into tracked running statistics (spec models). */
  interface RunningStatisticsTracker {
    /**
     * {@link io.github.sgdph.curvature.Objective#updateRunningStatistics()} for the inputs
     * {@code x} of a batch.
     */
    void update(INDArray x);
  }

  /** The tracker of running statistics, or null (a user's network: none tracked by sgdph). */
  RunningStatisticsTracker runningStatisticsTracker() {
    return tracker;
  }

  void runningStatisticsTracker(RunningStatisticsTracker t) {
    this.tracker = t;
  }

  NetworkCore(NetworkPlan plan, ParameterLayout layout, List<Block> blocks) {
    if (layout.blockCount() != blocks.size()) {
      throw new IllegalStateException("layout and blocks differ");
    }
    this.plan = plan;
    this.algebra = Nd4jAlgebra.of(plan.dataType);
    this.layout = layout;
    this.blocks = List.copyOf(blocks);
  }

  /**
   * The core of a user's own network: blocks named by DL4J's keys ({@code 0_W},
   * {@code conv1_b}, ...) with DL4J's shapes, except that every parameter but a weight
   * ({@code W}, an LSTM's {@code RW}) is 1-D
   * ({@code [n]}: biases, batch-norm scale and shift), which makes them SGD-PH's channel-wise
   * tensors.
   */
  static NetworkCore ofUserNetwork(NetworkPlan plan) {
    List<ParameterBlock> layoutBlocks = new ArrayList<>();
    List<Block> blocks = new ArrayList<>();
    for (NetworkPlan.Param p : plan.params) {
      long[] s = p.view().shape();
      // the weights (a layer's W, an LSTM's recurrent RW) keep their matrix shape
      boolean vector = !p.name().equals("W") && !p.name().equals("RW");
      int[] shape = new int[vector ? 1 : s.length];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = Math.toIntExact(vector ? p.view().length() : s[i]);
      }
      layoutBlocks.add(ParameterBlock.of(p.key(), shape));
      blocks.add(new Block(p, Mapping.RESHAPE));
    }
    return new NetworkCore(plan, ParameterLayout.of(layoutBlocks), blocks);
  }

  Capabilities capabilities() {
    return Capabilities.exact(algebra.dtype());
  }

  long version() {
    return version;
  }

  void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("model: used after close()");
    }
  }

  void close() {
    closed = true;
  }

  // ------------------------------------------------------------------ block <-> network arrays

  /** A view (or reshaped copy) of a block-shaped array in the network's shape for block b. */
  INDArray toNetwork(int b, INDArray blockArray) {
    Block k = blocks.get(b);
    if (k.mapping == Mapping.TRANSPOSE) {
      return blockArray.transpose();
    }
    if (k.mapping == Mapping.LSTM_GATES) {
      INDArray rows = blockArray.rank() == 1 ? blockArray.reshape(blockArray.length(), 1)
          : blockArray;
      INDArray t = reorderGates(rows, DL4J_GATE_FROM_SPEC).transpose();
      long[] target = k.param.view().shape();
      // DL4J's LSTM bias view may be 1-D [4H] rather than [1, 4H]
      return Arrays.equals(t.shape(), target) ? t : t.reshape('c', target);
    }
    long[] target = k.param.view().shape();
    return Arrays.equals(blockArray.shape(), target) ? blockArray : blockArray.reshape('c', target);
  }

  /**
   * A new row-major block-shaped array (owned by the caller, in the current workspace if any)
   * from a network-shaped array of block b: one copy.
   */
  INDArray toBlock(int b, INDArray networkArray) {
    Block k = blocks.get(b);
    long[] shape = Nd4jAlgebra.toLong(layout.block(b).shape());
    if (k.mapping == Mapping.TRANSPOSE) {
      return networkArray.transpose().dup('c');
    }
    if (k.mapping == Mapping.LSTM_GATES) {
      // DL4J's LSTM bias view (and its gradient) may be 1-D [4H]: as a row [1, 4H]
      INDArray m = networkArray.rank() == 1
          ? networkArray.reshape(1, networkArray.length()) : networkArray;
      return reorderGates(m.transpose(), SPEC_GATE_FROM_DL4J).reshape('c', shape);
    }
    INDArray out = Nd4j.createUninitialized(networkArray.dataType(), shape, 'c');
    // the entries in row-major order, whatever the source's ordering (a reshape of a
    // column-major array would copy once more)
    return Arrays.equals(networkArray.shape(), shape)
        ? out.assign(networkArray)
        : out.assign(networkArray.reshape('c', shape));
  }

  /**
   * A tensor over block b holding a network-shaped array's values (null for zeros), out of any
   * workspace: the caller owns it. The values are copied once, straight out of the current
   * scope (not copied in it and then detached).
   */
  Nd4jTensor blockTensor(int b, INDArray networkArray) {
    int[] shape = layout.block(b).shape();
    try (MemoryWorkspace out = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
      INDArray a = networkArray == null
          ? Nd4j.zeros(plan.dataType, Nd4jAlgebra.toLong(shape))
          : toBlock(b, networkArray);
      return algebra.own(a, shape);
    }
  }

  /** The array of a tensor of this backend, checked. */
  INDArray arrayOf(Tensor t, String what) {
    if (!(t instanceof Nd4jTensor n)) {
      throw new IllegalArgumentException(
          what + ": a tensor of backend '" + (t == null ? "null" : t.algebra().backendName())
              + "' but this model is of backend '" + Dl4jBackend.NAME + "'");
    }
    if (n.algebra() != algebra) {
      throw new IllegalArgumentException(
          what + ": dtype " + n.dtype().jsonName() + " but the model computes in "
              + algebra.dtype().jsonName());
    }
    return n.array();
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

  /** A direction as network-shaped arrays per op and slot (null where zero). */
  INDArray[][] directionSlots(ParameterVector v, int[] idx, String what) {
    INDArray[][] out = new INDArray[plan.ops.size()][];
    for (int i = 0; i < idx.length; i++) {
      Block k = blocks.get(idx[i]);
      int op = k.param.op();
      if (out[op] == null) {
        out[op] = new INDArray[plan.ops.get(op).slots()];
      }
      out[op][k.param.slot()] = toNetwork(idx[i], arrayOf(v.block(i), what));
    }
    return out;
  }

  // ------------------------------------------------------------------ parameters

  ParameterVector parameters() {
    ensureOpen();
    Tensor[] t = new Tensor[blocks.size()];
    for (int b = 0; b < t.length; b++) {
      t[b] = blockTensor(b, blocks.get(b).param.view());
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
    INDArray[] fresh = new INDArray[blocks.size()];
    for (int b = 0; b < fresh.length; b++) {
      INDArray a = arrayOf(values.block(b), "values");
      if (!Nd4jArrays.allFinite(a)) {
        throw new IllegalArgumentException(
            "values: block '" + layout.block(b).name() + "' has a non-finite entry");
      }
      fresh[b] = toNetwork(b, a);
    }
    for (int b = 0; b < fresh.length; b++) {
      blocks.get(b).param.view().assign(fresh[b]);
    }
    version++;
  }

  void applyUpdate(ParameterVector delta, double alpha) {
    ensureOpen();
    try (MemoryWorkspace ws = Scratch.scope()) {
      INDArray[][] next = perturbed(delta, alpha, "delta");
      for (NetworkPlan.Param q : plan.params) {
        INDArray n = next[q.op()][q.slot()];
        if (n != q.view()) {
          q.view().assign(n);
        }
      }
    }
    version++;
  }

  /**
   * The parameter arrays per op and slot at {@code θ + alpha·d} (new arrays for the blocks of
   * {@code d}, the live views elsewhere) without changing the network.
   *
   * @throws IllegalArgumentException naming the block if {@code d}, {@code alpha} or the result
   *     is not finite
   */
  INDArray[][] perturbed(ParameterVector d, double alpha, String what) {
    Objects.requireNonNull(d, what);
    if (!Double.isFinite(alpha)) {
      throw new IllegalArgumentException("alpha: must be finite but was " + alpha);
    }
    int[] idx = rootIndices(d.layout(), what);
    INDArray[][] p = plan.liveParams();
    INDArray[] ds = new INDArray[idx.length];
    INDArray[] nexts = new INDArray[idx.length];
    for (int i = 0; i < idx.length; i++) {
      ds[i] = arrayOf(d.block(i), what);
      Block k = blocks.get(idx[i]);
      INDArray cur = k.param.view();
      INDArray next = cur.dup(cur.ordering());
      INDArray dn = toNetwork(idx[i], ds[i]);
      Nd4jArrays.exec(new Axpy(dn, next, next, alpha, next.length()));
      nexts[i] = next;
      p[k.param.op()][k.param.slot()] = next;
    }
    // The parameters are finite, so θ + alpha·d is finite only if d is (0·∞ is NaN): one check
    // of all the results; the cause and the block are told apart only when it fails.
    if (!Nd4jArrays.allFinite(nexts)) {
      for (int i = 0; i < idx.length; i++) {
        String name = layout.block(idx[i]).name();
        if (!Nd4jArrays.allFinite(ds[i])) {
          throw new IllegalArgumentException(
              what + ": block '" + name + "' has a non-finite entry (NaN or infinite)");
        }
        if (!Nd4jArrays.allFinite(nexts[i])) {
          throw new IllegalArgumentException(
              what + ": block '" + name + "' times alpha " + alpha
                  + " makes the parameters overflow to infinity");
        }
      }
    }
    return p;
  }

  // ------------------------------------------------------------------ passes

  /** A forward pass: the nodes of every op and the network outputs. */
  record Pass(Op.Node[] nodes, INDArray output) {}

  Pass forward(INDArray[][] params, INDArray x, boolean keep) {
    return forward(params, x, keep, false);
  }

  /**
   * A forward pass through the plan's ops in their topological order, in evaluation mode if
   * {@code eval} (every batch norm normalises with running statistics).
   */
  Pass forward(INDArray[][] params, INDArray x, boolean keep, boolean eval) {
    List<Op> ops = plan.ops;
    Op.Node[] nodes = new Op.Node[ops.size()];
    for (int i = 0; i < nodes.length; i++) {
      nodes[i] = ops.get(i).forwardInputs(plan.inputValues(i, x, nodes), params[i], keep, eval);
    }
    return new Pass(nodes, plan.output == NetworkPlan.INPUT ? x : nodes[plan.output].out());
  }

  /** The mean loss at the current parameters. */
  double loss(INDArray x, INDArray y) {
    try (MemoryWorkspace ws = Scratch.scope()) {
      Pass p = forward(plan.liveParams(), x, false);
      return plan.head.evaluate(p.output(), y).value;
    }
  }

  /** The mean loss at {@code θ + alpha·d}, without changing the parameters. */
  double lossAt(ParameterVector d, double alpha, INDArray x, INDArray y) {
    try (MemoryWorkspace ws = Scratch.scope()) {
      Pass p = forward(perturbed(d, alpha, "direction"), x, false);
      return plan.head.evaluate(p.output(), y).value;
    }
  }

  /**
   * Runs the first sample through the network to check that the network takes inputs of this
   * shape and that its outputs have as many columns as the labels.
   *
   * @throws IllegalArgumentException naming {@code features} or {@code labels} otherwise
   */
  void checkShapes(INDArray x, INDArray y) {
    long[] out;
    try (MemoryWorkspace ws = Scratch.scope()) {
      INDArray first = Nd4jArrays.rows(x, new int[] {0});
      out = forward(plan.liveParams(), first, false).output().shape();
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "features: the network cannot take inputs of shape " + Arrays.toString(x.shape())
              + " (" + e.getMessage() + ")", e);
    }
    if (out.length != y.rank() || out[1] != y.size(1) || (out.length == 3 && out[2] != y.size(2))) {
      throw new IllegalArgumentException(
          "labels: shape " + Arrays.toString(y.shape()) + " but the network outputs "
              + Arrays.toString(Arrays.copyOfRange(out, 1, out.length)) + " per sample");
    }
  }

  // ------------------------------------------------------------------ a user's network

  /** {@link Dl4jNetworkModel#objective(DataSet)} and {@link Dl4jGraphModel#objective(DataSet)}. */
  Dl4jObjective objective(DataSet batch) {
    Objects.requireNonNull(batch, "batch");
    if (batch.getFeaturesMaskArray() != null || batch.getLabelsMaskArray() != null) {
      throw new IllegalArgumentException("batch: masks are not supported");
    }
    return objective(batch.getFeatures(), batch.getLabels());
  }

  /**
   * The objective of a user's network on features and labels, converted to the network's data
   * type and checked: the features' per-sample shape as far as the configuration says, the
   * labels {@code [n, k]}, finite values, and one sample through the network.
   *
   * @throws IllegalArgumentException naming {@code features} or {@code labels}
   */
  Dl4jObjective objective(INDArray features, INDArray labels) {
    ensureOpen();
    Objects.requireNonNull(features, "features");
    Objects.requireNonNull(labels, "labels");
    INDArray x = features.dataType() == plan.dataType ? features : features.castTo(plan.dataType);
    INDArray y = labels.dataType() == plan.dataType ? labels : labels.castTo(plan.dataType);
    long n = x.size(0);
    long[] in = plan.inputSample;
    if (in != null) {
      boolean ok = x.rank() == in.length + 1;
      for (int i = 0; ok && i < in.length; i++) {
        ok = in[i] < 0 || in[i] == x.size(i + 1);
      }
      if (!ok) {
        throw new IllegalArgumentException(
            "features: shape " + Arrays.toString(x.shape()) + " but the network takes [n, "
                + Arrays.toString(in).replaceAll("[\\[\\]]", "").replace("-1", "?") + "]");
      }
    }
    if (n == 0) {
      throw new IllegalArgumentException("features: the batch is empty");
    }
    long k = plan.outputSize;
    // a sequence head (RnnOutputLayer) takes a target per time step: [n, k, T]
    boolean seq = plan.head.sequence;
    long steps = seq && x.rank() == 3 ? x.size(2) : -1;
    if (y.rank() != (seq ? 3 : 2) || y.size(0) != n || (k > 0 && y.size(1) != k)
        || (steps > 0 && y.size(2) != steps)) {
      throw new IllegalArgumentException(
          "labels: shape " + Arrays.toString(y.shape()) + " but the network needs [" + n + ", "
              + (k > 0 ? k : "k") + (seq ? ", " + (steps > 0 ? steps : "T") : "") + "]");
    }
    if (!Nd4jArrays.allFinite(x)) {
      throw new IllegalArgumentException("features: contain NaN or infinite values");
    }
    if (!Nd4jArrays.allFinite(y)) {
      throw new IllegalArgumentException("labels: contain NaN or infinite values");
    }
    checkShapes(x, y);
    return new Dl4jObjective(this, x, y);
  }

  /**
   * DL4J's own update of every batch norm's global statistics from the batch statistics of
   * {@code batch} ({@link Dl4jNetworkModel#updateBatchNormStatistics}).
   *
   * @return the number of batch normalisations updated
   */
  int updateBatchNormStatistics(DataSet batch) {
    Dl4jObjective o = objective(batch);
    int updated = 0;
    try (MemoryWorkspace ws = Scratch.scope()) {
      Pass pass = forward(plan.liveParams(), o.features(), false);
      for (int i = 0; i < pass.nodes().length; i++) {
        if (plan.ops.get(i) instanceof BatchNormOp b
            && b.updateRunningStatistics(pass.nodes()[i])) {
          updated++;
        }
      }
    }
    return updated;
  }

  /** The names of the blocks, for messages. */
  String blockNames() {
    return layout.blocks().stream().map(ParameterBlock::name).toList().toString();
  }
}
