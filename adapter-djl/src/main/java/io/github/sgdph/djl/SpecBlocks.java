package io.github.sgdph.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.ModelSpec;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Builds a DJL {@link SequentialBlock} from the neutral spec (CASES.md) — for a graph model a
 * sequential block holding one {@link GraphBlock} — of DJL's own layers, but
 * sgdph's exact softplus ({@link ExactActivations}), batch norm ({@link ExactBatchNorm}) and LSTM
 * ({@link SpecLstm}, unrolled through time with ordinary operations) — and
 * maps every spec entry ({@code "<layer>.weight"}, {@code ".bias"}, {@code ".running_mean"},
 * {@code ".running_var"}, an LSTM's {@code ".weight_ih_lk"}, {@code ".weight_hh_lk"}, {@code
 * ".bias_lk"}) to the DJL {@link Parameter} holding it. PyTorch's conventions are
 * DJL's: {@code Linear} weight {@code [out, in]}, {@code Conv2d} weight {@code [out, in, kh,
 * kw]} on NCHW data, batch norm over axis 1 with biased variance.
 */
final class SpecBlocks {
  private SpecBlocks() {}

  /**
   * The block, its parameters by spec entry name ({@code "<layer>.running_mean"} and {@code
   * ".running_var"} for every batch norm, train-mode ones included), and the batch norm of each
   * spec layer (null for other layers).
   */
  record Built(
      SequentialBlock block, Map<String, Parameter> parameters, ExactBatchNorm[] batchNorms) {}

  static Built build(ModelSpec spec, NDManager manager, DataType dataType) {
    Map<String, Parameter> params = new LinkedHashMap<>();
    List<LayerSpec> layers = spec.layers();
    ExactBatchNorm[] norms = new ExactBatchNorm[layers.size()];
    Block[] blocks = new Block[layers.size()];
    for (int i = 0; i < layers.size(); i++) {
      blocks[i] = block(layers.get(i), spec.nodes().get(i).name() + ".", i, params, norms,
          spec.isSequential() ? "layers[" + i + "]" : "nodes[" + i + "]");
    }
    SequentialBlock seq = new SequentialBlock();
    if (spec.isSequential()) {
      for (Block b : blocks) {
        seq.add(b);
      }
    } else {
      seq.add(new GraphBlock(spec, blocks));
    }
    long[] in = new long[spec.inputShape().length + 1];
    in[0] = 1;
    for (int k = 0; k < spec.inputShape().length; k++) {
      in[k + 1] = spec.inputShape()[k];
    }
    seq.initialize(manager, dataType, new Shape(in));
    return new Built(seq, params, norms);
  }

