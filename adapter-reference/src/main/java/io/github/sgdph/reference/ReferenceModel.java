package io.github.sgdph.reference;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A network of the neutral spec computed by the reference backend in float64 on the Java heap:
 * the numerical oracle of sgdph.
 *
 * <p>Every layer and loss of CASES.md is implemented with its exact derivatives. Gradients are
 * back-propagated; Hessian-vector products use Pearlmutter's R-operator ("Fast exact
 * multiplication by the Hessian", Neural Computation 6(1), 1994): an R-forward pass of the
 * directional derivatives of the activations, then an R-backward pass that includes every
 * layer's second-order terms. Generalized-Gauss-Newton products {@code Jᵀ H_L J v}
 * (Schraudolph, "Fast curvature matrix-vector products for second-order gradient descent",
 * 2002) use the same R-forward pass and a plain backward pass. See {@link ReferenceObjective}
 * and {@link ReferenceCurvature}.
 *
 * <p>Parameters are kept per spec entry (PyTorch layout), including the non-trainable running
 * statistics of eval-mode batch norms, which no update touches. A train-mode batch norm does
 * not track running statistics. Every change of the trainable parameters increments a version
 * counter that makes older {@link ReferenceCurvature}s stale. Not thread-safe.
 */
public final class ReferenceModel implements SpecModel {
  private final ModelSpec spec;
  private final Network net;
  private final ParameterLayout layout;
  private final double[][] values;
  /** {@code running[l] = {mean, variance}} of each train-mode batch norm {@code l}, else null. */
  private final double[][][] running;
  private long version;
  private boolean closed;

  /** Builds the model; {@code parameters} have been validated against {@code spec}. */
  ReferenceModel(ModelSpec spec, List<NamedArray> parameters) {
    this.spec = spec;
    this.net = new Network(spec);
    this.layout = spec.layout();
    this.values = new double[parameters.size()][];
    for (int i = 0; i < values.length; i++) {
      values[i] = parameters.get(i).values();
    }
    this.running = new double[spec.layers().size()][][];
    storeRunningStatistics(spec.initialRunningStatistics());
  }

  @Override
  public ModelSpec spec() {
    return spec;
  }

  @Override
  public ParameterLayout layout() {
    return layout;
  }

  @Override
  public ReferenceAlgebra algebra() {
    return ReferenceAlgebra.INSTANCE;
  }

  @Override
  public Capabilities capabilities() {
    return Capabilities.exact(DType.FLOAT64);
  }

  @Override
  public ReferenceObjective objective(ArrayBatch batch) {
    ensureOpen();
    Objects.requireNonNull(batch, "batch");
    CaseFile.validateBatch(spec, batch, "batch");
    return new ReferenceObjective(this, batch);
  }

  /**
   * The network outputs (logits) on {@code batch} at the current parameters, row-major
   * {@code [n, k]}.
   *
   * @param batch a batch for this model's spec
   * @return a new array
   * @throws IllegalArgumentException naming the field for a batch that does not fit the spec
   */
  public double[] outputs(ArrayBatch batch) {
    ensureOpen();
    CaseFile.validateBatch(spec, batch, "batch");
    Layer.Node[] nodes = net.forward(values, batch.xView(), batch.size());
    return nodes[nodes.length - 1].out.clone();
  }

  /**
   * The loss of each sample of {@code batch} at the current parameters; their mean is the
   * objective's loss. With a train-mode batch norm each term depends on the whole batch.
   *
   * @param batch a batch for this model's spec
   * @return one value per sample
   * @throws IllegalArgumentException naming the field for a batch that does not fit the spec
   */
  public double[] sampleLosses(ArrayBatch batch) {
    ensureOpen();
    CaseFile.validateBatch(spec, batch, "batch");
    return evaluate(values, batch).sampleLosses();
  }

  @Override
  public double[] predict(ArrayBatch batch) {
    ensureOpen();
    Objects.requireNonNull(batch, "batch");
    CaseFile.validateBatch(spec, batch, "batch");
    Layer.Node[] nodes = net.forwardEval(values, running, batch.xView(), batch.size());
    return nodes[nodes.length - 1].out.clone();
  }

