package io.github.sgdph.tensorflow;

import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.linalg.MatMul;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.family.TFloating;

/**
 * The forward graph of a {@link ModelSpec} in TensorFlow, in PyTorch's conventions: the
 * parameters are placeholders in PyTorch layout (dense {@code [out, in]}, conv {@code [out, in,
 * kh, kw]}) that the graph transposes; images enter as NCHW and are computed in NHWC (the only
 * layout of TensorFlow's CPU convolution and pooling kernels), and {@code flatten} transposes
 * back to channel-major order before reshaping, as {@code torch.flatten}.
 *
 * <ul>
 *   <li>dense: {@code MatMul(x, W, transpose_b) + b};
 *   <li>conv2d: zero {@code Pad}, then {@code Conv2D} with {@code VALID} padding (the explicit
 *       pad keeps every padding the second-order gradients see a plain {@code Pad}/{@code
 *       Slice});
 *   <li>batch norm in train mode from primitive ops ({@code Mean}, {@code Square}, {@code
 *       Rsqrt}): {@code x̂ = (x − μ) / sqrt(σ² + ε)} with the biased batch variance; in eval mode
 *       the running statistics are constants and {@code x̂ = (x − r_μ) · (r_σ² + ε)^{−1/2}}
 *       (the fused batch-norm ops are avoided: their gradients are not differentiable again);
 *   <li>activations {@code Relu}, {@code Tanh}, {@code Sigmoid}, exact softplus ({@link
 *       TfActivations#softplus}); pooling
 *       {@code MaxPoolV2} / {@code AvgPool} with {@code VALID} padding;
 *   <li>losses from {@link TfLosses}; the target placeholder is {@code [n, k]} (one-hot labels
 *       for cross-entropy).
 * </ul>
 */
final class SpecGraph {
  final Graph graph;
  final CurvatureGraph program;
  final List<Output<?>> inputs;

  private SpecGraph(Graph graph, CurvatureGraph program, List<Output<?>> inputs) {
    this.graph = graph;
    this.program = program;
    this.inputs = inputs;
  }

