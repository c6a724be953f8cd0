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
import org.tensorflow.types.TInt32;
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
 *       a train-mode batch norm's running statistics are placeholders {@code [C]} fed from the
 *       model's tensors, read by a second, evaluation-mode forward chain ({@code eval_outputs},
 *       built once, no gradients) and updated by ops on the training chain's batch statistics;
 *   <li>activations {@code Relu}, {@code Tanh}, {@code Sigmoid}, exact softplus ({@link
 *       TfActivations#softplus}); pooling
 *       {@code MaxPoolV2} / {@code AvgPool} with {@code VALID} padding;
 *   <li>losses from {@link TfLosses}; the target placeholder is {@code [n, k]} (one-hot labels
 *       for cross-entropy);
 *   <li>lstm: unrolled through time from {@code MatMul}, {@code Sigmoid}, {@code Tanh}, {@code
 *       Mul}, {@code AddV2}, {@code Split}, {@code Unpack} and {@code Pack} ({@link TfLstm}),
 *       never TensorFlow's fused LSTM kernels, whose gradients have no gradient; sequences
 *       enter as {@code [N, T, F]} and a sequence output {@code [N, T, H]} is flattened
 *       row-major (time step, then unit);
 *   <li>graph models: an {@code add} node is {@code Add} of its inputs' tensors, {@code
 *       identity} an {@code Identity}, global average pooling a {@code Mean} over the spatial
 *       axes (NHWC {@code [1, 2]}).
 * </ul>
 */
final class SpecGraph {
  final Graph graph;
  final CurvatureGraph program;
  final List<Output<?>> inputs;
  /**
   * The outputs in evaluation mode, a second forward chain from the inputs built once: every
   * batch norm normalises with running statistics (a train-mode one with {@link #running}).
   */
  final Output<?> evalOutputs;
  /**
   * Placeholders {@code [C]} of the tracked running statistics of the train-mode batch norms, in
   * {@link ModelSpec#runningStatistics()} order (mean before variance).
   */
  final List<Output<?>> running;
  /**
   * The running statistics after folding in the batch statistics of the (training-mode) forward
   * pass, PyTorch's update with the unbiased batch variance, in the order of {@link #running}.
   */
  final List<Output<?>> updated;

  private SpecGraph(
      Graph graph, CurvatureGraph program, List<Output<?>> inputs, Output<?> evalOutputs,
      List<Output<?>> running, List<Output<?>> updated) {
    this.graph = graph;
    this.program = program;
    this.inputs = inputs;
    this.evalOutputs = evalOutputs;
    this.running = running;
    this.updated = updated;
  }

  /** Builds the graph; the caller owns (and closes) {@link #graph}. */
  static SpecGraph build(ModelSpec spec, List<NamedArray> entries, TfAlgebra algebra) {
    Graph g = new Graph();
    try {
      return buildInto(g, spec, entries, algebra);
    } catch (RuntimeException | Error e) {
      g.close();
      throw e;
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static SpecGraph buildInto(
      Graph graph, ModelSpec spec, List<NamedArray> entries, TfAlgebra algebra) {
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

    // every entry once: trainable ones as placeholders, eval-mode running statistics as constants
    List<Output<?>> params = new ArrayList<>();
    List<ModelSpec.Entry> es = spec.entries();
    List<Operand<TFloating>> values = new ArrayList<>();
    for (int e = 0; e < es.size(); e++) {
      values.add(es.get(e).trainable()
          ? param(tf, type, es.get(e), params)
          : constant(tf.withName("stat_" + es.get(e).name().replace('.', '_')), algebra,
              entries.get(e).valuesView()));
    }
    List<Output<?>> running = new ArrayList<>();
    for (ModelSpec.Entry e : spec.runningStatistics()) {
      running.add(tf.withName(e.name().replace('.', '_'))
          .placeholder(type, Placeholder.shape(Shape.of(e.shape()[0]))).output());
    }

    List<Output<?>> updated = new ArrayList<>();
    Operand<TFloating> h = chain(tf, spec, x, values, running, false, updated);
    Operand<TFloating> eval =
        chain(tf.withSubScope("eval"), spec, x, values, running, true, null);
    Output<TFloating> z = tf.withName("outputs").identity(h).output();
    Output<TFloating> ze = tf.withName("eval_outputs").identity(eval).output();
    Operand<TFloating> loss = switch (spec.loss()) {
      case SOFTMAX_CROSS_ENTROPY -> TfLosses.softmaxCrossEntropy(tf, z, y);
      case MSE -> TfLosses.meanSquaredError(tf, z, y);
      case SIGMOID_BINARY_CROSS_ENTROPY -> TfLosses.sigmoidBinaryCrossEntropy(tf, z, y);
    };
    Output<TFloating> l = tf.withName("loss").identity(loss).output();
    CurvatureGraph cg = new CurvatureGraph(graph, tf, params, z, l);
    return new SpecGraph(graph, cg, List.of(x, y), ze, List.copyOf(running),
        List.copyOf(updated));
  }

  /**
   * The nodes on the inputs {@code x}, in their topological order, each on the sum of its
   * inputs' outputs (an add node is that sum; a node read by several nodes is one tensor in the
   * graph, whose gradients TensorFlow sums over its consumers): in training mode ({@code eval}
   * false) train-mode batch norms normalise with batch statistics and add their running
   * statistics' update to {@code updated}; in evaluation mode they normalise with the
   * placeholders {@code running}.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Operand<TFloating> chain(
      Ops tf, ModelSpec spec, Output<TFloating> x, List<Operand<TFloating>> values,
      List<Output<?>> running, boolean eval, List<Output<?>> updated) {
    Operand<TFloating> input = x;
    if (spec.inputShape().length == 3) {
      input = tf.linalg.transpose(input, tf.constant(new int[] {0, 2, 3, 1}));
    }
    int e = 0;
    int r = 0;
    List<Operand<TFloating>> outs = new ArrayList<>();
    for (int l = 0; l < spec.layers().size(); l++) {
      LayerSpec layer = spec.layers().get(l);
      Ops lt = tf.withSubScope("layer" + l);
      // a node's input: its input's output, or the sum of its inputs' (an add); images are NHWC
      int[] from = spec.inputsOf(l);
      Operand<TFloating> h = from[0] < 0 ? input : outs.get(from[0]);
      for (int i = 1; i < from.length; i++) {
        h = lt.math.add(h, from[i] < 0 ? input : outs.get(from[i]));
      }
      boolean image = spec.shapeBefore(l).length == 3;
      if (layer instanceof LayerSpec.Dense d) {
        Operand<TFloating> w = values.get(e++);
        h = lt.linalg.matMul(h, w, MatMul.transposeB(true));
        if (d.bias()) {
          h = lt.nn.biasAdd(h, values.get(e++));
        }
      } else if (layer instanceof LayerSpec.Conv2d c) {
        Operand<TFloating> w = values.get(e++);
        if (c.padH() > 0 || c.padW() > 0) {
          h = lt.pad(h,
              lt.constant(new int[][] {{0, 0}, {c.padH(), c.padH()}, {c.padW(), c.padW()}, {0, 0}}),
              lt.constantOfSameType(h, 0.0));
        }
        Operand<TFloating> hwio = lt.linalg.transpose(w, lt.constant(new int[] {2, 3, 1, 0}));
        h = lt.nn.conv2d(h, hwio, List.of(1L, (long) c.strideH(), (long) c.strideW(), 1L), "VALID");
        if (c.bias()) {
          h = lt.nn.biasAdd(h, values.get(e++));
        }
      } else if (layer instanceof LayerSpec.BatchNorm b) {
        Operand<TFloating> gamma = values.get(e++);
        Operand<TFloating> beta = values.get(e++);
        Operand<TFloating> eps = lt.constantOfSameType(h, b.eps());
        Operand<TFloating> xhat;
        if (b.mode() == LayerSpec.Mode.TRAIN && !eval) {
          Operand<?> axes = lt.constant(image ? new int[] {0, 1, 2} : new int[] {0});
          Operand<TFloating> mean = lt.math.mean(h, (Operand) axes, Mean.keepDims(true));
          Operand<TFloating> centered = lt.math.sub(h, mean);
          Operand<TFloating> var =
              lt.math.mean(lt.math.square(centered), (Operand) axes, Mean.keepDims(true));
          xhat = lt.math.mul(centered, lt.math.rsqrt(lt.math.add(var, eps)));
          runningUpdate(lt, b, h, mean, var, running.get(r), running.get(r + 1), updated);
          r += 2;
        } else if (b.mode() == LayerSpec.Mode.TRAIN) {
          Operand<TFloating> rm = (Operand) running.get(r++);
          Operand<TFloating> rv = (Operand) running.get(r++);
          xhat = lt.math.mul(lt.math.sub(h, rm), lt.math.rsqrt(lt.math.add(rv, eps)));
        } else {
          Operand<TFloating> rm = values.get(e++);
          Operand<TFloating> rv = values.get(e++);
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
      } else if (layer instanceof LayerSpec.Lstm rnn) {
        int steps = spec.shapeBefore(l)[0];
        h = TfLstm.build(lt, rnn, steps, h, values.subList(e, e + 3 * rnn.numLayers()));
        e += 3 * rnn.numLayers();
      } else if (layer instanceof LayerSpec.Flatten) {
        if (image) {
          h = lt.linalg.transpose(h, lt.constant(new int[] {0, 3, 1, 2}));
        }
        if (spec.shapeBefore(l).length > 1) { // an image, or a sequence [T, H]
          h = lt.reshape(h, lt.constant(new int[] {-1, spec.outputShapeOf(l)[0]}));
        }
      } else if (layer instanceof LayerSpec.GlobalAvgPool) {
        h = lt.math.mean(h, lt.constant(new int[] {1, 2}));
      } else if (layer instanceof LayerSpec.Identity || layer instanceof LayerSpec.Add) {
        h = lt.identity(h);
      } else if (layer instanceof LayerSpec.Pool2d p) {
        int[] ksize = {1, p.kernelH(), p.kernelW(), 1};
        int[] strides = {1, p.strideH(), p.strideW(), 1};
        h = p.kind() == LayerSpec.PoolKind.MAX
            ? lt.nn.maxPool(h, lt.constant(ksize), lt.constant(strides), "VALID")
            : lt.nn.avgPool(h, longs(ksize), longs(strides), "VALID");
      } else {
        throw new IllegalArgumentException("layers[" + l + "]: unsupported " + layer.type());
      }
      outs.add(h);
    }
    return outs.get(outs.size() - 1);
  }

  /**
   * PyTorch's running-statistics update of a train-mode batch norm on input {@code h} with batch
   * mean {@code mean} and biased variance {@code var} (kept dimensions): {@code r_μ ← (1 − m)
   * r_μ + m μ_B}, {@code r_σ² ← (1 − m) r_σ² + m σ²_B M/(M − 1)} with {@code M} the values per
   * channel ({@code size(h) / C}).
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static void runningUpdate(
      Ops lt, LayerSpec.BatchNorm b, Operand<TFloating> h, Operand<TFloating> mean,
      Operand<TFloating> var, Output<?> rm, Output<?> rv, List<Output<?>> updated) {
    Ops u = lt.withSubScope("running");
    Operand<TInt32> c = u.constant(new int[] {b.features()});
    Operand<TFloating> m = u.constantOfSameType(h, b.momentum());
    Operand<TFloating> keep = u.constantOfSameType(h, 1 - b.momentum());
    Operand<TFloating> count = u.math.div(
        u.dtypes.cast(u.size(h), (Class<TFloating>) h.type()),
        u.constantOfSameType(h, b.features()));
    Operand<TFloating> unbias =
        u.math.div(count, u.math.sub(count, u.constantOfSameType(h, 1.0)));
    Operand<TFloating> mu = u.reshape(mean, c);
    Operand<TFloating> s2 = u.reshape(var, c);
    updated.add(u.withName("mean").math.add(
        u.math.mul(keep, (Operand) rm), u.math.mul(m, mu)).asOutput());
    updated.add(u.withName("var").math.add(
        u.math.mul(keep, (Operand) rv), u.math.mul(u.math.mul(m, s2), unbias)).asOutput());
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