  /** The block of one layer or node op; null for an add or identity node of a graph. */
  private static Block block(LayerSpec l, String p, int i, Map<String, Parameter> params,
      ExactBatchNorm[] norms, String where) {
    if (l instanceof LayerSpec.Dense d) {
      Linear lin = Linear.builder().setUnits(d.out()).optBias(d.bias()).build();
      params.put(p + "weight", lin.getParameters().get("weight"));
      if (d.bias()) {
        params.put(p + "bias", lin.getParameters().get("bias"));
      }
      return new Tapped(lin, i);
    } else if (l instanceof LayerSpec.Conv2d c) {
      Conv2d conv =
          Conv2d.builder()
              .setKernelShape(new Shape(c.kernelH(), c.kernelW()))
              .optStride(new Shape(c.strideH(), c.strideW()))
              .optPadding(new Shape(c.padH(), c.padW()))
              .setFilters(c.out())
              .optBias(c.bias())
              .build();
      params.put(p + "weight", conv.getParameters().get("weight"));
      if (c.bias()) {
        params.put(p + "bias", conv.getParameters().get("bias"));
      }
      return new Tapped(conv, i);
    } else if (l instanceof LayerSpec.BatchNorm b) {
      BatchNorm bn =
          BatchNorm.builder()
              .optAxis(1)
              .optEpsilon((float) b.eps())
              // DJL's momentum is PyTorch's 1 - momentum
              .optMomentum((float) (1 - b.momentum()))
              .build();
      norms[i] = new ExactBatchNorm(bn, b.mode() == LayerSpec.Mode.TRAIN, b.eps());
      params.put(p + "weight", bn.getParameters().get("gamma"));
      params.put(p + "bias", bn.getParameters().get("beta"));
      params.put(p + "running_mean", bn.getParameters().get("runningMean"));
      params.put(p + "running_var", bn.getParameters().get("runningVar"));
      return norms[i];
    } else if (l instanceof LayerSpec.Activation a) {
      return switch (a.kind()) {
        case RELU -> Activation.reluBlock();
        case TANH -> Activation.tanhBlock();
        case SIGMOID -> Activation.sigmoidBlock();
        case SOFTPLUS -> ExactActivations.softplusBlock(); // not PyTorch's thresholded one
      };
    } else if (l instanceof LayerSpec.Flatten) {
      return Blocks.batchFlattenBlock();
    } else if (l instanceof LayerSpec.Pool2d q) {
      Shape kernel = new Shape(q.kernelH(), q.kernelW());
      Shape stride = new Shape(q.strideH(), q.strideW());
      return q.kind() == LayerSpec.PoolKind.MAX
          ? Pool.maxPool2dBlock(kernel, stride, new Shape(0, 0), false)
          : Pool.avgPool2dBlock(kernel, stride, new Shape(0, 0), false, true);
    } else if (l instanceof LayerSpec.GlobalAvgPool) {
      return new ai.djl.nn.LambdaBlock(
          x -> new NDList(x.singletonOrThrow().mean(new int[] {3}).mean(new int[] {2})),
          "globalAvgPool");
    } else if (l instanceof LayerSpec.Identity) {
      return Blocks.identityBlock();
    } else if (l instanceof LayerSpec.Add) {
      return null;
    } else if (l instanceof LayerSpec.Lstm r) {
      return new SpecLstm(r, p, params); // unrolled, not DJL's fused LSTM
    }
    throw new IllegalArgumentException(where + ": unsupported layer " + l.type());
  }

  /**
   * A graph model of the spec as one DJL block: each node's block is a child, and the forward
   * pass evaluates the nodes in their (topological) order, an add node summing its inputs with
   * {@code NDArray.add}; a node's output read by several nodes is one array in PyTorch's graph,
   * so autograd sums the contributions of its consumers, in first and second order alike.
   */
  static final class GraphBlock extends AbstractBlock {
    private final ModelSpec spec;
    private final Block[] nodes;

    GraphBlock(ModelSpec spec, Block[] nodes) {
      this.spec = spec;
      this.nodes = nodes.clone();
      for (int i = 0; i < nodes.length; i++) {
        if (nodes[i] != null) {
          addChildBlock(spec.nodes().get(i).name().replace('.', '_'), nodes[i]);
        }
      }
    }

    @Override
    protected NDList forwardInternal(
        ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
      NDArray x = inputs.singletonOrThrow();
      NDArray[] out = new NDArray[nodes.length];
      for (int i = 0; i < nodes.length; i++) {
        int[] in = spec.inputsOf(i);
        NDArray a = in[0] < 0 ? x : out[in[0]];
        for (int k = 1; k < in.length; k++) {
          a = a.add(in[k] < 0 ? x : out[in[k]]);
        }
        out[i] = nodes[i] == null
            ? a
            : nodes[i].forward(store, new NDList(a), training, params).singletonOrThrow();
      }
      return new NDList(out[nodes.length - 1]);
    }

    private static Shape withBatch(long batch, int[] shape) {
      long[] s = new long[shape.length + 1];
      s[0] = batch;
      for (int k = 0; k < shape.length; k++) {
        s[k + 1] = shape[k];
      }
      return new Shape(s);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
      return new Shape[] {withBatch(inputShapes[0].get(0), spec.outputShape())};
    }

    @Override
    protected void initializeChildBlocks(
        NDManager manager, DataType dataType, Shape... inputShapes) {
      long batch = inputShapes[0].get(0);
      for (int i = 0; i < nodes.length; i++) {
        if (nodes[i] != null) {
          nodes[i].initialize(manager, dataType, withBatch(batch, spec.shapeBefore(i)));
        }
      }
    }
  }

