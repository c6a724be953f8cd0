package io.github.sgdph.tensorflow;

import io.github.sgdph.model.NamedArray;
import io.github.sgdph.param.ChannelWiseRule;
import io.github.sgdph.param.ParameterBlock;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.family.TFloating;
import org.tensorflow.types.family.TType;

/**
 * The curvature interface over a user's own TensorFlow Java model: the user declares the
 * inputs and the parameters (with their initial values) and gives the forward pass as a {@link
 * TfForward}; the model builds that forward pass once into a {@link Graph}, adds the gradient,
 * Hessian-vector, Jacobian-vector and Gauss-Newton-vector subgraphs ({@link CurvatureGraph})
 * and runs one {@code Session.run} per product.
 *
 * <pre>{@code
 * try (TfGraphModel model = TfGraphModel.builder(DType.FLOAT32)
 *         .input("x", 784).input("y", 10)
 *         .parameter("w", new int[] {10, 784}, w0).parameter("b", new int[] {10}, b0)
 *         .forward(ctx -> {
 *           Ops tf = ctx.tf();
 *           Operand<TFloat32> z = tf.nn.biasAdd(tf.linalg.matMul(ctx.input("x"),
 *               ctx.parameter("w"), MatMul.transposeB(true)), ctx.parameter("b"));
 *           return TfForward.Outputs.of(z, TfLosses.softmaxCrossEntropy(tf, z, ctx.input("y")));
 *         })
 *         .build()) {
 *   Optimizer opt = Optimizers.create(OptimizerSpec.of("sgdph"));
 *   opt.step(model.objective(TfBatch.builder().put("x", x, 32, 784).put("y", y, 32, 10).build()));
 * }
 * }</pre>
 *
 * <p>Parameters are held as TensorFlow tensors and fed to every run; the model owns its graph
 * and session and closes them in {@link #close()}. sgdph does not know the graph's layers, so it
 * tracks no running statistics: {@link TfObjective#updateRunningStatistics()} refuses on this
 * model (a batch norm of the user's graph keeps whatever state the graph gives it). Not
 * thread-safe.
 */
public final class TfGraphModel extends TfModelBase<TfBatch> {
  private final Map<String, int[]> inputShapes;

  private TfGraphModel(
      TfAlgebra algebra, ParameterLayout layout, Graph graph, CurvatureGraph program,
      List<Output<?>> inputs, TfTensor[] initial, TfDevice device,
      Map<String, int[]> inputShapes) {
    super(algebra, layout, graph, program, inputs, initial, device);
    this.inputShapes = inputShapes;
  }

  /**
   * A builder of a model in {@code dtype}.
   *
   * @param dtype float32 or float64
   * @return a builder
   */
  public static Builder builder(DType dtype) {
    return new Builder(Objects.requireNonNull(dtype, "dtype"));
  }

  /**
   * Checks the batch against the declared inputs: every input present and no other, shape
   * {@code [n, ...sample shape]} with one {@code n}, finite values.
   *
   * @throws IllegalArgumentException naming the input and the problem
   */
  @Override
  HostBatch hostBatch(TfBatch batch) {
    for (String name : batch.names()) {
      if (!inputShapes.containsKey(name)) {
        throw new IllegalArgumentException(
            name + ": not an input of the model; its inputs are " + inputShapes.keySet());
      }
    }
    List<double[]> values = new ArrayList<>();
    List<int[]> shapes = new ArrayList<>();
    int n = -1;
    String first = null;
    for (Map.Entry<String, int[]> e : inputShapes.entrySet()) {
      String name = e.getKey();
      int[] s = batch.shape(name);
      if (s == null) {
        throw new IllegalArgumentException(name + ": the batch has no values for this input");
      }
      int[] sample = Arrays.copyOfRange(s, 1, s.length);
      if (!Arrays.equals(sample, e.getValue())) {
        throw new IllegalArgumentException(
            name + ".shape: expected [n, " + Arrays.toString(e.getValue()).replaceAll("[\\[\\]]", "")
                + "] but was " + Arrays.toString(s));
      }
      if (s[0] == 0) {
        throw new IllegalArgumentException(name + ".shape: the batch is empty");
      }
      if (n < 0) {
        n = s[0];
        first = name;
      } else if (s[0] != n) {
        throw new IllegalArgumentException(
            name + ".shape: batch size " + s[0] + " differs from " + first + "'s " + n);
      }
      double[] v = batch.valuesView(name);
      for (int i = 0; i < v.length; i++) {
        if (!Double.isFinite(v[i])) {
          throw new IllegalArgumentException(name + ": value " + i + " is " + v[i]);
        }
      }
      values.add(v);
      shapes.add(s);
    }
    return new HostBatch(values, shapes);
  }

