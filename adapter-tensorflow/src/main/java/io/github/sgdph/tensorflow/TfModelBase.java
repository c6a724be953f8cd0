package io.github.sgdph.tensorflow;

import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.curvature.CurvatureModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.tensorflow.Graph;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;

/**
 * What the spec model and the user-graph model share: the graph with its product subgraphs
 * ({@link CurvatureGraph}), one {@link Session}, the current parameters as {@link TfTensor}s in
 * PyTorch layout, and a version counter that makes older curvatures stale.
 *
 * <p>Every {@code Session.run} feeds the parameter tensors, the batch tensors and (for a
 * product) the direction's tensors as they are, and adopts the fetched tensors without a copy.
 * Updates build the new parameter tensors first and swap them in only when every block is
 * finite, so a rejected update leaves the parameters untouched.
 *
 * @param <B> the batch type
 */
abstract class TfModelBase<B> implements CurvatureModel<B> {
  private final TfAlgebra algebra;
  private final ParameterLayout layout;
  private final Graph graph;
  private final Session session;
  private final CurvatureGraph program;
  private final List<Output<?>> inputs;
  private final TfTensor[] params;
  private TfTensor[] zeros;
  private long version;
  private boolean closed;

  /**
   * Takes over the graph (closed with the model) and the initial parameter tensors.
   *
   * @param inputs the batch placeholders, in {@link HostBatch} order
   */
  TfModelBase(
      TfAlgebra algebra, ParameterLayout layout, Graph graph, CurvatureGraph program,
      List<Output<?>> inputs, TfTensor[] initial, TfDevice device) {
    this.algebra = algebra;
    this.layout = layout;
    this.graph = graph;
    this.program = program;
    this.inputs = List.copyOf(inputs);
    this.params = initial.clone();
    this.session = new Session(graph, device.config());
  }

  @Override
  public ParameterLayout layout() {
    return layout;
  }

  @Override
  public TfAlgebra algebra() {
    return algebra;
  }

  @Override
  public Capabilities capabilities() {
    return Capabilities.exact(algebra.dtype());
  }

  /** The batch placeholders' host values, validated. */
  abstract HostBatch hostBatch(B batch);

  @Override
  public TfObjective objective(B batch) {
    ensureOpen();
    Objects.requireNonNull(batch, "batch");
    return new TfObjective(this, hostBatch(batch));
  }

  @Override
  public ParameterVector parameters() {
    ensureOpen();
    Tensor[] t = new Tensor[params.length];
    for (int i = 0; i < t.length; i++) {
      t[i] = params[i].copy();
    }
    return ParameterVector.of(layout, t);
  }

  @Override
  public void setParameters(ParameterVector values) {
    ensureOpen();
    Objects.requireNonNull(values, "values");
    if (!values.layout().sameBlocksAs(layout)) {
      throw new IllegalArgumentException(
          "values: layout " + values.layout() + " differs from the model's " + layout);
    }
    TfTensor[] fresh = new TfTensor[params.length];
    try {
      for (int b = 0; b < fresh.length; b++) {
        fresh[b] = ownCopy(values.block(b), b, "values");
        requireFinite(fresh[b], "values", b);
      }
    } catch (RuntimeException e) {
      closeAll(fresh);
      throw e;
    }
    swap(fresh, allBlocks());
  }

  @Override
  public void applyUpdate(ParameterVector delta, double alpha) {
    ensureOpen();
    int[] idx = rootIndices(Objects.requireNonNull(delta, "delta").layout(), "delta");
    TfTensor[] next = perturbed(delta, idx, alpha, "delta");
    swap(next, idx);
  }

  private int[] allBlocks() {
    int[] all = new int[params.length];
    Arrays.setAll(all, i -> i);
    return all;
  }

  /** Replaces the blocks {@code idx} by {@code fresh[i]} (closing the old ones). */
  private void swap(TfTensor[] fresh, int[] idx) {
    for (int i = 0; i < idx.length; i++) {
      params[idx[i]].close();
      params[idx[i]] = fresh[i];
    }
    version++;
  }

  /**
   * New tensors {@code θ_b + alpha·d_b} for the blocks of {@code d}, not yet in the model.
   *
   * @throws IllegalArgumentException naming the block if {@code d}, {@code alpha} or a result is
   *     not finite
   */
  TfTensor[] perturbed(ParameterVector d, int[] idx, double alpha, String what) {
    if (!Double.isFinite(alpha)) {
      throw new IllegalArgumentException("alpha: must be finite but was " + alpha);
    }
    TfTensor[] next = new TfTensor[idx.length];
    try {
      for (int i = 0; i < idx.length; i++) {
        int b = idx[i];
        Tensor di = d.block(i);
        // a tensor of this model is read as it is (the sum runs over the entries in order);
        // anything else is copied in first
        TfTensor own = di instanceof TfTensor tt && tt.algebra() == algebra
            && tt.size() == layout.block(b).size() ? null : ownCopy(di, b, what);
        TfTensor dt = own != null ? own : (TfTensor) di;
        try {
          next[i] = params[b].copy().axpy(alpha, dt);
          // The parameters are finite, so θ + alpha·d is finite only if d is (0·∞ is NaN): one
          // check of the result; the cause is told apart only when it fails.
          if (next[i].firstNonFinite() >= 0) {
            requireFinite(dt, what, b);
            throw new IllegalArgumentException(
                what + ": block '" + layout.block(b).name() + "' times alpha " + alpha
                    + " makes the parameters overflow to infinity");
          }
        } finally {
          if (own != null) {
            own.close();
          }
        }
      }
    } catch (RuntimeException e) {
      closeAll(next);
      throw e;
    }
    return next;
  }

