package io.github.sgdph.dl4j;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
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
 * What this adapter computes for a {@link MultiLayerNetwork}: the chain of {@link Op}s read from
 * the network's configuration (layer by layer, pre-processors included), the loss, and the
 * trainable parameters as views of the network's own parameter arrays ({@code paramTable()}),
 * so that updates land in the network.
 *
 * <p>Only exact layer types are accepted (a subclass such as {@code CenterLossOutputLayer} or
 * {@code Convolution1DLayer} computes something else); anything else is an
 * {@link UnsupportedLayerException}.
 */
final class NetworkPlan {

  /** A trainable parameter: DL4J key {@code "<layer>_<name>"}, its op and slot, and its view. */
  record Param(String key, int layer, String name, int op, int slot, INDArray view) {}

  final MultiLayerNetwork net;
  final DataType dataType;
  final List<Op> ops;
  final LossHead head;
  final List<Param> params;
  /** The known per-sample input dimensions (-1 where unknown), or null if unknown. */
  final long[] inputSample;
  /** The number of network outputs per sample, or -1 if the configuration does not say. */
  final long outputSize;

  private NetworkPlan(
      MultiLayerNetwork net, DataType dataType, List<Op> ops, LossHead head, List<Param> params,
      long[] inputSample, long outputSize) {
    this.net = net;
    this.dataType = dataType;
    this.ops = List.copyOf(ops);
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
   * Reads a network.
   *
   * @param trainModeBatchNorm whether the batch norm of a layer index uses batch statistics
   * @param bcePerElement whether sigmoid binary cross-entropy is the mean over all elements (the
   *     spec's) rather than DL4J's XENT (sum over outputs, mean over samples)
   * @param transposedDenseBlocks whether the blocks of dense weights are PyTorch's
   *     {@code [out, in]} (the spec's) rather than DL4J's {@code [in, out]}: the dense ops then
   *     compute weight gradients column-major, in the blocks' row-major memory order, so that
   *     handing one out is a plain copy rather than a transpose
   * @throws UnsupportedLayerException for a layer without an exact R-operator
   * @throws IllegalArgumentException for a network that is not initialised or not float32/64
   */
  static NetworkPlan of(
      MultiLayerNetwork net, IntPredicate trainModeBatchNorm, boolean bcePerElement,
      boolean transposedDenseBlocks) {
    char gradientOrder = transposedDenseBlocks ? 'f' : 'c';
    if (net.getLayers() == null || net.params() == null) {
      throw new IllegalArgumentException("network: not initialised; call init() first");
    }
    DataType dt = net.params().dataType();
    if (dt != DataType.FLOAT && dt != DataType.DOUBLE) {
      throw new IllegalArgumentException(
          "network: data type " + dt + "; sgdph computes in FLOAT or DOUBLE");
    }
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
    int count = net.getnLayers();
    List<Op> ops = new ArrayList<>();
    List<Param> params = new ArrayList<>();
    LossHead head = null;
    long[] input = null;
    long outputSize = -1;
    for (int i = 0; i < count; i++) {
      org.deeplearning4j.nn.conf.layers.Layer lc = conf.getConf(i).getLayer();
      Layer layer = net.getLayer(i);
      String where = "layer " + i + " (" + lc.getClass().getSimpleName() + ")";
      if (head != null) {
        throw new UnsupportedLayerException(i, where + " after the output layer");
      }
      if (lc.getIDropout() != null) {
        throw new UnsupportedLayerException(i, "dropout on " + where);
      }
      if (lc instanceof BaseLayer b && b.getWeightNoise() != null) {
        throw new UnsupportedLayerException(i, "weight noise on " + where);
      }
      InputPreProcessor pre = conf.getInputPreProcess(i);
      if (pre != null) {
        long[] s = preprocessor(i, pre, ops);
        if (i == 0) {
          input = s;
        }
      } else if (i == 0) {
        input = firstInput(lc);
      }
      Class<?> k = lc.getClass();
      if (k == DenseLayer.class) {
        DenseLayer d = (DenseLayer) lc;
        if (d.hasLayerNorm()) {
          throw new UnsupportedLayerException(i, "layer normalisation on " + where);
        }
        affine(i, where, layer, d.hasBias(), gradientOrder, ops, params);
        ops.add(activation(i, where, d.getActivationFn()));
      } else if (k == OutputLayer.class) {
        OutputLayer o = (OutputLayer) lc;
        affine(i, where, layer, o.hasBias(), gradientOrder, ops, params);
        head = head(i, where, o.getActivationFn(), o.getLossFn(), bcePerElement, ops);
        outputSize = o.getNOut();
      } else if (k == LossLayer.class) {
        LossLayer o = (LossLayer) lc;
        head = head(i, where, o.getActivationFn(), o.getLossFn(), bcePerElement, ops);
      } else if (k == ActivationLayer.class) {
        ops.add(activation(i, where, ((ActivationLayer) lc).getActivationFn()));
      } else if (k == BatchNormalization.class) {
        batchNorm(i, where, (BatchNormalization) lc, layer, trainModeBatchNorm.test(i), ops,
            params);
      } else if (k == ConvolutionLayer.class) {
        ConvolutionLayer c = (ConvolutionLayer) lc;
        requireNchw(i, where, c.getCnn2dDataFormat());
        Window win = window(i, where, c.getKernelSize(), c.getStride(), c.getPadding(),
            c.getDilation(), c.getConvolutionMode());
        int op = ops.size();
        ops.add(new ConvOp(where, win, c.hasBias()));
        params.add(param(i, layer, "W", op, 0));
        if (c.hasBias()) {
          params.add(param(i, layer, "b", op, 1));
        }
        ops.add(activation(i, where, c.getActivationFn()));
      } else if (k == SubsamplingLayer.class) {
        SubsamplingLayer s = (SubsamplingLayer) lc;
        requireNchw(i, where, s.getCnn2dDataFormat());
        PoolingType pt = s.getPoolingType();
        if (pt != PoolingType.MAX && pt != PoolingType.AVG) {
          throw new UnsupportedLayerException(i, pt + " pooling on " + where);
        }
        Window win = window(i, where, s.getKernelSize(), s.getStride(), s.getPadding(),
            s.getDilation(), s.getConvolutionMode());
        ops.add(new PoolOp(where, win, pt == PoolingType.MAX, s.isAvgPoolIncludePadInDivisor()));
      } else {
        throw new UnsupportedLayerException(i, where);
      }
    }
    if (head == null) {
      throw new UnsupportedLayerException(count - 1,
          "a network whose last layer is not an OutputLayer or LossLayer");
    }
    // identity activations compute nothing: drop them, renumbering the parameters' ops
    int[] renumber = new int[ops.size()];
    List<Op> kept = new ArrayList<>();
    for (int j = 0; j < ops.size(); j++) {
      Op o = ops.get(j);
      renumber[j] = kept.size();
      if (!(o instanceof ActivationOp a && a.kind == ActivationOp.Kind.IDENTITY)) {
        kept.add(o);
      }
    }
    List<Param> fixed = new ArrayList<>();
    for (Param q : params) {
      fixed.add(new Param(q.key, q.layer, q.name, renumber[q.op], q.slot, q.view));
    }
    return new NetworkPlan(net, dt, kept, head, fixed, input, outputSize);
  }

  private static Param param(int layer, Layer l, String name, int op, int slot) {
    INDArray view = l.getParam(name);
    if (view == null) {
      throw new IllegalArgumentException("layer " + layer + ": no parameter '" + name + "'");
    }
    return new Param(layer + "_" + name, layer, name, op, slot, view);
  }

  private static void affine(
      int i, String where, Layer layer, boolean bias, char gradientOrder, List<Op> ops,
      List<Param> params) {
    int op = ops.size();
    ops.add(new AffineOp(where, bias, gradientOrder));
    params.add(param(i, layer, "W", op, 0));
    if (bias) {
      params.add(param(i, layer, "b", op, 1));
    }
  }

  private static void batchNorm(
      int i, String where, BatchNormalization b, Layer layer, boolean train, List<Op> ops,
      List<Param> params) {
    if (b.getCnn2DFormat() == CNN2DFormat.NHWC) {
      throw new UnsupportedLayerException(i, "NHWC data on " + where);
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
    int op = ops.size();
    ops.add(new BatchNormOp(where, train, b.getEps(), fixed, running));
    if (fixed == null) {
      params.add(param(i, layer, "gamma", op, 0));
      params.add(param(i, layer, "beta", op, 1));
    }
  }

  private static long[] preprocessor(int i, InputPreProcessor pre, List<Op> ops) {
    String where = "pre-processor of layer " + i + " (" + pre.getClass().getSimpleName() + ")";
    if (pre instanceof CnnToFeedForwardPreProcessor p
        && pre.getClass() == CnnToFeedForwardPreProcessor.class) {
      if (p.getFormat() == CNN2DFormat.NHWC) {
        throw new UnsupportedLayerException(i, "NHWC data in the " + where);
      }
      long f = p.getNumChannels() * p.getInputHeight() * p.getInputWidth();
      ops.add(new ReshapeOp(where, f));
      return new long[] {p.getNumChannels(), p.getInputHeight(), p.getInputWidth()};
    }
    if (pre instanceof FeedForwardToCnnPreProcessor p
        && pre.getClass() == FeedForwardToCnnPreProcessor.class) {
      ops.add(new ReshapeOp(where, p.getNumChannels(), p.getInputHeight(), p.getInputWidth()));
      return new long[] {p.getNumChannels() * p.getInputHeight() * p.getInputWidth()};
    }
    throw new UnsupportedLayerException(i, "the " + where);
  }

  private static long[] firstInput(org.deeplearning4j.nn.conf.layers.Layer lc) {
    if (lc instanceof ConvolutionLayer c) {
      return new long[] {c.getNIn(), -1, -1};
    }
    if (lc instanceof SubsamplingLayer) {
      return new long[] {-1, -1, -1};
    }
    if (lc instanceof DenseLayer d) {
      return new long[] {d.getNIn()};
    }
    if (lc instanceof OutputLayer o) {
      return new long[] {o.getNIn()};
    }
    return null;
  }

  private static void requireNchw(int i, String where, CNN2DFormat f) {
    if (f == CNN2DFormat.NHWC) {
      throw new UnsupportedLayerException(i, "NHWC data on " + where);
    }
  }

  private static Window window(
      int i, String where, int[] k, int[] s, int[] p, int[] d, ConvolutionMode mode) {
    if (k.length != 2) {
      throw new UnsupportedLayerException(i, "a non-2-D kernel on " + where);
    }
    ConvolutionMode m = mode == null ? ConvolutionMode.Truncate : mode;
    if (m == ConvolutionMode.Causal) {
      throw new UnsupportedLayerException(i, "ConvolutionMode.Causal on " + where);
    }
    int[] dil = d == null ? new int[] {1, 1} : d;
    return new Window(k[0], k[1], s[0], s[1], p[0], p[1], dil[0], dil[1],
        m == ConvolutionMode.Same);
  }

  private static ActivationOp activation(int i, String where, IActivation a) {
    ActivationOp.Kind kind = elementwise(a);
    if (kind == null) {
      throw new UnsupportedLayerException(
          i, "the activation " + (a == null ? "null" : a.getClass().getSimpleName()) + " of "
              + where);
    }
    return new ActivationOp(where, kind);
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

  private static LossHead head(
      int i, String where, IActivation act, ILossFunction loss, boolean bcePerElement,
      List<Op> ops) {
    String desc = where + " " + (act == null ? "null" : act.getClass().getSimpleName()) + " + "
        + (loss == null ? "null" : loss.getClass().getSimpleName());
    if (loss == null) {
      throw new UnsupportedLayerException(i, "no loss function on " + where);
    }
    Class<?> lk = loss.getClass();
    if (lk == LossMCXENT.class || lk == LossNegativeLogLikelihood.class) {
      if (((LossMCXENT) loss).getWeights() != null) {
        throw new UnsupportedLayerException(i, "loss weights on " + where);
      }
      if (act == null || act.getClass() != ActivationSoftmax.class) {
        throw new UnsupportedLayerException(i, "the combination " + desc);
      }
      return new LossHead(LossHead.Kind.SOFTMAX_CROSS_ENTROPY, false, desc);
    }
    if (lk == LossBinaryXENT.class) {
      if (((LossBinaryXENT) loss).getWeights() != null) {
        throw new UnsupportedLayerException(i, "loss weights on " + where);
      }
      if (act == null || act.getClass() != ActivationSigmoid.class) {
        throw new UnsupportedLayerException(i, "the combination " + desc);
      }
      return new LossHead(LossHead.Kind.SIGMOID_BINARY_CROSS_ENTROPY, bcePerElement, desc);
    }
    if (lk == LossMSE.class || lk == LossL2.class) {
      if (((LossL2) loss).getWeights() != null) {
        throw new UnsupportedLayerException(i, "loss weights on " + where);
      }
      ActivationOp.Kind kind = elementwise(act);
      if (kind == null) {
        throw new UnsupportedLayerException(i, "the combination " + desc);
      }
      ops.add(new ActivationOp(where, kind));
      return new LossHead(LossHead.Kind.SQUARED_ERROR, lk == LossMSE.class, desc);
    }
    throw new UnsupportedLayerException(i, "the loss of " + desc);
  }
}