  /**
   * The current parameters by name, in declaration order.
   *
   * @return one entry per parameter
   */
  public List<NamedArray> exportParameters() {
    ensureOpen();
    List<NamedArray> out = new ArrayList<>();
    try (ParameterVector p = parameters()) {
      for (int b = 0; b < p.blockCount(); b++) {
        ParameterBlock blk = layout().block(b);
        out.add(new NamedArray(blk.name(), blk.shape(), p.block(b).toDoubleArray()));
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return "TfGraphModel[" + algebra().dtype().jsonName() + ", inputs " + inputShapes.keySet()
        + ", " + layout() + "]";
  }

  /** Builds a {@link TfGraphModel}: inputs, parameters, forward pass, then {@link #build()}. */
  public static final class Builder {
    private final DType dtype;
    private final Map<String, int[]> inputs = new LinkedHashMap<>();
    private final Map<String, NamedArray> params = new LinkedHashMap<>();
    private ChannelWiseRule rule = ChannelWiseRule.DEFAULT;
    private TfDevice device = TfDevice.AUTO;
    private TfForward forward;

    private Builder(DType dtype) {
      this.dtype = dtype;
    }

    /**
     * Declares an input placeholder of shape {@code [batch, ...sampleShape]}.
     *
     * @param name the input's name (also the name of its placeholder)
     * @param sampleShape the shape of one sample
     * @return this builder
     * @throws IllegalArgumentException for a duplicate name or a non-positive dimension
     */
    public Builder input(String name, int... sampleShape) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(sampleShape, "sampleShape");
      for (int d : sampleShape) {
        if (d <= 0) {
          throw new IllegalArgumentException(
              name + ": dimensions must be positive but was " + Arrays.toString(sampleShape));
        }
      }
      if (inputs.containsKey(name) || params.containsKey(name)) {
        throw new IllegalArgumentException(name + ": declared twice");
      }
      inputs.put(name, sampleShape.clone());
      return this;
    }

    /**
     * Declares a trainable parameter with its initial values (row-major).
     *
     * @param name the parameter's name
     * @param shape its shape
     * @param initial its initial values
     * @return this builder
     * @throws IllegalArgumentException for a duplicate name, a value count that does not match
     *     the shape, or a non-finite value
     */
    public Builder parameter(String name, int[] shape, double[] initial) {
      return parameter(new NamedArray(name, shape, initial));
    }

    /**
     * Declares a trainable parameter.
     *
     * @param p its name, shape and initial values
     * @return this builder
     * @throws IllegalArgumentException as {@link #parameter(String, int[], double[])}
     */
    public Builder parameter(NamedArray p) {
      Objects.requireNonNull(p, "parameter");
      if (!p.trainable()) {
        throw new IllegalArgumentException(
            p.name() + ": a non-trainable value belongs in the graph as a constant");
      }
      if (inputs.containsKey(p.name()) || params.containsKey(p.name())) {
        throw new IllegalArgumentException(p.name() + ": declared twice");
      }
      double[] v = p.valuesView();
      for (int i = 0; i < v.length; i++) {
        if (!Double.isFinite(v[i])) {
          throw new IllegalArgumentException(p.name() + ": value " + i + " is " + v[i]);
        }
      }
      params.put(p.name(), p);
      return this;
    }

    /**
     * Which parameters an optimizer treats as channel-wise (default: every 1-D tensor).
     *
     * @param rule the rule
     * @return this builder
     */
    public Builder channelWiseRule(ChannelWiseRule rule) {
      this.rule = Objects.requireNonNull(rule, "rule");
      return this;
    }

    /**
     * Where the graph runs (default {@link TfDevice#AUTO}).
     *
     * @param device the device
     * @return this builder
     */
    public Builder device(TfDevice device) {
      this.device = Objects.requireNonNull(device, "device");
      return this;
    }

    /**
     * The forward pass.
     *
     * @param forward builds the outputs and the loss
     * @return this builder
     */
    public Builder forward(TfForward forward) {
      this.forward = Objects.requireNonNull(forward, "forward");
      return this;
    }

    /**
     * Builds the graph, its product subgraphs and the session.
     *
     * @return the model (close it)
     * @throws IllegalArgumentException if no forward pass or parameter was given, or the forward
     *     pass returns a loss that is not a scalar of the model's dtype in the model's graph
     * @throws IllegalStateException if a gradient needed for the products is missing
     */
    public TfGraphModel build() {
      if (forward == null) {
        throw new IllegalArgumentException("forward: no forward pass given");
      }
      if (params.isEmpty()) {
        throw new IllegalArgumentException("parameters: none declared");
      }
      TfAlgebra algebra = TfAlgebra.of(dtype);
      List<ParameterBlock> blocks = new ArrayList<>();
      for (NamedArray p : params.values()) {
        blocks.add(new ParameterBlock(p.name(), p.shape(), rule.isChannelWise(p.name(), p.shape())));
      }
      ParameterLayout layout = ParameterLayout.of(blocks);
      Graph g = new Graph();
      TfTensor[] initial = new TfTensor[params.size()];
      try {
        BuildContext ctx = new BuildContext(Ops.create(g), algebra);
        for (Map.Entry<String, int[]> e : inputs.entrySet()) {
          ctx.addInput(e.getKey(), e.getValue());
        }
        int b = 0;
        for (NamedArray p : params.values()) {
          ctx.addParameter(p.name(), p.shape());
          initial[b++] = algebra.fromArray(p.valuesView(), p.shape());
        }
        TfForward.Outputs out = Objects.requireNonNull(forward.build(ctx), "forward result");
        Output<?> z = ctx.check(out.outputs(), "outputs", false);
        Output<?> loss = ctx.check(out.loss(), "loss", true);
        CurvatureGraph cg = new CurvatureGraph(g, ctx.tf, ctx.paramList, z, loss);
        return new TfGraphModel(algebra, layout, g, cg, ctx.inputList, initial, device,
            new LinkedHashMap<>(inputs));
      } catch (RuntimeException | Error e) {
        closeAll(initial);
        g.close();
        throw e;
      }
    }
  }

  /** The context the user's forward pass sees. */
  private static final class BuildContext implements TfForward.Context {
    final Ops tf;
    final TfAlgebra algebra;
    final Map<String, Output<?>> inputs = new LinkedHashMap<>();
    final Map<String, Output<?>> params = new LinkedHashMap<>();
    final List<Output<?>> inputList = new ArrayList<>();
    final List<Output<?>> paramList = new ArrayList<>();

    BuildContext(Ops tf, TfAlgebra algebra) {
      this.tf = tf;
      this.algebra = algebra;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private Output<?> placeholder(String name, long[] shape) {
      Class<TFloating> type = (Class) algebra.tfType();
      return tf.withName(name).placeholder(type, Placeholder.shape(Shape.of(shape))).output();
    }

    void addInput(String name, int[] sample) {
      long[] s = new long[sample.length + 1];
      s[0] = -1;
      for (int i = 0; i < sample.length; i++) {
        s[i + 1] = sample[i];
      }
      Output<?> o = placeholder(name, s);
      inputs.put(name, o);
      inputList.add(o);
    }

    void addParameter(String name, int[] shape) {
      long[] s = new long[shape.length];
      for (int i = 0; i < s.length; i++) {
        s[i] = shape[i];
      }
      Output<?> o = placeholder(name, s);
      params.put(name, o);
      paramList.add(o);
    }

    Output<?> check(Operand<?> op, String what, boolean scalar) {
      Objects.requireNonNull(op, what);
      Output<?> o = op.asOutput();
      if (o.op().env() != tf.scope().env()) {
        throw new IllegalArgumentException(what + ": not an operand of the model's graph");
      }
      if (o.type() != algebra.tfType()) {
        throw new IllegalArgumentException(
            what + ": expected " + algebra.tfType().getSimpleName() + " but is "
                + o.dataType());
      }
      if (scalar && !(o.shape().isUnknown() || o.shape().numDimensions() == 0)) {
        throw new IllegalArgumentException(
            what + ": must be a scalar (the mean over the batch) but has shape " + o.shape());
      }
      return o;
    }

    @Override
    public Ops tf() {
      return tf;
    }

    @Override
    public DType dtype() {
      return algebra.dtype();
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T extends TType> Operand<T> input(String name) {
      Output<?> o = inputs.get(name);
      if (o == null) {
        throw new IllegalArgumentException(
            "input: no input named '" + name + "'; declared: " + inputs.keySet());
      }
      return (Operand<T>) o;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T extends TType> Operand<T> parameter(String name) {
      Output<?> o = params.get(name);
      if (o == null) {
        throw new IllegalArgumentException(
            "parameter: no parameter named '" + name + "'; declared: " + params.keySet());
      }
      return (Operand<T>) o;
    }
  }
}
