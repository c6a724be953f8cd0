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
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A network of the neutral spec built as a Deeplearning4j {@code MultiLayerNetwork}, or as a
 * {@code ComputationGraph} for a graph spec (residual adds, shortcuts; see {@link SpecNetworks}
 * for the mapping), with exact products by the adapter's per-layer R-operator run over the
 * network's graph, in the spec's semantics (CASES.md), float32 or float64.
 *
 * <p>Parameters are imported and exported in PyTorch layout: DL4J's dense weight {@code [in, out]}
 * (stored in 'f' order, the same memory as PyTorch's {@code [out, in]} in 'c' order) is
 * transposed, biases and batch-norm vectors {@code [1, n]} become {@code [n]}. Every batch
 * norm's running statistics live in the network's {@code mean} and {@code var} parameters (in
 * its dtype): an eval-mode one's are entries, never updated; a train-mode one's are tracked
 * ({@link #runningStatistics()}), PyTorch's initial values when built, and change only in
 * {@link Dl4jObjective#updateRunningStatistics()} by PyTorch's update (momentum, unbiased batch
 * variance; not DL4J's {@code fit}, whose variance is biased), never in a forward pass of an
 * objective, a curvature or a line search. {@link #predict} is a forward pass of the adapter's
 * ops in evaluation mode that keeps nothing for a backward pass. Every change of the trainable
 * parameters makes older curvatures stale. Not thread-safe.
 */
public final class Dl4jSpecModel implements SpecModel {
  private final ModelSpec spec;
  private final SpecNetworks.Built built;
  private final NetworkCore core;
  /** The plan's batch-norm op of each spec layer (-1 for other layers). */
  private final int[] normOp;

  Dl4jSpecModel(ModelSpec spec, List<NamedArray> parameters, SpecNetworks.Built built) {
    this.spec = spec;
    this.built = built;
    NetworkPlan plan = NetworkPlan.of(built.net(),
        new NetworkPlan.Options(built.trainModeBatchNorm()::contains, true, true));
    ParameterLayout layout = spec.layout();
    List<NetworkCore.Block> blocks = new ArrayList<>();
    for (ModelSpec.Entry e : spec.entries()) {
      if (!e.trainable()) {
        continue;
      }
      boolean lstm = spec.layers().get(e.layerIndex()) instanceof LayerSpec.Lstm;
      String key = lstm ? lstmKey(built, e) : built.layerId()[e.layerIndex()] + "_" + dl4jName(spec, e);
      NetworkPlan.Param param = plan.params.stream().filter(p -> p.key().equals(key)).findFirst()
          .orElseThrow(() -> new IllegalStateException("no DL4J parameter " + key));
      boolean dense = spec.layers().get(e.layerIndex()) instanceof LayerSpec.Dense
          && e.name().endsWith(".weight");
      blocks.add(new NetworkCore.Block(param, lstm ? NetworkCore.Mapping.LSTM_GATES
          : dense ? NetworkCore.Mapping.TRANSPOSE : NetworkCore.Mapping.RESHAPE));
    }
    this.core = new NetworkCore(plan, layout, blocks);
    this.normOp = normOps(spec, built, plan);
    importParameters(parameters);
    storeRunningStatistics(spec.initialRunningStatistics());
    core.runningStatisticsTracker(this::updateRunningStatistics);
  }

  /** The batch-norm op of the plan of each spec node (-1 for other nodes). */
  private static int[] normOps(ModelSpec spec, SpecNetworks.Built built, NetworkPlan plan) {
    int[] out = new int[spec.layers().size()];
    java.util.Arrays.fill(out, -1);
    for (int l = 0; l < out.length; l++) {
      if (spec.layers().get(l) instanceof LayerSpec.BatchNorm b) {
        for (int op = 0; op < plan.ops.size() && out[l] < 0; op++) {
          if (plan.ops.get(op) instanceof BatchNormOp n
              && plan.layerOf(op).equals(built.layerId()[l])) {
            if (n.train() != (b.mode() == LayerSpec.Mode.TRAIN)) {
              throw new IllegalStateException("dl4j: the batch norm of spec node " + l
                  + " is not in " + b.mode() + " mode");
            }
            out[l] = op;
          }
        }
        if (out[l] < 0) {
          throw new IllegalStateException("dl4j: no batch-norm op for spec node " + l);
        }
      }
    }
    return out;
  }

  /**
   * The DL4J key of an {@code lstm} entry: {@code weight_ih_lk → <id of stacked layer k>_W},
   * {@code weight_hh_lk → …_RW}, {@code bias_lk → …_b}.
   */
  private static String lstmKey(SpecNetworks.Built built, ModelSpec.Entry e) {
    String role = e.role();
    int u = role.lastIndexOf("_l");
    String id = built.stackIds()[e.layerIndex()][Integer.parseInt(role.substring(u + 2))];
    return id + "_" + switch (role.substring(0, u)) {
      case "weight_ih" -> "W";
      case "weight_hh" -> "RW";
      case "bias" -> "b";
      default -> throw new IllegalStateException("unknown entry " + e.name());
    };
  }

  private static String dl4jName(ModelSpec spec, ModelSpec.Entry e) {
    String role = e.role();
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
        INDArray view = runningArray(e);
        view.assign(values.reshape('c', view.shape()));
      }
    }
  }

  /**
   * The Deeplearning4j network that holds the parameters (its {@code paramTable()} views are
   * the model's parameters; DL4J's own {@code output()} computes with them in DL4J's semantics).
   *
   * @return a {@code MultiLayerNetwork} for a {@linkplain ModelSpec#isSequential() sequential}
   *     spec, a {@code ComputationGraph} for a graph spec (one vertex per node, named as the
   *     node; no vertex for an {@code identity} node)
   */
  public Model network() {
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

  /**
   * {@inheritDoc}
   *
   * <p>The objective also tells the spec's loss and the batch's labels ({@link
   * io.github.sgdph.kfac.LabelledObjective}), for the Monte-Carlo and exact Fisher of KFAC.
   */
  @Override
  public Dl4jSpecObjective objective(ArrayBatch batch) {
    core.ensureOpen();
    Objects.requireNonNull(batch, "batch");
    CaseFile.validateBatch(spec, batch, "batch");
    INDArray x = Nd4jArrays.create(batch.xView(), batch.xShape(), core.plan.dataType);
    INDArray y =
        spec.loss() == LossKind.SOFTMAX_CROSS_ENTROPY
            ? Nd4jArrays.oneHot(batch.yView(), spec.outputShape()[0], core.plan.dataType)
            : Nd4jArrays.create(batch.yView(), batch.yShape(), core.plan.dataType);
    return new Dl4jSpecObjective(
        new Dl4jObjective(core, x, y), spec.loss(), batch.yView().clone());
  }

  @Override
  public double[] predict(ArrayBatch batch) {
    core.ensureOpen();
    Objects.requireNonNull(batch, "batch");
    CaseFile.validateBatch(spec, batch, "batch");
    try (MemoryWorkspace ws = Scratch.scope()) {
      INDArray x = Nd4jArrays.create(batch.xView(), batch.xShape(), core.plan.dataType);
      return Nd4jArrays.toDoubles(core.forward(core.plan.liveParams(), x, false, true).output());
    }
  }

  /**
   * The network's array of a batch norm's running statistic ({@code mean} or {@code var}, {@code
   * [1, C]}): an eval-mode layer's entry or a train-mode layer's tracked statistic.
   */
  private INDArray runningArray(ModelSpec.Entry e) {
    return built.layer(built.layerId()[e.layerIndex()]).getParam(dl4jName(spec, e));
  }

  @Override
  public List<NamedArray> runningStatistics() {
    core.ensureOpen();
    List<NamedArray> out = new ArrayList<>();
    try (MemoryWorkspace ws = Scratch.scope()) {
      for (ModelSpec.Entry e : spec.runningStatistics()) {
        out.add(
            new NamedArray(e.name(), e.shape(), Nd4jArrays.toDoubles(runningArray(e)), false));
      }
    }
    return out;
  }

  @Override
  public void setRunningStatistics(List<NamedArray> values) {
    core.ensureOpen();
    spec.validateRunningStatistics(values);
    storeRunningStatistics(values);
  }

  private void storeRunningStatistics(List<NamedArray> values) {
    List<ModelSpec.Entry> es = spec.runningStatistics();
    try (MemoryWorkspace ws = Scratch.scope()) {
      for (int i = 0; i < es.size(); i++) {
        INDArray view = runningArray(es.get(i));
        NamedArray v = values.get(i);
        view.assign(Nd4jArrays.create(v.valuesView(), v.shape(), core.plan.dataType)
            .reshape('c', view.shape()));
      }
    }
  }

  /**
   * Folds the batch statistics of the inputs {@code x} at the current parameters into the
   * running statistics of every train-mode batch norm (nothing without one): one forward pass
   * that keeps nothing, then per layer {@code r_μ ← (1 − m) r_μ + m μ_B} and {@code r_σ² ← (1 −
   * m) r_σ² + m σ²_B M/(M − 1)}, written into the network once every layer's values are known.
   */
  private void updateRunningStatistics(INDArray x) {
    core.ensureOpen();
    if (spec.runningStatistics().isEmpty()) {
      return;
    }
    long n = x.size(0);
    for (int l = 0; l < normOp.length; l++) {
      if (normOp[l] >= 0 && ((BatchNormOp) core.plan.ops.get(normOp[l])).train()
          && n * spatial(l) < 2) {
        throw new IllegalArgumentException(
            "batch: layer " + l + " (batchnorm) sees one value per channel; the running"
                + " variance needs at least two (use a batch of at least 2 samples)");
      }
    }
    List<ModelSpec.Entry> es = spec.runningStatistics();
    INDArray[] next = new INDArray[es.size()];
    try (MemoryWorkspace ws = Scratch.scope()) {
      NetworkCore.Pass pass = core.forward(core.plan.liveParams(), x, false);
      for (int i = 0; i < es.size(); i += 2) {
        int l = es.get(i).layerIndex();
        Op.Node node = pass.nodes()[normOp[l]];
        INDArray[] st = BatchNormOp.batchStatistics(node);
        long count = BatchNormOp.valuesPerChannel(node);
        double m = ((LayerSpec.BatchNorm) spec.layers().get(l)).momentum();
        INDArray rm = runningArray(es.get(i));
        INDArray rv = runningArray(es.get(i + 1));
        next[i] = rm.mul(1 - m).addi(st[0].reshape(rm.shape()).mul(m));
        next[i + 1] = rv.mul(1 - m).addi(st[1].reshape(rv.shape()).mul(m * count / (count - 1.0)));
      }
      for (int i = 0; i < es.size(); i++) {
        runningArray(es.get(i)).assign(next[i]);
      }
    }
  }

  /** {@code H·W} of a batch norm's input at layer {@code l} (1 for {@code [F]} inputs). */
  private int spatial(int l) {
    int[] s = spec.shapeBefore(l);
    int spatial = 1;
    for (int i = 1; i < s.length; i++) {
      spatial *= s[i];
    }
    return spatial;
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
        a = runningArray(e).dup('c');
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