  /** Builds the graph; the caller owns (and closes) {@link #graph}. */
  static SpecGraph build(ModelSpec spec, List<NamedArray> entries, TfAlgebra algebra) {
    Graph g = new Graph();
    try {
      return new SpecGraph(g, null, null).buildInto(spec, entries, algebra);
    } catch (RuntimeException | Error e) {
      g.close();
      throw e;
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private SpecGraph buildInto(ModelSpec spec, List<NamedArray> entries, TfAlgebra algebra) {
    Ops tf = Ops.create(graph);
    Class<TFloating> type = (Class) algebra.tfType();
    int[] in = spec.inputShape();
    long[] xShape = new long[in.length + 1];
    xShape[0] = -1;
    for (int i = 0; i < in.length; i++) {
      xShape[i + 1] = in[i];
    }
    int k = spec.outputShape()[0];
    Output<TFloating> x =
        tf.withName("x").placeholder(type, Placeholder.shape(Shape.of(xShape))).output();
    Output<TFloating> y =
        tf.withName("y").placeholder(type, Placeholder.shape(Shape.of(-1, k))).output();

    List<Output<?>> params = new ArrayList<>();
    List<ModelSpec.Entry> es = spec.entries();
    Operand<TFloating> h = x;
    boolean image = in.length == 3;
    if (image) {
      h = tf.linalg.transpose(h, tf.constant(new int[] {0, 2, 3, 1}));
    }
    int e = 0;
    for (int l = 0; l < spec.layers().size(); l++) {
      LayerSpec layer = spec.layers().get(l);
      Ops lt = tf.withSubScope("layer" + l);
      if (layer instanceof LayerSpec.Dense d) {
        Output<TFloating> w = param(tf, type, es.get(e++), params);
        h = lt.linalg.matMul(h, w, MatMul.transposeB(true));
        if (d.bias()) {
          h = lt.nn.biasAdd(h, param(tf, type, es.get(e++), params));
        }
      } else if (layer instanceof LayerSpec.Conv2d c) {
        Output<TFloating> w = param(tf, type, es.get(e++), params);
        if (c.padH() > 0 || c.padW() > 0) {
          h = lt.pad(h,
              lt.constant(new int[][] {{0, 0}, {c.padH(), c.padH()}, {c.padW(), c.padW()}, {0, 0}}),
              lt.constantOfSameType(h, 0.0));
        }
        Operand<TFloating> hwio = lt.linalg.transpose(w, lt.constant(new int[] {2, 3, 1, 0}));
        h = lt.nn.conv2d(h, hwio, List.of(1L, (long) c.strideH(), (long) c.strideW(), 1L), "VALID");
        if (c.bias()) {
          h = lt.nn.biasAdd(h, param(tf, type, es.get(e++), params));
        }
      } else if (layer instanceof LayerSpec.BatchNorm b) {
        Output<TFloating> gamma = param(tf, type, es.get(e++), params);
        Output<TFloating> beta = param(tf, type, es.get(e++), params);
        Operand<TFloating> eps = lt.constantOfSameType(h, b.eps());
        Operand<TFloating> xhat;
        if (b.mode() == LayerSpec.Mode.TRAIN) {
          Operand<?> axes = lt.constant(image ? new int[] {0, 1, 2} : new int[] {0});
          Operand<TFloating> mean = lt.math.mean(h, (Operand) axes, Mean.keepDims(true));
          Operand<TFloating> centered = lt.math.sub(h, mean);
          Operand<TFloating> var =
              lt.math.mean(lt.math.square(centered), (Operand) axes, Mean.keepDims(true));
          xhat = lt.math.mul(centered, lt.math.rsqrt(lt.math.add(var, eps)));
        } else {
          Operand<TFloating> rm = constant(lt, algebra, entries.get(e++).valuesView());
          Operand<TFloating> rv = constant(lt, algebra, entries.get(e++).valuesView());
          xhat = lt.math.mul(lt.math.sub(h, rm), lt.math.rsqrt(lt.math.add(rv, eps)));
        }
        h = lt.math.add(lt.math.mul(xhat, gamma), beta);
      } else if (layer instanceof LayerSpec.Activation a) {
        h = switch (a.kind()) {
          case RELU -> lt.nn.relu(h);
          case TANH -> lt.math.tanh(h);
          case SIGMOID -> lt.math.sigmoid(h);
          case SOFTPLUS -> TfActivations.softplus(lt, h); // not TensorFlow's thresholded kernel
        };
      } else if (layer instanceof LayerSpec.Flatten) {
        if (image) {
          h = lt.linalg.transpose(h, lt.constant(new int[] {0, 3, 1, 2}));
          h = lt.reshape(h, lt.constant(new int[] {-1, spec.shapeBefore(l + 1)[0]}));
          image = false;
        }
      } else if (layer instanceof LayerSpec.Pool2d p) {
        int[] ksize = {1, p.kernelH(), p.kernelW(), 1};
        int[] strides = {1, p.strideH(), p.strideW(), 1};
        h = p.kind() == LayerSpec.PoolKind.MAX
            ? lt.nn.maxPool(h, lt.constant(ksize), lt.constant(strides), "VALID")
            : lt.nn.avgPool(h, longs(ksize), longs(strides), "VALID");
      } else {
        throw new IllegalArgumentException("layers[" + l + "]: unsupported " + layer.type());
      }
    }
    Output<TFloating> z = tf.withName("outputs").identity(h).output();
    Operand<TFloating> loss = switch (spec.loss()) {
      case SOFTMAX_CROSS_ENTROPY -> TfLosses.softmaxCrossEntropy(tf, z, y);
      case MSE -> TfLosses.meanSquaredError(tf, z, y);
      case SIGMOID_BINARY_CROSS_ENTROPY -> TfLosses.sigmoidBinaryCrossEntropy(tf, z, y);
    };
    Output<TFloating> l = tf.withName("loss").identity(loss).output();
    CurvatureGraph cg = new CurvatureGraph(graph, tf, params, z, l);
    return new SpecGraph(graph, cg, List.of(x, y));
  }

  private static List<Long> longs(int[] a) {
    List<Long> out = new ArrayList<>(a.length);
    for (int v : a) {
      out.add((long) v);
    }
    return out;
  }

  private static Output<TFloating> param(
      Ops tf, Class<TFloating> type, ModelSpec.Entry e, List<Output<?>> params) {
    int[] s = e.shape();
    long[] ls = new long[s.length];
    for (int i = 0; i < s.length; i++) {
      ls[i] = s[i];
    }
    Output<TFloating> p =
        tf.withName("param_" + e.name().replace('.', '_'))
            .placeholder(type, Placeholder.shape(Shape.of(ls)))
            .output();
    params.add(p);
    return p;
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Operand<TFloating> constant(Ops tf, TfAlgebra algebra, double[] values) {
    if (algebra.dtype() == DType.FLOAT64) {
      return (Operand) tf.constant(values);
    }
    float[] f = new float[values.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) values[i];
    }
    return (Operand) tf.constant(f);
  }
}
