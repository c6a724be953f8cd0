package io.github.sgdph.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A network of the neutral spec as a DJL {@link SequentialBlock} of DJL's own {@code Linear},
 * {@code Conv2d}, {@code BatchNorm}, activation, flatten and pooling blocks on the PyTorch
 * engine, in float32 or float64, with exact curvature products by autograd
 * ({@link DjlCurvature}).
 *
 * <p>Parameters are imported from and exported to case files in PyTorch's layout, including the
 * running statistics of eval-mode batch norms (never updated). A batch norm in train mode uses
 * batch statistics; its running statistics ({@link #runningStatistics()}) live in the DJL
 * block's {@code runningMean} and {@code runningVar} arrays on the model's device, in its dtype,
 * and change only in {@link DjlObjective#updateRunningStatistics()} (PyTorch's update, unbiased
 * variance), never in a forward pass of an objective, a curvature or a line search. {@link
 * #predict} is a forward pass of the block with {@code training} false and grad mode off, every
 * batch norm normalising with running statistics. Batches are validated against the spec
 * ({@link CaseFile#validateBatch}) before any computation.
 */
// try-with-resources guards (NDScope, grad mode) are used for their scope only
@SuppressWarnings("try")
public final class DjlSpecModel implements SpecModel {
  private final ModelSpec spec;
  private final BlockNetwork net;
  private final SequentialBlock block;
  private final Map<String, Parameter> byEntry;
  /** The batch norm of each spec layer (null for other layers). */
  private final SpecBlocks.ExactBatchNorm[] norms;

  DjlSpecModel(ModelSpec spec, List<NamedArray> parameters, DType dtype, DjlOptions options) {
    this.spec = spec;
    DjlAlgebra algebra = DjlAlgebra.create(dtype, options.device());
    try {
      SpecBlocks.Built built = SpecBlocks.build(spec, algebra.manager(), algebra.dataType());
      this.block = built.block();
      this.byEntry = built.parameters();
      this.norms = built.batchNorms();
      ParameterLayout layout = spec.layout();
      List<Parameter> trainable = new ArrayList<>();
      List<Parameter> stats = new ArrayList<>();
      for (ModelSpec.Entry e : spec.entries()) {
        Parameter p = byEntry.get(e.name());
        if (p == null || !Arrays.equals(e.shape(), DjlAlgebra.intShape(p.getArray().getShape()))) {
          throw new IllegalStateException(
              "djl: DJL's parameter for '" + e.name() + "' has shape "
                  + (p == null ? "none" : p.getArray().getShape()) + " but the spec needs "
                  + Arrays.toString(e.shape()));
        }
        (e.trainable() ? trainable : stats).add(p);
      }
      this.net =
          new BlockNetwork(block, algebra, true, layout, trainable, stats,
              OutputLoss.of(spec.loss()), true, false, options.gradientGraph());
      // train-mode batch norms may run as PyTorch's fused kernel in float32, where the spec's ε
      // rounded to float32 is exactly what the kernel gets (SpecBlocks.ExactBatchNorm)
      net.fusableBatchNorm(dtype == DType.FLOAT32 && spec.layers().stream().anyMatch(
          l -> l instanceof LayerSpec.BatchNorm bn && bn.mode() == LayerSpec.Mode.TRAIN));
      importValues(parameters);
      importValues(spec.initialRunningStatistics());
      net.runningStatisticsTracker(this::updateRunningStatistics);
      net.spec(spec);
    } catch (RuntimeException e) {
      algebra.close();
      throw e;
    }
  }

  private void importValues(List<NamedArray> parameters) {
    try (PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
      for (NamedArray a : parameters) {
        NDArray p = byEntry.get(a.name()).getArray();
        try (DjlTensor v = net.algebra.fromArray(a.valuesView(), a.shape())) {
          p.muli(0).addi(v.array());
        }
      }
    }
  }

  @Override
  public ModelSpec spec() {
    return spec;
  }

  @Override
  public ParameterLayout layout() {
    return net.layout;
  }

  @Override
  public DjlAlgebra algebra() {
    return net.algebra;
  }

  @Override
  public Capabilities capabilities() {
    return Capabilities.exact(net.algebra.dtype());
  }

  /**
   * The DJL block (for inspection; changing its parameters directly does not make older
   * curvatures stale).
   *
   * @return the block
   */
  public SequentialBlock block() {
    return block;
  }

  /**
   * What a gradient builds for later products; may be changed at any time (affects curvatures
   * made afterwards).
   *
   * @param graph the graph
   */
  public void gradientGraph(GradientGraph graph) {
    net.gradientGraph(graph);
  }

  @Override
  public DjlObjective objective(ArrayBatch batch) {
    net.ensureOpen();
    Objects.requireNonNull(batch, "batch");
    CaseFile.validateBatch(spec, batch, "batch");
    return new DjlObjective(net, BatchSource.of(batch));
  }

  @Override
  public double[] predict(ArrayBatch batch) {
    net.ensureOpen();
    Objects.requireNonNull(batch, "batch");
    CaseFile.validateBatch(spec, batch, "batch");
    NDManager m = net.algebra.manager();
    try (NDScope scope = new NDScope();
        PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
      BatchSource.Materialized b = BatchSource.of(batch).materialize(m, net.device(),
          net.dataType());
      NDList out = net.forward(m, liveValues(), b.data(), null, false, null);
      return DjlTensor.toHost(out.singletonOrThrow());
    }
  }

  private NDList liveValues() {
    NDList values = new NDList(net.trainable.length);
    for (Parameter p : net.trainable) {
      values.add(p.getArray());
    }
    return values;
  }

  @Override
  public List<NamedArray> runningStatistics() {
    net.ensureOpen();
    List<NamedArray> out = new ArrayList<>();
    for (ModelSpec.Entry e : spec.runningStatistics()) {
      double[] v = DjlTensor.toHost(byEntry.get(e.name()).getArray());
      out.add(new NamedArray(e.name(), e.shape(), v, false));
    }
    return out;
  }

  @Override
  public void setRunningStatistics(List<NamedArray> values) {
    net.ensureOpen();
    spec.validateRunningStatistics(values);
    importValues(values);
  }

  /**
   * Folds the batch statistics of {@code source} at the current parameters into the running
   * statistics of every train-mode batch norm (nothing without one): one forward pass with grad
   * mode off, then per layer {@code r_μ ← (1 − m) r_μ + m μ_B} and {@code r_σ² ← (1 − m) r_σ² +
   * m σ²_B M/(M − 1)}, written in place on the device once every layer's values are known.
   */
  private void updateRunningStatistics(BatchSource source) {
    net.ensureOpen();
    if (spec.runningStatistics().isEmpty()) {
      return;
    }
    int n = source.size();
    for (int l = 0; l < norms.length; l++) {
      if (norms[l] != null && norms[l].trainMode() && valuesPerChannel(l, n) < 2) {
        throw new IllegalArgumentException(
            "batch: layer " + spec.nodes().get(l).name()
                + " (batchnorm) sees one value per channel; the running"
                + " variance needs at least two (use a batch of at least 2 samples)");
      }
    }
    NDManager m = net.algebra.manager();
    try (NDScope scope = new NDScope();
        PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
      BatchSource.Materialized b = source.materialize(m, net.device(), net.dataType());
      Map<SpecBlocks.ExactBatchNorm, NDArray[]> stats = new IdentityHashMap<>();
      Map<SpecBlocks.ExactBatchNorm, Long> counts = new IdentityHashMap<>();
      net.forward(m, liveValues(), b.data(), null, true, (bn, mean, var, count) -> {
        stats.put(bn, new NDArray[] {mean, var});
        counts.put(bn, count);
      });
      List<NDArray[]> next = new ArrayList<>();
      List<NDArray[]> targets = new ArrayList<>();
      for (int l = 0; l < norms.length; l++) {
        if (norms[l] == null || !norms[l].trainMode()) {
          continue;
        }
        NDArray[] st = stats.get(norms[l]);
        if (st == null) {
          throw new IllegalStateException("djl: batch norm " + l + " gave no batch statistics");
        }
        double mom = ((LayerSpec.BatchNorm) spec.layers().get(l)).momentum();
        long count = counts.get(norms[l]);
        String name = spec.nodes().get(l).name();
        NDArray rm = byEntry.get(name + ".running_mean").getArray();
        NDArray rv = byEntry.get(name + ".running_var").getArray();
        next.add(new NDArray[] {
            rm.mul(1 - mom).add(st[0].mul(mom)),
            rv.mul(1 - mom).add(st[1].mul(mom * count / (count - 1.0)))});
        targets.add(new NDArray[] {rm, rv});
      }
      for (int i = 0; i < next.size(); i++) {
        for (int j = 0; j < 2; j++) {
          targets.get(i)[j].muli(0).addi(next.get(i)[j]);
        }
      }
    }
  }

  /** {@code M = N·H·W}: the values per channel a batch norm at layer {@code l} sees. */
  private int valuesPerChannel(int l, int n) {
    int[] s = spec.shapeBefore(l);
    int spatial = 1;
    for (int i = 1; i < s.length; i++) {
      spatial *= s[i];
    }
    return n * spatial;
  }

  @Override
  public ParameterVector parameters() {
    return net.parameters();
  }

  @Override
  public void setParameters(ParameterVector values) {
    net.setParameters(values);
  }

  @Override
  public void applyUpdate(ParameterVector delta, double alpha) {
    net.applyUpdate(delta, alpha, "delta");
  }

  @Override
  public List<NamedArray> exportParameters() {
    net.ensureOpen();
    List<NamedArray> out = new ArrayList<>();
    for (ModelSpec.Entry e : spec.entries()) {
      double[] v = DjlTensor.toHost(byEntry.get(e.name()).getArray());
      out.add(new NamedArray(e.name(), e.shape(), v, e.trainable()));
    }
    return out;
  }

  /** Releases the block's parameters and every tensor of the model's algebra. */
  @Override
  public void close() {
    net.close();
  }

  @Override
  public String toString() {
    return "DjlSpecModel[" + spec + ", " + net.algebra + "]";
  }
}
