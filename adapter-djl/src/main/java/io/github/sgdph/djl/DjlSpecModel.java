package io.github.sgdph.djl;

import ai.djl.ndarray.NDArray;
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
 * batch statistics; DJL updates its running statistics, which the spec does not list. Batches
 * are validated against the spec ({@link CaseFile#validateBatch}) before any computation.
 */
// try-with-resources guards (NDScope, grad mode) are used for their scope only
@SuppressWarnings("try")
public final class DjlSpecModel implements SpecModel {
  private final ModelSpec spec;
  private final BlockNetwork net;
  private final SequentialBlock block;
  private final Map<String, Parameter> byEntry;

  DjlSpecModel(ModelSpec spec, List<NamedArray> parameters, DType dtype, DjlOptions options) {
    this.spec = spec;
    DjlAlgebra algebra = DjlAlgebra.create(dtype, options.device());
    try {
      SpecBlocks.Built built = SpecBlocks.build(spec, algebra.manager(), algebra.dataType());
      this.block = built.block();
      this.byEntry = built.parameters();
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