  private void requireFinite(TfTensor t, String what, int block) {
    int bad = t.firstNonFinite();
    if (bad >= 0) {
      throw new IllegalArgumentException(
          what + ": block '" + layout.block(block).name() + "' has a non-finite entry "
              + t.toDoubleArray()[bad] + " at " + bad);
    }
  }

  /** A new tensor of this model's dtype and block {@code b}'s shape with the values of {@code t}. */
  private TfTensor ownCopy(Tensor t, int b, String what) {
    int[] shape = layout.block(b).shape();
    Objects.requireNonNull(t, what);
    if (t.size() != layout.block(b).size()) {
      throw new IllegalArgumentException(
          what + ": block '" + layout.block(b).name() + "' has " + t.size() + " entries but needs "
              + layout.block(b).size());
    }
    if (t instanceof TfTensor tt && tt.algebra() == algebra) {
      return tt.hasShape(shape) ? tt.copy() : tt.copyAs(shape);
    }
    return algebra.fromArray(t.toDoubleArray(), shape);
  }

  /**
   * The root block index of each block of {@code sub}.
   *
   * @throws IllegalArgumentException naming {@code what} unless {@code sub} is the model's layout
   *     or a selection of it
   */
  int[] rootIndices(ParameterLayout sub, String what) {
    return io.github.sgdph.curvature.SpiChecks.rootIndices(sub, layout, what);
  }

  /**
   * {@link io.github.sgdph.curvature.Objective#updateRunningStatistics()} of an objective on
   * {@code batch}; by default refused (a user's graph: sgdph tracks no running statistics).
   *
   * @throws UnsupportedOperationException unless the model tracks running statistics
   */
  void updateRunningStatistics(HostBatch batch) {
    throw new UnsupportedOperationException(
        getClass().getName() + ": running statistics are not tracked");
  }

  // ------------------------------------------------------------------------------ running

  long version() {
    return version;
  }

  CurvatureGraph program() {
    return program;
  }

  /**
   * The graph of a spec model, whose layers the Kronecker-factor SPI knows; null (the default)
   * for a user's graph.
   */
  SpecGraph specGraph() {
    return null;
  }

  /** The zero direction of block {@code b} (shared, never modified). */
  TfTensor zeroBlock(int b) {
    if (zeros == null) {
      zeros = new TfTensor[params.length];
    }
    if (zeros[b] == null) {
      zeros[b] = algebra.zeros(layout.block(b).shape());
    }
    return zeros[b];
  }

  /**
   * A runner fed with the batch and the parameters, with {@code replaced[i]} instead of block
   * {@code idx[i]} where given.
   */
  Session.Runner runner(org.tensorflow.Tensor[] batch, int[] idx, TfTensor[] replaced) {
    ensureOpen();
    Session.Runner r = session.runner();
    for (int i = 0; i < batch.length; i++) {
      r.feed(inputs.get(i), batch[i]);
    }
    TfTensor[] p = params.clone();
    if (idx != null) {
      for (int i = 0; i < idx.length; i++) {
        p[idx[i]] = replaced[i];
      }
    }
    for (int b = 0; b < p.length; b++) {
      r.feed(program.params.get(b), p[b].tensorflowTensor());
    }
    return r;
  }

  /** The mean loss of a forward pass with these feeds. */
  double runLoss(Session.Runner r) {
    try (Result res = r.fetch(program.loss).run()) {
      return scalarOf(res.get(0));
    }
  }

  /** The value of a one-element float tensor. */
  static double scalarOf(org.tensorflow.Tensor t) {
    if (t instanceof TFloat32 f) {
      return f.getFloat();
    }
    if (t instanceof TFloat64 d) {
      return d.getDouble();
    }
    throw new IllegalStateException("loss: expected a float tensor but got " + t.dataType());
  }

  /** Adopts the tensors of a result (one lease for all); the result closes with the last. */
  TfTensor[] adoptAll(Result res, int from) {
    int n = res.size() - from;
    if (n <= 0) {
      res.close();
      return new TfTensor[0];
    }
    ResultLease lease = new ResultLease(res, n);
    TfTensor[] out = new TfTensor[n];
    for (int i = 0; i < n; i++) {
      out[i] = algebra.adopt(res.get(from + i), lease);
    }
    return out;
  }

  void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("model: used after close()");
    }
  }

  boolean isClosed() {
    return closed;
  }

  /** Closes the session, the graph and the parameter tensors. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    closeAll(params);
    if (zeros != null) {
      closeAll(zeros);
    }
    session.close();
    graph.close();
  }

  static void closeAll(TfTensor[] ts) {
    for (TfTensor t : ts) {
      if (t != null) {
        t.close();
      }
    }
  }
}
