package io.github.sgdph.dl4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftPlus;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossL2;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;
import org.nd4j.linalg.lossfunctions.impl.LossNegativeLogLikelihood;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * What this adapter computes for a {@link MultiLayerNetwork} or a {@link ComputationGraph}: a
 * directed acyclic graph of {@link Op}s read from the network's configuration (layer by layer,
 * pre-processors and vertices included), listed in a topological order, each with the indices of
 * the ops whose outputs it takes ({@link #INPUT} for the network's input); the loss on the
 * output of one op; and the trainable parameters as views of the network's own parameter arrays
 * ({@code paramTable()}), so that updates land in the network.
 *
 * <p>A {@code MultiLayerNetwork} is the chain special case: op {@code i} takes op
 * {@code i − 1}'s output. In a {@code ComputationGraph} an op's output may be read by several
 * ops (fan-out; the backward passes add the gradients of all consumers) and a {@link JoinOp}
 * reads several outputs (fan-in).
 *
 * <p>Only exact layer types are accepted (a subclass such as {@code CenterLossOutputLayer} or
 * {@code Convolution1DLayer} computes something else); anything else is an
 * {@link UnsupportedLayerException}.
 */
final class NetworkPlan {
  /** The index standing for the network's input among an op's inputs. */
  static final int INPUT = -1;

  /**
   * A trainable parameter: DL4J key {@code "<layer>_<name>"}, the layer's id (its index in a
   * {@code MultiLayerNetwork}, its vertex name in a {@code ComputationGraph}), its op and slot,
   * and its view.
   */
  record Param(String key, String layer, String name, int op, int slot, INDArray view) {}

  /**
   * How to read a network.
   *
   * @param trainModeBatchNorm whether the batch norm of a layer id uses batch statistics
   * @param bcePerElement whether sigmoid binary cross-entropy is the mean over all elements (the
   *     spec's) rather than DL4J's XENT (sum over outputs, mean over samples)
   * @param transposedDenseBlocks whether the blocks of dense weights are PyTorch's
   *     {@code [out, in]} (the spec's) rather than DL4J's {@code [in, out]}: the dense ops then
   *     compute weight gradients column-major, in the blocks' row-major memory order, so that
   *     handing one out is a plain copy rather than a transpose
   */
  record Options(
      Predicate<String> trainModeBatchNorm, boolean bcePerElement,
      boolean transposedDenseBlocks) {}

  /** The network ({@code MultiLayerNetwork} or {@code ComputationGraph}). */
  final Model net;
  final DataType dataType;
  final List<Op> ops;
  /** {@code inputs[i]}: the ops whose outputs op i takes, in order ({@link #INPUT}: the input). */
  private final int[][] inputs;
  /** The layer id each op was read from (its parameters' key prefix). */
  private final String[] opLayer;
  /** The op whose output is the network output ({@link #INPUT} for the input itself). */
  final int output;
  final LossHead head;
  final List<Param> params;
  /** The known per-sample input dimensions (-1 where unknown), or null if unknown. */
  final long[] inputSample;
  /** The number of network outputs per sample, or -1 if the configuration does not say. */
  final long outputSize;

  private NetworkPlan(
      Model net, DataType dataType, List<Op> ops, int[][] inputs, String[] opLayer, int output,
      LossHead head, List<Param> params, long[] inputSample, long outputSize) {
    this.net = net;
    this.dataType = dataType;
    this.ops = List.copyOf(ops);
    this.inputs = inputs;
    this.opLayer = opLayer;
    this.output = output;
    this.head = head;
    this.params = List.copyOf(params);
    this.inputSample = inputSample;
    this.outputSize = outputSize;
  }

  /** The current parameter arrays per op and slot (the network's live views). */
  INDArray[][] liveParams() {
    INDArray[][] p = new INDArray[ops.size()][];
    for (int i = 0; i < p.length; i++) {
      p[i] = new INDArray[ops.get(i).slots()];
    }
    for (Param q : params) {
      p[q.op][q.slot] = q.view;
    }
    return p;
  }

  /**
   * The ops whose outputs op {@code i} takes.
   *
   * @return the plan's own array (do not modify it); {@link #INPUT} for the network's input
   */
  int[] inputsOf(int i) {
    return inputs[i];
  }

  /** The layer id (index or vertex name) op {@code i} was read from. */
  String layerOf(int i) {
    return opLayer[i];
  }

  /**
   * The ops that are marked or take, directly or not, the output of a marked op: those through
   * which a backward pass must run to reach the marked ones, and the only ones an R-forward pass
   * from them reaches.
   *
   * @param marked per op
   * @return per op
   */
  boolean[] atOrAfter(boolean[] marked) {
    boolean[] r = new boolean[ops.size()];
    for (int i = 0; i < r.length; i++) {
      r[i] = marked[i];
      for (int p : inputs[i]) {
        r[i] |= p != INPUT && r[p];
      }
    }
    return r;
  }

  /** Per input of op {@code i}: whether its producer is in {@code reach} (never the input). */
  boolean[] needIn(int i, boolean[] reach) {
    int[] in = inputs[i];
    boolean[] need = new boolean[in.length];
    for (int k = 0; k < in.length; k++) {
      need[k] = in[k] != INPUT && reach[in[k]];
    }
    return need;
  }

  /**
   * Adds {@code d[k]} (null: zero) to {@code acc} at op {@code i}'s input {@code k}, for every
   * input but the network's: the gradients of all the consumers of an output add up. Never
   * modifies an array of {@code d} or {@code acc} (one may be another op's argument).
   */
  void accumulate(int i, INDArray[] d, INDArray[] acc) {
    int[] in = inputs[i];
    for (int k = 0; k < in.length; k++) {
      int p = in[k];
      if (p != INPUT && d[k] != null) {
        acc[p] = acc[p] == null ? d[k] : acc[p].add(d[k]);
      }
    }
  }

  /** The arrays that op {@code i} takes: {@code x} or earlier ops' outputs. */
  INDArray[] inputValues(int i, INDArray x, Op.Node[] nodes) {
    int[] in = inputs[i];
    INDArray[] v = new INDArray[in.length];
    for (int k = 0; k < in.length; k++) {
      v[k] = in[k] == INPUT ? x : nodes[in[k]].out();
    }
    return v;
  }

  /**
   * Reads a {@code MultiLayerNetwork} or a {@code ComputationGraph}.
   *
   * @throws UnsupportedLayerException for a layer or vertex without an exact R-operator
   * @throws IllegalArgumentException for another kind of network
   */
  static NetworkPlan of(Model net, Options options) {
    if (net instanceof MultiLayerNetwork m) {
      return of(m, options);
    }
    if (net instanceof ComputationGraph g) {
      return of(g, options);
    }
    throw new IllegalArgumentException("network: a " + net.getClass().getName()
        + ", neither a MultiLayerNetwork nor a ComputationGraph");
  }

  /**
   * Reads a {@code MultiLayerNetwork}.
   *
   * @throws UnsupportedLayerException for a layer without an exact R-operator
   * @throws IllegalArgumentException for a network that is not initialised or not float32/64
   */
  static NetworkPlan of(MultiLayerNetwork net, Options options) {
    if (net.getLayers() == null || net.params() == null) {
      throw new IllegalArgumentException("network: not initialised; call init() first");
    }
    Reader r = new Reader(options);
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
    int count = net.getnLayers();
    long[] input = null;
    int cur = INPUT;
    for (int i = 0; i < count; i++) {
      org.deeplearning4j.nn.conf.layers.Layer lc = conf.getConf(i).getLayer();
      Site site = new Site(i, Integer.toString(i),
          "layer " + i + " (" + lc.getClass().getSimpleName() + ")");
      if (r.head != null) {
        throw site.unsupported(site.where + " after the output layer");
      }
      InputPreProcessor pre = conf.getInputPreProcess(i);
      long[] in = firstInput(lc);
      if (pre != null) {
        Site ps = new Site(i, site.id, "pre-processor of layer " + i + " ("
            + pre.getClass().getSimpleName() + ")");
        in = preprocessorInput(ps, pre);
        cur = r.preprocessor(ps, pre, cur);
      }
      if (i == 0) {
        input = in;
      }
      cur = r.layer(site, lc, net.getLayer(i), cur);
    }
    if (r.head == null) {
      throw new UnsupportedLayerException(count - 1,
          "a network whose last layer is not an OutputLayer or LossLayer");
    }
    return r.build(net, dataType(net.params(), "network"), cur, input);
  }

  /**
   * Reads a {@code ComputationGraph} of one input and one output: its vertices in DL4J's
   * topological order, {@code LayerVertex}es of the supported layers (with their
   * pre-processors), {@code ElementWiseVertex(Add)}, {@code MergeVertex} along dimension 1 and
   * {@code PreprocessorVertex}es of the supported pre-processors; the output vertex is an
   * {@code OutputLayer} or {@code LossLayer}.
   *
   * @throws UnsupportedLayerException naming the vertex without an exact R-operator
   * @throws IllegalArgumentException for a graph that is not initialised or not float32/64
   */
  static NetworkPlan of(ComputationGraph graph, Options options) {
    if (graph.getLayers() == null || graph.params() == null) {
      throw new IllegalArgumentException("graph: not initialised; call init() first");
    }
    ComputationGraphConfiguration conf = graph.getConfiguration();
    List<String> networkInputs = conf.getNetworkInputs();
    List<String> networkOutputs = conf.getNetworkOutputs();
    if (networkInputs.size() != 1 || networkOutputs.size() != 1) {
      throw new UnsupportedLayerException(networkOutputs.isEmpty() ? "" : networkOutputs.get(0),
          "a ComputationGraph with " + networkInputs.size() + " inputs and "
              + networkOutputs.size() + " outputs (one of each)");
    }
    String outputVertex = networkOutputs.get(0);
    Reader r = new Reader(options);
    Map<String, Integer> opOf = new HashMap<>();
    opOf.put(networkInputs.get(0), INPUT);
    long[] input = null;
    boolean inputSeen = false;
    for (String name : conf.getTopologicalOrderStr()) {
      if (networkInputs.contains(name)) {
        continue;
      }
      GraphVertex v = conf.getVertices().get(name);
      String kind = v instanceof LayerVertex lv
          ? lv.getLayerConf().getLayer().getClass().getSimpleName()
          : v.getClass().getSimpleName();
      Site site = new Site(-1, name, "vertex '" + name + "' (" + kind + ")");
      List<String> inNames = conf.getVertexInputs().get(name);
      int[] in = new int[inNames.size()];
      for (int k = 0; k < in.length; k++) {
        if (inNames.get(k).equals(outputVertex)) {
          throw site.unsupported(site.where + " after the output layer");
        }
        in[k] = opOf.get(inNames.get(k));
      }
      boolean readsInput = Arrays.stream(in).anyMatch(k -> k == INPUT);
      long[] sample = null;
      int out;
      if (v.getClass() == LayerVertex.class) {
        LayerVertex lv = (LayerVertex) v;
        int cur = single(site, in);
        org.deeplearning4j.nn.conf.layers.Layer lc = lv.getLayerConf().getLayer();
        sample = firstInput(lc);
        InputPreProcessor pre = lv.getPreProcessor();
        if (pre != null) {
          Site ps = new Site(-1, name, "pre-processor of " + site.where + " ("
              + pre.getClass().getSimpleName() + ")");
          sample = preprocessorInput(ps, pre);
          cur = r.preprocessor(ps, pre, cur);
        }
        LossHead before = r.head;
        out = r.layer(site, lc, graph.getLayer(name), cur);
        if (r.head != before && !name.equals(outputVertex)) {
          throw site.unsupported("an output layer, " + site.where
              + ", that is not the graph's output '" + outputVertex + "'");
        }
      } else if (v.getClass() == ElementWiseVertex.class) {
        ElementWiseVertex.Op op = ((ElementWiseVertex) v).getOp();
        if (op != ElementWiseVertex.Op.Add) {
          throw site.unsupported("ElementWiseVertex(" + op + "), " + site.where);
        }
        out = r.add(site, new JoinOp(site.where, JoinOp.Kind.ADD), in);
      } else if (v.getClass() == MergeVertex.class) {
        int axis = ((MergeVertex) v).getMergeAxis();
        if (axis != 1) {
          throw site.unsupported("merge axis " + axis + " on " + site.where);
        }
        out = r.add(site, new JoinOp(site.where, JoinOp.Kind.CONCAT), in);
      } else if (v.getClass() == PreprocessorVertex.class) {
        InputPreProcessor pre = ((PreprocessorVertex) v).getPreProcessor();
        sample = preprocessorInput(site, pre);
        out = r.preprocessor(site, pre, single(site, in));
      } else {
        throw site.unsupported(site.where);
      }
      if (readsInput && !inputSeen) {
        input = in.length == 1 ? sample : null;
        inputSeen = true;
      }
      opOf.put(name, out);
    }
    if (r.head == null) {
      throw new UnsupportedLayerException(outputVertex,
          "a graph whose output vertex '" + outputVertex
              + "' is not an OutputLayer or LossLayer");
    }
    return r.build(graph, dataType(graph.params(), "graph"), opOf.get(outputVertex), input);
  }

  private static int single(Site site, int[] in) {
    if (in.length != 1) {
      throw site.unsupported(in.length + " inputs to " + site.where);
    }
    return in[0];
  }

  private static DataType dataType(INDArray params, String what) {
    DataType dt = params.dataType();
    if (dt != DataType.FLOAT && dt != DataType.DOUBLE) {
      throw new IllegalArgumentException(
          what + ": data type " + dt + "; sgdph computes in FLOAT or DOUBLE");
    }
    return dt;
  }

  /** Where in the network a layer, vertex or pre-processor is, for messages and keys. */
  private record Site(int index, String id, String where) {
    UnsupportedLayerException unsupported(String what) {
      return index >= 0
          ? new UnsupportedLayerException(index, what)
          : new UnsupportedLayerException(id, what);
    }
  }

  /** The ops, their inputs and the parameters of a network as they are read. */
  private static final class Reader {
    final Options options;
    final char gradientOrder;
    final List<Op> ops = new ArrayList<>();
    final List<int[]> inputs = new ArrayList<>();
    final List<String> layers = new ArrayList<>();
    final List<Param> params = new ArrayList<>();
    LossHead head;
    long outputSize = -1;

    Reader(Options options) {
      this.options = options;
      this.gradientOrder = options.transposedDenseBlocks() ? 'f' : 'c';
    }

    /** Adds an op taking the outputs of {@code in}; returns its index. */
    int add(Site site, Op op, int... in) {
      ops.add(op);
      inputs.add(in.clone());
      layers.add(site.id);
      return ops.size() - 1;
    }

    private void param(Site site, Layer l, String name, int op, int slot) {
      INDArray view = l.getParam(name);
      if (view == null) {
        throw new IllegalArgumentException(site.where + ": no parameter '" + name + "'");
      }
      params.add(new Param(site.id + "_" + name, site.id, name, op, slot, view));
    }

    /** Reads one layer taking op {@code in}'s output; returns the op of its output. */
    int layer(Site site, org.deeplearning4j.nn.conf.layers.Layer lc, Layer layer, int in) {
      String where = site.where;
      if (lc.getIDropout() != null) {
        throw site.unsupported("dropout on " + where);
      }
      if (lc instanceof BaseLayer b && b.getWeightNoise() != null) {
        throw site.unsupported("weight noise on " + where);
      }
      Class<?> k = lc.getClass();
      if (k == DenseLayer.class) {
        DenseLayer d = (DenseLayer) lc;
        if (d.hasLayerNorm()) {
          throw site.unsupported("layer normalisation on " + where);
        }
        int z = affine(site, layer, d.hasBias(), in);
        return add(site, activation(site, d.getActivationFn()), z);
      }
      if (k == OutputLayer.class) {
        OutputLayer o = (OutputLayer) lc;
        int z = affine(site, layer, o.hasBias(), in);
        outputSize = o.getNOut();
        return head(site, o.getActivationFn(), o.getLossFn(), z, false);
      }
      if (k == RnnOutputLayer.class) {
        RnnOutputLayer o = (RnnOutputLayer) lc;
        requireNcw(site, o.getRnnDataFormat());
        int z = add(site, new TimeDistributedAffineOp(where, o.hasBias()), in);
        param(site, layer, "W", z, 0);
        if (o.hasBias()) {
          param(site, layer, "b", z, 1);
        }
        outputSize = o.getNOut();
        return head(site, o.getActivationFn(), o.getLossFn(), z, true);
      }
      if (k == LSTM.class) {
        return lstm(site, (LSTM) lc, layer, in);
      }
      if (k == LastTimeStep.class) {
        org.deeplearning4j.nn.conf.layers.Layer u = ((LastTimeStep) lc).getUnderlying();
        if (u.getClass() != LSTM.class) {
          throw site.unsupported(u.getClass().getSimpleName() + " in the LastTimeStep " + where);
        }
        int h = lstm(site, (LSTM) u, layer, in);
        return add(site, new LastStepOp(where, nwc((LSTM) u)), h);
      }
      if (k == GravesLSTM.class) {
        throw site.unsupported(where + ": peephole connections (use LSTM)");
      }
      if (k == LossLayer.class) {
        LossLayer o = (LossLayer) lc;
        return head(site, o.getActivationFn(), o.getLossFn(), in, false);
      }
      if (k == ActivationLayer.class) {
        return add(site, activation(site, ((ActivationLayer) lc).getActivationFn()), in);
      }
      if (k == BatchNormalization.class) {
        return batchNorm(site, (BatchNormalization) lc, layer, in);
      }
      if (k == ConvolutionLayer.class) {
        ConvolutionLayer c = (ConvolutionLayer) lc;
        requireNchw(site, c.getCnn2dDataFormat());
        Window win = window(site, c.getKernelSize(), c.getStride(), c.getPadding(),
            c.getDilation(), c.getConvolutionMode());
        int op = add(site, new ConvOp(where, win, c.hasBias()), in);
        param(site, layer, "W", op, 0);
        if (c.hasBias()) {
          param(site, layer, "b", op, 1);
        }
        return add(site, activation(site, c.getActivationFn()), op);
      }
      if (k == SubsamplingLayer.class) {
        SubsamplingLayer s = (SubsamplingLayer) lc;
        requireNchw(site, s.getCnn2dDataFormat());
        PoolingType pt = s.getPoolingType();
        if (pt != PoolingType.MAX && pt != PoolingType.AVG) {
          throw site.unsupported(pt + " pooling on " + where);
        }
        Window win = window(site, s.getKernelSize(), s.getStride(), s.getPadding(),
            s.getDilation(), s.getConvolutionMode());
        return add(site,
            new PoolOp(where, win, pt == PoolingType.MAX, s.isAvgPoolIncludePadInDivisor()), in);
      }
      if (k == GlobalPoolingLayer.class) {
        GlobalPoolingLayer g = (GlobalPoolingLayer) lc;
        int[] dims = g.getPoolingDimensions();
        if (g.getPoolingType() != PoolingType.AVG) {
          throw site.unsupported(g.getPoolingType() + " global pooling on " + where);
        }
        if (dims != null && !Arrays.equals(dims, new int[] {2, 3})) {
          throw site.unsupported(
              "global pooling over dimensions " + Arrays.toString(dims) + " on " + where);
        }
        return add(site, new GlobalAvgPoolOp(where, g.isCollapseDimensions()), in);
      }
      throw site.unsupported(where);
    }

    private int affine(Site site, Layer layer, boolean bias, int in) {
      int op = add(site, new AffineOp(site.where, bias, gradientOrder), in);
      param(site, layer, "W", op, 0);
      if (bias) {
        param(site, layer, "b", op, 1);
      }
      return op;
    }

    private int batchNorm(Site site, BatchNormalization b, Layer layer, int in) {
      if (b.getCnn2DFormat() == CNN2DFormat.NHWC) {
        throw site.unsupported("NHWC data on " + site.where);
      }
      BatchNormOp.RunningStatistics running = new BatchNormOp.RunningStatistics() {
        @Override
        public INDArray[] read() {
          INDArray mean = layer.getParam("mean");
          INDArray var;
          if (b.isUseLogStd()) {
            // DL4J stores log10(std) with std = sqrt(var): var = (10^l)²
            INDArray l = layer.getParam("log10stdev");
            var = Transforms.pow(Nd4j.valueArrayOf(l.shape(), 10.0, l.dataType()), l, false);
            var.muli(var);
          } else {
            var = layer.getParam("var");
          }
          return new INDArray[] {mean, var};
        }

        /** As DL4J's own training: {@code r ← decay·r + (1 − decay)·batch}, biased variance. */
        @Override
        public void update(INDArray batchMean, INDArray batchVar) {
          double d = b.getDecay();
          INDArray mean = layer.getParam("mean");
          mean.assign(mean.mul(d).addi(batchMean.reshape(mean.shape()).mul(1 - d)));
          INDArray var = read()[1];
          INDArray next = var.mul(d).addi(batchVar.reshape(var.shape()).mul(1 - d));
          if (b.isUseLogStd()) {
            // log10(std) = log10(sqrt(var)) = ½ log10(var)
            layer.getParam("log10stdev").assign(Transforms.log(next, 10.0, false).muli(0.5));
          } else {
            layer.getParam("var").assign(next);
          }
        }
      };
      double[] fixed = b.isLockGammaBeta() ? new double[] {b.getGamma(), b.getBeta()} : null;
      boolean train = options.trainModeBatchNorm().test(site.id);
      int op = add(site, new BatchNormOp(site.where, train, b.getEps(), fixed, running), in);
      if (fixed == null) {
        param(site, layer, "gamma", op, 0);
        param(site, layer, "beta", op, 1);
      }
      return op;
    }

    int preprocessor(Site site, InputPreProcessor pre, int in) {
      if (pre instanceof CnnToFeedForwardPreProcessor p
          && pre.getClass() == CnnToFeedForwardPreProcessor.class) {
        if (p.getFormat() == CNN2DFormat.NHWC) {
          throw site.unsupported("NHWC data in the " + site.where);
        }
        long f = p.getNumChannels() * p.getInputHeight() * p.getInputWidth();
        return add(site, new ReshapeOp(site.where, f), in);
      }
      if (pre instanceof FeedForwardToCnnPreProcessor p
          && pre.getClass() == FeedForwardToCnnPreProcessor.class) {
        return add(site,
            new ReshapeOp(site.where, p.getNumChannels(), p.getInputHeight(), p.getInputWidth()),
            in);
      }
      throw site.unsupported("the " + site.where);
    }

    /**
     * A DL4J {@code LSTM} (sigmoid gates, tanh activation, {@code NCW} or {@code NWC} data): an
     * {@link LstmOp} over DL4J's {@code W}, {@code RW} and {@code b}.
     */
    private int lstm(Site site, LSTM l, Layer layer, int in) {
      IActivation gate = l.getGateActivationFn();
      if (gate == null || gate.getClass() != ActivationSigmoid.class) {
        throw site.unsupported("the gate activation "
            + (gate == null ? "null" : gate.getClass().getSimpleName()) + " of " + site.where
            + " (sigmoid only)");
      }
      IActivation act = l.getActivationFn();
      if (act == null || act.getClass() != ActivationTanH.class) {
        throw site.unsupported("the activation "
            + (act == null ? "null" : act.getClass().getSimpleName()) + " of " + site.where
            + " (tanh only)");
      }
      int op = add(site, new LstmOp(site.where, l.getNOut(), nwc(l)), in);
      param(site, layer, "W", op, 0);
      param(site, layer, "RW", op, 1);
      param(site, layer, "b", op, 2);
      return op;
    }

    private int head(Site site, IActivation act, ILossFunction loss, int in, boolean sequence) {
      LossHead h = lossHead(site, act, loss, options.bcePerElement());
      head = sequence ? new LossHead(h.kind, h.perElement, h.description, true) : h;
      if (head.kind == LossHead.Kind.SQUARED_ERROR) {
        return add(site, activation(site, act), in);
      }
      return in;
    }

    /**
     * The plan, without the identity activations (they compute nothing: their consumers take
     * their input instead), the parameters' ops renumbered.
     *
     * @param output the op of the network output, before renumbering
     */
    NetworkPlan build(Model net, DataType dt, int output, long[] inputSample) {
      int n = ops.size();
      int[] to = new int[n];
      List<Op> kept = new ArrayList<>();
      List<int[]> keptInputs = new ArrayList<>();
      List<String> keptLayers = new ArrayList<>();
      for (int j = 0; j < n; j++) {
        Op o = ops.get(j);
        int[] in = inputs.get(j).clone();
        for (int k = 0; k < in.length; k++) {
          in[k] = in[k] == INPUT ? INPUT : to[in[k]];
        }
        if (o instanceof ActivationOp a && a.kind == ActivationOp.Kind.IDENTITY) {
          to[j] = in[0];
        } else {
          to[j] = kept.size();
          kept.add(o);
          keptInputs.add(in);
          keptLayers.add(layers.get(j));
        }
      }
      List<Param> fixed = new ArrayList<>();
      for (Param q : params) {
        fixed.add(new Param(q.key, q.layer, q.name, to[q.op], q.slot, q.view));
      }
      return new NetworkPlan(net, dt, kept, keptInputs.toArray(new int[0][]),
          keptLayers.toArray(new String[0]), output == INPUT ? INPUT : to[output], head, fixed,
          inputSample, outputSize);
    }
  }

  /** The per-sample input a pre-processor takes, as far as it says. */
  private static long[] preprocessorInput(Site site, InputPreProcessor pre) {
    if (pre instanceof CnnToFeedForwardPreProcessor p) {
      return new long[] {p.getNumChannels(), p.getInputHeight(), p.getInputWidth()};
    }
    if (pre instanceof FeedForwardToCnnPreProcessor p) {
      return new long[] {p.getNumChannels() * p.getInputHeight() * p.getInputWidth()};
    }
    throw site.unsupported("the " + site.where);
  }

  private static long[] firstInput(org.deeplearning4j.nn.conf.layers.Layer lc) {
    if (lc instanceof ConvolutionLayer c) {
      return new long[] {c.getNIn(), -1, -1};
    }
    if (lc instanceof SubsamplingLayer || lc instanceof GlobalPoolingLayer) {
      return new long[] {-1, -1, -1};
    }
    if (lc instanceof DenseLayer d) {
      return new long[] {d.getNIn()};
    }
    if (lc instanceof OutputLayer o) {
      return new long[] {o.getNIn()};
    }
    if (lc instanceof LSTM l) {
      return nwc(l) ? new long[] {-1, l.getNIn()} : new long[] {l.getNIn(), -1};
    }
    if (lc instanceof RnnOutputLayer o) {
      return new long[] {o.getNIn(), -1};
    }
    if (lc instanceof LastTimeStep w) {
      return firstInput(w.getUnderlying());
    }
    return null;
  }

  private static boolean nwc(LSTM l) {
    return l.getRnnDataFormat() == RNNFormat.NWC;
  }

  private static void requireNcw(Site site, RNNFormat f) {
    if (f == RNNFormat.NWC) {
      throw site.unsupported("NWC data on " + site.where + " (NCW: [n, features, time steps])");
    }
  }

  private static void requireNchw(Site site, CNN2DFormat f) {
    if (f == CNN2DFormat.NHWC) {
      throw site.unsupported("NHWC data on " + site.where);
    }
  }

  private static Window window(
      Site site, int[] k, int[] s, int[] p, int[] d, ConvolutionMode mode) {
    if (k.length != 2) {
      throw site.unsupported("a non-2-D kernel on " + site.where);
    }
    ConvolutionMode m = mode == null ? ConvolutionMode.Truncate : mode;
    if (m == ConvolutionMode.Causal) {
      throw site.unsupported("ConvolutionMode.Causal on " + site.where);
    }
    int[] dil = d == null ? new int[] {1, 1} : d;
    return new Window(k[0], k[1], s[0], s[1], p[0], p[1], dil[0], dil[1],
        m == ConvolutionMode.Same);
  }

  private static ActivationOp activation(Site site, IActivation a) {
    ActivationOp.Kind kind = elementwise(a);
    if (kind == null) {
      throw site.unsupported(
          "the activation " + (a == null ? "null" : a.getClass().getSimpleName()) + " of "
              + site.where);
    }
    return new ActivationOp(site.where, kind);
  }

  /** The element-wise activation of an {@link IActivation}, or null if unsupported. */
  private static ActivationOp.Kind elementwise(IActivation a) {
    if (a == null) {
      return null;
    }
    Class<?> k = a.getClass();
    if (k == ActivationIdentity.class) {
      return ActivationOp.Kind.IDENTITY;
    }
    if (k == ActivationReLU.class) {
      ActivationReLU r = (ActivationReLU) a;
      boolean plain = (r.getMax() == null)
          && (r.getThreshold() == null || r.getThreshold() == 0.0)
          && (r.getNegativeSlope() == null || r.getNegativeSlope() == 0.0);
      return plain ? ActivationOp.Kind.RELU : null;
    }
    if (k == ActivationTanH.class) {
      return ActivationOp.Kind.TANH;
    }
    if (k == ActivationSigmoid.class) {
      return ActivationOp.Kind.SIGMOID;
    }
    if (k == ActivationSoftPlus.class) {
      return ActivationOp.Kind.SOFTPLUS;
    }
    return null;
  }

  /** The loss head of an output layer (an MSE's output activation is an op of its own). */
  private static LossHead lossHead(
      Site site, IActivation act, ILossFunction loss, boolean bcePerElement) {
    String where = site.where;
    String desc = where + " " + (act == null ? "null" : act.getClass().getSimpleName()) + " + "
        + (loss == null ? "null" : loss.getClass().getSimpleName());
    if (loss == null) {
      throw site.unsupported("no loss function on " + where);
    }
    Class<?> lk = loss.getClass();
    if (lk == LossMCXENT.class || lk == LossNegativeLogLikelihood.class) {
      if (((LossMCXENT) loss).getWeights() != null) {
        throw site.unsupported("loss weights on " + where);
      }
      if (act == null || act.getClass() != ActivationSoftmax.class) {
        throw site.unsupported("the combination " + desc);
      }
      return new LossHead(LossHead.Kind.SOFTMAX_CROSS_ENTROPY, false, desc);
    }
    if (lk == LossBinaryXENT.class) {
      if (((LossBinaryXENT) loss).getWeights() != null) {
        throw site.unsupported("loss weights on " + where);
      }
      if (act == null || act.getClass() != ActivationSigmoid.class) {
        throw site.unsupported("the combination " + desc);
      }
      return new LossHead(LossHead.Kind.SIGMOID_BINARY_CROSS_ENTROPY, bcePerElement, desc);
    }
    if (lk == LossMSE.class || lk == LossL2.class) {
      if (((LossL2) loss).getWeights() != null) {
        throw site.unsupported("loss weights on " + where);
      }
      if (elementwise(act) == null) {
        throw site.unsupported("the combination " + desc);
      }
      return new LossHead(LossHead.Kind.SQUARED_ERROR, lk == LossMSE.class, desc);
    }
    throw site.unsupported("the loss of " + desc);
  }
}