  @Override
  public List<NamedArray> runningStatistics() {
    ensureOpen();
    List<NamedArray> out = new ArrayList<>();
    for (ModelSpec.Entry e : spec.runningStatistics()) {
      double[][] r = running[e.layerIndex()];
      double[] v = e.name().endsWith(".running_mean") ? r[0] : r[1];
      out.add(new NamedArray(e.name(), e.shape(), v.clone(), false));
    }
    return out;
  }

  @Override
  public void setRunningStatistics(List<NamedArray> stats) {
    ensureOpen();
    spec.validateRunningStatistics(stats);
    storeRunningStatistics(stats);
  }

  private void storeRunningStatistics(List<NamedArray> stats) {
    List<ModelSpec.Entry> entries = spec.runningStatistics();
    for (int i = 0; i < entries.size(); i++) {
      int l = entries.get(i).layerIndex();
      if (running[l] == null) {
        running[l] = new double[2][];
      }
      running[l][entries.get(i).name().endsWith(".running_mean") ? 0 : 1] =
          stats.get(i).values();
    }
  }

  /**
   * Installs the hook of the train-mode batch norms' batch sums: with a reducer other than
   * {@link io.github.sgdph.model.BatchStatisticsReducer#LOCAL}, every forward, backward,
   * R-forward and R-backward pass (of objectives and of curvatures opened before too) and
   * {@link io.github.sgdph.curvature.Objective#updateRunningStatistics()} normalise with the
   * statistics of the reducer's whole batch (see {@link BatchNormLayer}).
   */
  @Override
  public void setBatchStatisticsReducer(io.github.sgdph.model.BatchStatisticsReducer reducer) {
    ensureOpen();
    net.setReducer(reducer);
  }

  /**
   * Folds the batch statistics of {@code batch} at the current parameters into the running
   * statistics ({@link io.github.sgdph.curvature.Objective#updateRunningStatistics()}).
   */
  void updateRunningStatistics(ArrayBatch batch) {
    ensureOpen();
    if (spec.runningStatistics().isEmpty()) {
      return;
    }
    Layer.Node[] nodes = net.forward(values, batch.xView(), batch.size());
    double[][][] next = new double[running.length][][];
    for (int l = 0; l < running.length; l++) {
      if (running[l] == null) {
        continue;
      }
      BatchNormLayer bn = (BatchNormLayer) net.layers[l];
      double[][] st = bn.batchStatistics(nodes[l].in, batch.size());
      int m = (int) st[2][0];
      if (m < 2) {
        throw new IllegalArgumentException(
            "batch: layer " + spec.nodes().get(l).name()
                + " (batchnorm) sees one value per channel; the running"
                + " variance needs at least two (use a batch of at least 2 samples)");
      }
      if (!Kernels.allFinite(st[0]) || !Kernels.allFinite(st[1])) {
        throw new ArithmeticException(
            "batch: layer " + spec.nodes().get(l).name()
                + " (batchnorm) has non-finite batch statistics; the running"
                + " statistics are left as they were");
      }
      double mom = ((io.github.sgdph.model.LayerSpec.BatchNorm) spec.layers().get(l)).momentum();
      double[] mean = running[l][0].clone();
      double[] var = running[l][1].clone();
      for (int c = 0; c < mean.length; c++) {
        mean[c] = (1 - mom) * mean[c] + mom * st[0][c];
        var[c] = (1 - mom) * var[c] + mom * st[1][c] * m / (m - 1.0);
      }
      next[l] = new double[][] {mean, var};
    }
    for (int l = 0; l < running.length; l++) {
      if (next[l] != null) {
        running[l] = next[l];
      }
    }
  }

  @Override
  public ParameterVector parameters() {
    ensureOpen();
    ReferenceTensor[] t = new ReferenceTensor[layout.blockCount()];
    for (int b = 0; b < t.length; b++) {
      t[b] =
          ReferenceAlgebra.INSTANCE.wrap(
              values[net.blockEntry[b]].clone(), layout.block(b).shape());
    }
    return ParameterVector.of(layout, t);
  }