  /**
   * Receives the input and the (pre-activation) output of every dense and convolution layer of
   * a forward pass whose {@link ParameterStore} implements it: the Kronecker-factor SPI's pass
   * ({@code DjlCurvature#factoredLayers()}).
   */
  interface LayerTap {
    /**
     * One layer's input and output.
     *
     * @param layer the spec layer (node) index
     * @param input the layer's input {@code a} (batch first)
     * @param output the layer's output {@code s = W a + b}
     * @return the array the forward pass continues with: {@code output} plus a zero leaf whose
     *     gradient is the gradient with respect to {@code s}
     */
    NDArray tap(int layer, NDArray input, NDArray output);
  }

  /**
   * A dense or convolution layer of the spec: DJL's block, and in a pass whose store is a {@link
   * LayerTap} its input and output handed to the tap. Any other pass runs DJL's block unchanged.
   */
  static final class Tapped extends AbstractBlock {
    private final Block layer;
    private final int index;

    Tapped(Block layer, int index) {
      this.layer = addChildBlock(layer.getClass().getSimpleName().toLowerCase(Locale.ROOT),
          layer);
      this.index = index;
    }

    @Override
    protected NDList forwardInternal(
        ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
      NDList out = layer.forward(store, inputs, training, params);
      if (store instanceof LayerTap tap) {
        return new NDList(tap.tap(index, inputs.singletonOrThrow(), out.singletonOrThrow()));
      }
      return out;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
      return layer.getOutputShapes(inputShapes);
    }

    @Override
    protected void initializeChildBlocks(
        NDManager manager, DataType dataType, Shape... inputShapes) {
      layer.initialize(manager, dataType, inputShapes);
    }
  }

  /**
   * Receives the batch statistics of every train-mode {@link ExactBatchNorm} of a forward pass
   * whose {@link ParameterStore} implements it (the running-statistics update of a spec model).
   */
  interface BatchStatisticsSink {
    /**
     * One layer's batch statistics.
     *
     * @param bn the layer
     * @param mean the channels' batch means {@code [C]}
     * @param variance the channels' biased batch variances {@code [C]}
     * @param count the values per channel, {@code M = N·H·W}
     */
    void batchStatistics(ExactBatchNorm bn, NDArray mean, NDArray variance, long count);
  }

  /**
   * A batch norm of the spec, computed from primitive operations with the spec's {@code ε} in
   * the model's dtype. A train-mode layer normalises with batch statistics (biased variance)
   * when the caller's {@code training} flag is set and with its tracked running statistics
   * ({@code runningMean}, {@code runningVar}) when it is not (evaluation, as PyTorch's {@code
   * eval()}); an eval-mode layer always normalises with its running statistics. DJL's {@code
   * BatchNorm} passes {@code ε} to PyTorch as a float ({@code 10⁻⁵} becomes {@code
   * 9.99999974·10⁻⁶}), which moves every output by up to 10⁻⁹ relative when the batch variance is
   * comparable to {@code ε}; the wrapped DJL block only holds the parameters ({@code gamma},
   * {@code beta}, {@code runningMean}, {@code runningVar}). A forward pass never updates the
   * running statistics (DJL's fused block would, at every pass): a pass whose store is a {@link
   * BatchStatisticsSink} hands the batch statistics to it, and {@link DjlSpecModel} folds them in
   * on request only.
   */
  static final class ExactBatchNorm extends AbstractBlock {
    private final BatchNorm bn;
    private final boolean training;
    private final double eps;

    ExactBatchNorm(BatchNorm bn, boolean training, double eps) {
      this.bn = addChildBlock(training ? "train" : "eval", bn);
      this.training = training;
      this.eps = eps;
    }

