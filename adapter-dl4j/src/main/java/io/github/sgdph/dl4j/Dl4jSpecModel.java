package io.github.sgdph.dl4j;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A network of the neutral spec built as a Deeplearning4j {@link MultiLayerNetwork} (see
 * {@link SpecNetworks} for the mapping), with exact products by the adapter's per-layer
 * R-operator in the spec's semantics (CASES.md), float32 or float64.
 *
 * <p>Parameters are imported and exported in PyTorch layout: DL4J's dense weight {@code [in, out]}
 * (stored in 'f' order, the same memory as PyTorch's {@code [out, in]} in 'c' order) is
 * transposed, biases and batch-norm vectors {@code [1, n]} become {@code [n]}. An eval-mode
 * batch norm's running statistics live in the network's {@code mean} and {@code var}
 * parameters and are never updated; a train-mode batch norm tracks none. Every change of the
 * trainable parameters makes older curvatures stale. Not thread-safe.
 */
public final class Dl4jSpecModel implements SpecModel {
  private final ModelSpec spec;
  private final SpecNetworks.Built built;
  private final NetworkCore core;

  Dl4jSpecModel(ModelSpec spec, List<NamedArray> parameters, SpecNetworks.Built built) {
    this.spec = spec;
    this.built = built;
    boolean[] train = built.trainModeBatchNorm();
    NetworkPlan plan =
        NetworkPlan.of(built.net(), i -> i < train.length && train[i], true, true);
    ParameterLayout layout = spec.layout();
    List<NetworkCore.Block> blocks = new ArrayList<>();
    for (ModelSpec.Entry e : spec.entries()) {
      if (!e.trainable()) {
        continue;
      }
      String key = built.mlnLayer()[e.layerIndex()] + "_" + dl4jName(spec, e);
      NetworkPlan.Param param = plan.params.stream().filter(p -> p.key().equals(key)).findFirst()
          .orElseThrow(() -> new IllegalStateException("no DL4J parameter " + key));
      boolean dense = spec.layers().get(e.layerIndex()) instanceof LayerSpec.Dense
          && e.name().endsWith(".weight");
      blocks.add(new NetworkCore.Block(
          param, dense ? NetworkCore.Mapping.TRANSPOSE : NetworkCore.Mapping.RESHAPE));
    }
    this.core = new NetworkCore(plan, layout, blocks);
    importParameters(parameters);
  }

  private static String dl4jName(ModelSpec spec, ModelSpec.Entry e) {
    String role = e.name().substring(e.name().indexOf('.') + 1);
    boolean bn = spec.layers().get(e.layerIndex()) instanceof LayerSpec.BatchNorm;
    return switch (role) {
      case "weight" -> bn ? "gamma" : "W";
      case "bias" -> bn ? "beta" : "b";
      case "running_mean" -> "mean";
      case "running_var" -> "var";
      default -> throw new IllegalStateException("unknown entry " + e.name());
    };
  }

  private void importParameters(List<NamedArray> parameters) {
    List<ModelSpec.Entry> entries = spec.entries();
    int block = 0;
    for (int i = 0; i < entries.size(); i++) {
      ModelSpec.Entry e = entries.get(i);
      NamedArray p = parameters.get(i);
      INDArray values = Nd4jArrays.create(p.valuesView(), p.shape(), core.plan.dataType);
      if (e.trainable()) {
        core.blocks.get(block).param().view().assign(core.toNetwork(block, values));
        block++;
      } else {
        INDArray view = runningView(e);
        view.assign(values.reshape('c', view.shape()));
      }
    }
  }

  private INDArray runningView(ModelSpec.Entry e) {
    return built.net().getLayer(built.mlnLayer()[e.layerIndex()]).getParam(dl4jName(spec, e));
  }

  /**
   * The Deeplearning4j network that holds the parameters (its {@code paramTable()} views are
   * the model's parameters; DL4J's own {@code output()} computes with them in DL4J's semantics).
   *
   * @return the network
   */
  public MultiLayerNetwork network() {
    return built.net();
  }

  @Override
  public ModelSpec spec() {
    return spec;
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
  public Dl4jObjective objective(ArrayBatch batch) {
    core.ensureOpen();
    Objects.requireNonNull(batch, "batch");
    CaseFile.validateBatch(spec, batch, "batch");
    INDArray x = Nd4jArrays.create(batch.xView(), batch.xShape(), core.plan.dataType);
    INDArray y =
        spec.loss() == LossKind.SOFTMAX_CROSS_ENTROPY
            ? Nd4jArrays.oneHot(batch.yView(), spec.outputShape()[0], core.plan.dataType)
            : Nd4jArrays.create(batch.yView(), batch.yShape(), core.plan.dataType);
    return new Dl4jObjective(core, x, y);
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

  @Override
  public List<NamedArray> exportParameters() {
    core.ensureOpen();
    List<NamedArray> out = new ArrayList<>();
    int block = 0;
    for (ModelSpec.Entry e : spec.entries()) {
      INDArray a;
      if (e.trainable()) {
        a = core.toBlock(block, core.blocks.get(block).param().view());
        block++;
      } else {
        a = runningView(e).dup('c');
      }
      out.add(new NamedArray(e.name(), e.shape(),
          Nd4jArrays.toDoubles(a), e.trainable()));
    }
    return out;
  }

  @Override
  public void close() {
    core.close();
  }

  @Override
  public String toString() {
    return "Dl4jSpecModel[" + spec + ", " + core.algebra.dtype().jsonName() + "]";
  }
}