  @Override
  public void setParameters(ParameterVector v) {
    ensureOpen();
    Objects.requireNonNull(v, "values");
    if (!v.layout().sameBlocksAs(layout)) {
      throw new IllegalArgumentException(
          "values: layout " + v.layout() + " differs from the model's " + layout);
    }
    double[][] fresh = new double[layout.blockCount()][];
    for (int b = 0; b < fresh.length; b++) {
      fresh[b] = hostCopy(v.block(b));
      requireFinite(fresh[b], "values", layout.block(b).name());
    }
    for (int b = 0; b < fresh.length; b++) {
      values[net.blockEntry[b]] = fresh[b];
    }
    version++;
  }

  @Override
  public void applyUpdate(ParameterVector delta, double alpha) {
    ensureOpen();
    double[][] next = perturbed(delta, alpha, "delta");
    for (int e = 0; e < values.length; e++) {
      values[e] = next[e];
    }
    version++;
  }

  @Override
  public List<NamedArray> exportParameters() {
    ensureOpen();
    List<NamedArray> out = new ArrayList<>(values.length);
    List<ModelSpec.Entry> entries = spec.entries();
    for (int e = 0; e < values.length; e++) {
      ModelSpec.Entry en = entries.get(e);
      out.add(new NamedArray(en.name(), en.shape(), values[e], en.trainable()));
    }
    return out;
  }

  /** Marks the model closed; later use throws {@link IllegalStateException}. */
  @Override
  public void close() {
    closed = true;
  }

  @Override
  public String toString() {
    return "ReferenceModel[" + spec + "]";
  }

  // ---------------------------------------------------------------- backend-internal API

  Network network() {
    return net;
  }

  long version() {
    return version;
  }

  /** The current per-entry arrays (not copies; never modified in place). */
  double[][] values() {
    return values;
  }

  void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("model: used after close()");
    }
  }

  /** The forward pass and loss at the per-entry arrays {@code p}. */
  Loss evaluate(double[][] p, ArrayBatch batch) {
    Layer.Node[] nodes = net.forward(p, batch.xView(), batch.size());
    return new Loss(
        net.loss, nodes[nodes.length - 1].out, batch.yView(), batch.size(), net.outputs);
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
   * The per-entry arrays {@code θ + alpha·d} (new arrays for the blocks of {@code d}, shared
   * ones elsewhere) without changing the model.
   *
   * @throws IllegalArgumentException naming the block if {@code d}, {@code alpha} or the result
   *     is not finite
   */
  double[][] perturbed(ParameterVector d, double alpha, String what) {
    Objects.requireNonNull(d, what);
    if (!Double.isFinite(alpha)) {
      throw new IllegalArgumentException("alpha: must be finite but was " + alpha);
    }
    int[] idx = rootIndices(d.layout(), what);
    double[][] next = values.clone();
    for (int i = 0; i < idx.length; i++) {
      String name = layout.block(idx[i]).name();
      double[] dv = host(d.block(i));
      requireFinite(dv, what, name);
      int e = net.blockEntry[idx[i]];
      double[] cur = values[e];
      double[] nv = new double[cur.length];
      for (int j = 0; j < nv.length; j++) {
        nv[j] = cur[j] + alpha * dv[j];
      }
      if (!Kernels.allFinite(nv)) {
        throw new IllegalArgumentException(
            what + ": block '" + name + "' times alpha " + alpha
                + " makes the parameters overflow to infinity");
      }
      next[e] = nv;
    }
    return next;
  }

  private static void requireFinite(double[] v, String what, String block) {
    for (int j = 0; j < v.length; j++) {
      if (!Double.isFinite(v[j])) {
        throw new IllegalArgumentException(
            what + ": block '" + block + "' has a non-finite entry " + v[j] + " at " + j);
      }
    }
  }

  /** The values of a tensor: the array itself for a reference tensor (read only), else a copy. */
  static double[] host(Tensor t) {
    return t instanceof ReferenceTensor r ? r.data() : t.toDoubleArray();
  }

  private static double[] hostCopy(Tensor t) {
    return t instanceof ReferenceTensor r ? r.data().clone() : t.toDoubleArray();
  }
}
