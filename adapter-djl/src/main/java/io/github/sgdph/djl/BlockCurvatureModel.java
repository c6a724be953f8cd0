package io.github.sgdph.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.curvature.CurvatureModel;
import io.github.sgdph.param.ChannelWiseRule;
import io.github.sgdph.param.ParameterBlock;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The curvature SPI over a DJL user's own model: any initialized {@link Block} of the PyTorch
 * engine plus a loss on its outputs, with batches as DJL {@link Batch}es or {@link NDList}s.
 * Gradients, Hessian-, Gauss-Newton- and Jacobian-vector products and per-term gradients are
 * exact (autograd, see {@link DjlCurvature}); updates go in place into the block's parameter
 * arrays, so a DJL {@code Trainer} over the same block sees them. Per-term gradients take the
 * loss's dependence on row {@code i} of every output as term {@code i} (for DJL's losses, the
 * batch means of per-sample losses, the gradient of sample {@code i}'s loss within the batch).
 * {@link DjlObjective#isolatedSampleGradients()} refuses a block whose train-mode {@code
 * BatchNorm} would see one value per channel (PyTorch cannot normalise one sample there).
 *
 * <pre>{@code
 * BlockCurvatureModel model = BlockCurvatureModel.builder(block)
 *     .loss(Loss.softmaxCrossEntropyLoss())
 *     .build();
 * try (Curvature c = model.objective(batch).curvature()) {
 *   ParameterVector g = c.gradient();
 *   ParameterVector hv = c.hvp(v);
 * }
 * }</pre>
 *
 * <p>The layout holds the block's parameters that require gradients, in the order of
 * {@link Block#getParameters()}, named as DJL names them with a dot before the parameter's own
 * name ({@code 01Linear.weight}, {@code 01Linear.bias}, ...), as PyTorch names tensors. The
 * model's dtype and device are its parameters'. The block's {@code training} flag is on by
 * default (batch norm uses batch statistics); each objective advances the block's running
 * statistics at most once, as one step of a DJL training loop would, however many forward passes
 * its products and line searches take, in DJL's convention ({@link
 * DjlObjective#updateRunningStatistics()}, PyTorch's separate update, refuses on this model).
 * Parameters changed behind the adapter's back (for instance by {@code Trainer.step()}) do not
 * make older curvatures stale: make a new objective.
 *
 * <p>Products of separate curvatures of one model may run on separate threads at once.
 */
// try-with-resources guards (NDScope, grad mode) are used for their scope only
@SuppressWarnings("try")
public final class BlockCurvatureModel implements CurvatureModel<Batch> {
  private final BlockNetwork net;
  private final boolean checkInputShapes;

  private BlockCurvatureModel(BlockNetwork net, boolean checkInputShapes) {
    this.net = net;
    this.checkInputShapes = checkInputShapes;
  }

  /**
   * A builder over an initialized block.
   *
   * @param block the user's block (e.g. {@code model.getBlock()} or {@code trainer.getModel()
   *     .getBlock()})
   * @return the builder
   */
  public static Builder builder(Block block) {
    return new Builder(block);
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
   * The block.
   *
   * @return the block
   */
  public Block block() {
    return net.block;
  }

  /**
   * The loss.
   *
   * @return the loss on the block's outputs
   */
  public OutputLoss loss() {
    return net.loss;
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

  /**
   * The mean loss on a DJL batch (its data and labels; the batch must stay open while the
   * objective is used).
   *
   * @throws IllegalArgumentException naming the problem for a batch of the wrong shape or with
   *     NaN/infinite values
   */
  @Override
  public DjlObjective objective(Batch batch) {
    Objects.requireNonNull(batch, "batch");
    return objective(batch.getData(), batch.getLabels());
  }

  /**
   * The mean loss on data and labels (which must stay open while the objective is used).
   *
   * @param data the block's inputs, batch axis first
   * @param labels the loss's labels, batch axis first
   * @return the objective
   * @throws IllegalArgumentException naming the problem for a batch of the wrong shape or with
   *     NaN/infinite values
   */
  public DjlObjective objective(NDList data, NDList labels) {
    net.ensureOpen();
    Objects.requireNonNull(data, "data");
    Objects.requireNonNull(labels, "labels");
    validate(data, labels);
    return new DjlObjective(net, BatchSource.of(data, labels));
  }

  private void validate(NDList data, NDList labels) {
    if (data.isEmpty()) {
      throw new IllegalArgumentException("batch: data is empty");
    }
    long n = -1;
    List<Pair<String, NDArray>> all = new ArrayList<>();
    for (int i = 0; i < data.size(); i++) {
      all.add(new Pair<>("data[" + i + "]", data.get(i)));
    }
    for (int i = 0; i < labels.size(); i++) {
      all.add(new Pair<>("labels[" + i + "]", labels.get(i)));
    }
    try (NDScope scope = new NDScope()) {
      for (Pair<String, NDArray> p : all) {
        NDArray a = p.getValue();
        String what = "batch: " + p.getKey();
        if (a == null) {
          throw new IllegalArgumentException(what + " is null");
        }
        if (!PyTorchRuntime.ENGINE.equals(a.getManager().getEngine().getEngineName())) {
          throw new IllegalArgumentException(
              what + " is an array of the " + a.getManager().getEngine().getEngineName()
                  + " engine; the djl adapter needs PyTorch arrays");
        }
        Shape s = a.getShape();
        if (s.dimension() == 0 || s.get(0) < 1) {
          throw new IllegalArgumentException(
              what + " has shape " + s + "; expected a batch axis first with at least one sample");
        }
        if (n < 0) {
          n = s.get(0);
        } else if (s.get(0) != n) {
          throw new IllegalArgumentException(
              what + " has " + s.get(0) + " samples but data[0] has " + n);
        }
        if (a.getDataType().isFloating()) {
          if (a.isNaN().any().getBoolean()) {
            throw new IllegalArgumentException(what + " contains NaN");
          }
          if (a.isInfinite().any().getBoolean()) {
            throw new IllegalArgumentException(what + " contains an infinite value");
          }
        }
      }
    }
    if (checkInputShapes) {
      Shape[] expected;
      try {
        expected = net.block.getInputShapes();
      } catch (IllegalStateException | UnsupportedOperationException e) {
        return;
      }
      if (expected == null || expected.length != data.size()) {
        return;
      }
      for (int i = 0; i < expected.length; i++) {
        Shape e = expected[i];
        Shape a = data.get(i).getShape();
        boolean ok = e.dimension() == a.dimension();
        for (int d = 1; ok && d < e.dimension(); d++) {
          ok = e.get(d) < 0 || e.get(d) == a.get(d);
        }
        if (!ok) {
          throw new IllegalArgumentException(
              "batch: data[" + i + "] has shape " + a + " but the block was initialized for "
                  + e + " (any batch size)");
        }
      }
    }
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

  /**
   * Releases the adapter's tensors (every tensor of {@link #algebra()}); the block and its
   * parameters stay the user's.
   */
  @Override
  public void close() {
    net.close();
  }

  @Override
  public String toString() {
    return "BlockCurvatureModel[" + net.block.getClass().getSimpleName() + ", "
        + net.layout.blockCount() + " tensors, " + net.layout.dimension() + " parameters, loss "
        + net.loss.name() + ", " + net.algebra + "]";
  }

  /**
   * The layout name of a parameter: DJL's name ({@code <block path>_<parameter>}) with the last
   * separator a dot, as PyTorch names tensors ({@code 01Linear.weight}), so that the tensors of
   * one layer share the prefix before the last dot (block-diagonal Hessian-free's {@code layer}
   * partition).
   */
  static String layoutName(String key, Parameter parameter) {
    String own = parameter.getName();
    if (own != null && !own.isEmpty() && key.length() > own.length() + 1
        && key.endsWith("_" + own)) {
      return key.substring(0, key.length() - own.length() - 1) + "." + own;
    }
    return key;
  }

  /** Builds a {@link BlockCurvatureModel}; every setter validates its argument. */
  public static final class Builder {
    private final Block block;
    private OutputLoss loss;
    private boolean training = true;
    private boolean checkInputShapes = true;
    private ChannelWiseRule channelWiseRule = ChannelWiseRule.DEFAULT;
    private GradientGraph gradientGraph = GradientGraph.ADAPTIVE;

    private Builder(Block block) {
      this.block = Objects.requireNonNull(block, "block");
    }

    /**
     * A DJL loss, e.g. {@code Loss.softmaxCrossEntropyLoss()} (required, or
     * {@link #loss(OutputLoss)}).
     *
     * @param loss the loss
     * @return this builder
     */
    public Builder loss(Loss loss) {
      this.loss = OutputLoss.of(Objects.requireNonNull(loss, "loss"));
      return this;
    }

    /**
     * A loss on the outputs, e.g. {@code OutputLoss.of(LossKind.SOFTMAX_CROSS_ENTROPY)} (with
     * an analytic output Hessian) or {@code OutputLoss.of(name, (labels, preds) -> …)}.
     *
     * @param loss the loss
     * @return this builder
     */
    public Builder loss(OutputLoss loss) {
      this.loss = Objects.requireNonNull(loss, "loss");
      return this;
    }

    /**
     * The {@code training} flag of the block's forward pass (default true: batch statistics,
     * dropout on).
     *
     * @param training the flag
     * @return this builder
     */
    public Builder training(boolean training) {
      this.training = training;
      return this;
    }

    /**
     * Whether batches are checked against the block's initialization input shapes, batch axis
     * excepted (default true; turn off for blocks that accept several input sizes).
     *
     * @param check the flag
     * @return this builder
     */
    public Builder checkInputShapes(boolean check) {
      this.checkInputShapes = check;
      return this;
    }

    /**
     * Which parameters are channel-wise, for SGD-PH (default: every 1-D tensor).
     *
     * @param rule the rule
     * @return this builder
     */
    public Builder channelWiseRule(ChannelWiseRule rule) {
      this.channelWiseRule = Objects.requireNonNull(rule, "channelWiseRule");
      return this;
    }

    /**
     * What a gradient builds for later products (default {@link GradientGraph#ADAPTIVE}).
     *
     * @param graph the graph
     * @return this builder
     */
    public Builder gradientGraph(GradientGraph graph) {
      this.gradientGraph = Objects.requireNonNull(graph, "gradientGraph");
      return this;
    }

    /**
     * The model.
     *
     * @return the model
     * @throws IllegalArgumentException if no loss was given, the block is not initialized, has no
     *     trainable parameter, or its parameters mix data types or devices or are not PyTorch
     *     float32/float64 arrays
     */
    public BlockCurvatureModel build() {
      if (loss == null) {
        throw new IllegalArgumentException("loss: required (a DJL Loss or an OutputLoss)");
      }
      if (!block.isInitialized()) {
        throw new IllegalArgumentException(
            "block: not initialized; call block.initialize(manager, dataType, inputShapes) or "
                + "trainer.initialize(inputShapes) first");
      }
      List<ParameterBlock> blocks = new ArrayList<>();
      List<Parameter> trainable = new ArrayList<>();
      List<Parameter> stats = new ArrayList<>();
      DataType type = null;
      Device device = null;
      for (Pair<String, Parameter> p : block.getParameters()) {
        Parameter param = p.getValue();
        if (param.getType() == Parameter.Type.RUNNING_MEAN
            || param.getType() == Parameter.Type.RUNNING_VAR) {
          stats.add(param);
          continue;
        }
        if (!param.requiresGradient()) {
          continue;
        }
        NDArray a = param.getArray();
        String where = "block: parameter '" + p.getKey() + "'";
        if (!PyTorchRuntime.ENGINE.equals(a.getManager().getEngine().getEngineName())) {
          throw new IllegalArgumentException(
              where + " is an array of the " + a.getManager().getEngine().getEngineName()
                  + " engine; the djl adapter needs PyTorch");
        }
        DjlAlgebra.dtypeOf(a.getDataType(), where);
        if (type == null) {
          type = a.getDataType();
          device = a.getDevice();
        } else if (type != a.getDataType() || !device.equals(a.getDevice())) {
          throw new IllegalArgumentException(
              where + " is " + a.getDataType() + " on " + a.getDevice()
                  + " but the first trainable parameter is " + type + " on " + device);
        }
        int[] shape = DjlAlgebra.intShape(a.getShape());
        String name = layoutName(p.getKey(), param);
        blocks.add(new ParameterBlock(name, shape, channelWiseRule.isChannelWise(name, shape)));
        trainable.add(param);
      }
      if (trainable.isEmpty()) {
        throw new IllegalArgumentException("block: has no parameter that requires a gradient");
      }
      DType dtype = DjlAlgebra.dtypeOf(type, "block");
      DjlAlgebra algebra = DjlAlgebra.create(dtype, device);
      BlockNetwork net =
          new BlockNetwork(block, algebra, true, ParameterLayout.of(blocks), trainable, stats,
              loss, training, true, gradientGraph);
      return new BlockCurvatureModel(net, checkInputShapes);
    }
  }
}