    @Override
    protected NDList forwardInternal(
        ParameterStore store, NDList inputs, boolean trainingPass,
        PairList<String, Object> params) {
      NDArray x = inputs.singletonOrThrow();
      Device d = x.getDevice();
      int rank = x.getShape().dimension();
      long c = x.getShape().get(1);
      // fused only in a training pass (an evaluation pass normalises with the running
      // statistics) that records no batch statistics (the kernel does not hand them out)
      if (training && trainingPass && x.getDataType() == DataType.FLOAT32
          && !(store instanceof BatchStatisticsSink)
          && store instanceof BlockNetwork.SubstituteStore sub && sub.fusedBatchNorm()) {
        return fused(store, x, d, c);
      }
      long[] channel = new long[rank];
      Arrays.fill(channel, 1);
      channel[1] = c;
      Shape cs = new Shape(channel);
      int[] axes = rank == 2 ? new int[] {0} : new int[] {0, 2, 3};
      // an array, not a number: DJL frees a number operand while the graph still points at it
      NDArray epsilon = x.getManager().create(eps).toType(x.getDataType(), false);
      NDArray gamma = store.getValue(bn.getParameters().get("gamma"), d, training).reshape(cs);
      NDArray beta = store.getValue(bn.getParameters().get("beta"), d, training).reshape(cs);
      NDArray centered;
      NDArray variance;
      if (training && trainingPass) {
        NDArray mean = channelMean(x, axes);
        centered = x.sub(mean);
        variance = channelMean(centered.square(), axes);
        if (store instanceof BatchStatisticsSink sink) {
          sink.batchStatistics(this, mean.reshape(c), variance.reshape(c), x.size() / c);
        }
      } else {
        NDArray rm = store.getValue(bn.getParameters().get("runningMean"), d, false).reshape(cs);
        NDArray rv = store.getValue(bn.getParameters().get("runningVar"), d, false).reshape(cs);
        centered = x.sub(rm);
        variance = rv;
      }
      return new NDList(centered.div(variance.add(epsilon).sqrt()).mul(gamma).add(beta));
    }

    /** Whether the layer normalises with batch statistics in a training pass (train mode). */
    boolean trainMode() {
      return training;
    }

    /** DJL's block holding the parameters and running statistics. */
    BatchNorm parameters() {
      return bn;
    }

    /**
     * Train mode in float32: PyTorch's fused {@code batch_norm}, the kernel DJL's {@code
     * BatchNorm} and PyTorch's own training use, with the same function and derivatives (PyTorch
     * differentiates its backward exactly, for Hessian-vector products). In float32 the spec's
     * {@code ε} rounded to float32, which is what DJL hands the kernel, is exactly the {@code ε}
     * of the primitive form in float32, so only the rounding of the arithmetic differs. The
     * primitive form took about twice the time of a whole forward and backward pass of the
     * framework's own step on the benchmark CNN ({@code sgdph bench}): five passes over the
     * activations forward, and their backward passes. The kernel updates the running statistics
     * handed to it in place: it gets throwaway arrays made for the call, never the block's
     * tracked {@code runningMean} and {@code runningVar}, so no forward pass changes them. Every
     * training-mode forward pass of the model uses it (losses and gradients agree whatever the
     * gradient graph), except the one that Jacobian- and Gauss-Newton-vector products
     * differentiate twice ({@code DjlCurvature}): their double backward pass through the fused
     * kernel's backward cost about 1.4 times that through the primitive form on the benchmark
     * CNN. An evaluation pass ({@code training} false: running statistics) and the pass of
     * {@link DjlSpecModel}'s running-statistics update (a {@link BatchStatisticsSink} store: the
     * kernel does not hand out its batch statistics) run the primitive form.
     */
    private NDList fused(ParameterStore store, NDArray x, Device d, long c) {
      NDArray gamma = store.getValue(bn.getParameters().get("gamma"), d, true);
      NDArray beta = store.getValue(bn.getParameters().get("beta"), d, true);
      NDArray runningMean = x.getManager().zeros(new Shape(c), x.getDataType(), d);
      NDArray runningVar = x.getManager().ones(new Shape(c), x.getDataType(), d);
      return BatchNorm.batchNorm(x, runningMean, runningVar, gamma, beta, 1, 0.9f, (float) eps,
          true);
    }

    /** The mean over {@code axes}, one axis at a time (PyTorch's engine takes one per call). */
    private static NDArray channelMean(NDArray a, int[] axes) {
      NDArray m = a;
      for (int axis : axes) {
        m = m.mean(new int[] {axis}, true);
      }
      return m;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
      return inputShapes;
    }

    @Override
    protected void initializeChildBlocks(
        NDManager manager, DataType dataType, Shape... inputShapes) {
      bn.initialize(manager, dataType, inputShapes);
    }
  }
}
