package io.github.sgdph.benchmarks;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.tensor.DType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.framework.optimizers.Momentum;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.ndarray.buffer.DoubleDataBuffer;
import org.tensorflow.ndarray.buffer.FloatDataBuffer;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TFloating;

/**
 * TensorFlow Java's idiomatic training step in graph mode: variables, the forward pass written
 * with the graph's {@link Ops} in TensorFlow's own layouts (NHWC images, dense weights
 * {@code [in, out]}, conv filters {@code [kh, kw, in, out]}), batch norm as
 * {@code tf.nn.moments} and {@code tf.nn.batch_normalization} compute it, softmax
 * cross-entropy with one-hot labels — the fused {@code SoftmaxCrossEntropyWithLogits} op in
 * float32 (TensorFlow has no C++ gradient for the sparse one, which graph-mode Java needs), in
 * float64 from {@code LogSoftmax} (the fused op's gradient fails there) — and
 * {@code tensorflow-framework}'s
 * {@link GradientDescent} or {@link Momentum} optimizer ({@code minimize}); one
 * {@link Session} run of the training op per step, with the batch fed as tensors made once.
 * The spec's parameters (PyTorch layout) are transposed into TensorFlow's on import and back on
 * export; the flattening of NHWC activations permutes the rows of the following dense weight.
 */
final class TfNativeStep implements NativeStep {
  private final Graph graph;
  private final Session session;
  private final Op train;
  private final Placeholder<?> x;
  private final Placeholder<?> y;
  private final Tensor xTensor;
  private final Tensor yTensor;
  private final boolean float64;
  private final boolean momentum;
  /** Spec entry → its variable, and the permutation with tf[j] = pytorch[perm[j]]. */
  private final Map<String, Variable<?>> vars = new LinkedHashMap<>();
  private final Map<String, int[]> perms = new LinkedHashMap<>();
  private boolean closed;

  @SuppressWarnings({"unchecked", "rawtypes"})
  TfNativeStep(ModelSpec spec, List<NamedArray> init, ArrayBatch batch, DType dtype, double lr,
      double momentum) {
    this.float64 = dtype == DType.FLOAT64;
    this.momentum = momentum != 0;
    Class<TFloating> type = (Class) (float64 ? TFloat64.class : TFloat32.class);
    Map<String, NamedArray> values = new LinkedHashMap<>();
    init.forEach(a -> values.put(a.name(), a));
    Graph g = new Graph();
    Session s = null;
    Tensor xt = null;
    Tensor yt = null;
    try {
      Ops tf = Ops.create(g);
      int[] in = spec.inputShape();
      boolean image = in.length == 3;
      long[] xShape = image ? new long[] {-1, in[1], in[2], in[0]} : new long[] {-1, in[0]};
      Placeholder<TFloating> input = tf.placeholder(type, Placeholder.shape(Shape.of(xShape)));
      int k = spec.outputShape()[0];
      Placeholder<TFloating> labels = tf.placeholder(type, Placeholder.shape(Shape.of(-1, k)));
      Operand<TFloating> h = input;
      int[] hwc = image ? new int[] {in[1], in[2], in[0]} : null; // current NHWC image shape
      int[] flattenedFrom = null;
      List<LayerSpec> layers = spec.layers();
      for (int i = 0; i < layers.size(); i++) {
        LayerSpec l = layers.get(i);
        String p = i + ".";
        if (l instanceof LayerSpec.Dense d) {
          int[] perm = denseWeightPermutation(d.out(), d.in(), flattenedFrom);
          flattenedFrom = null;
          h = tf.linalg.matMul(h, variable(tf, type, p + "weight", values, new long[] {d.in(), d.out()}, perm));
          if (d.bias()) {
            h = tf.nn.biasAdd(h, variable(tf, type, p + "bias", values, new long[] {d.out()}, null));
          }
        } else if (l instanceof LayerSpec.Conv2d c) {
          boolean same = c.strideH() == 1 && c.strideW() == 1 && c.kernelH() % 2 == 1
              && c.kernelW() % 2 == 1 && c.padH() == c.kernelH() / 2 && c.padW() == c.kernelW() / 2;
          if (!same && (c.padH() != 0 || c.padW() != 0)) {
            h = tf.pad(h, tf.constant(new int[][] {{0, 0}, {c.padH(), c.padH()}, {c.padW(), c.padW()}, {0, 0}}),
                (Operand) (float64 ? tf.constant(0.0) : tf.constant(0f)));
          }
          int[] perm = permutation(new int[] {c.out(), c.in(), c.kernelH(), c.kernelW()},
              new int[] {2, 3, 1, 0});
          h = tf.nn.conv2d(h,
              variable(tf, type, p + "weight", values,
                  new long[] {c.kernelH(), c.kernelW(), c.in(), c.out()}, perm),
              List.of(1L, (long) c.strideH(), (long) c.strideW(), 1L), same ? "SAME" : "VALID");
          if (c.bias()) {
            h = tf.nn.biasAdd(h, variable(tf, type, p + "bias", values, new long[] {c.out()}, null));
          }
          int[] out = spec.shapeBefore(i + 1);
          hwc = new int[] {out[1], out[2], out[0]};
        } else if (l instanceof LayerSpec.BatchNorm b && b.mode() == LayerSpec.Mode.TRAIN) {
          Operand<TFloating> gamma = variable(tf, type, p + "weight", values, new long[] {b.features()}, null);
          Operand<TFloating> beta = variable(tf, type, p + "bias", values, new long[] {b.features()}, null);
          // tf.nn.moments and tf.nn.batch_normalization
          Operand<TInt32> axes = tf.constant(hwc != null ? new int[] {0, 1, 2} : new int[] {0});
          Operand<TFloating> mean = tf.math.mean(h, axes, Mean.keepDims(true));
          Operand<TFloating> variance = tf.math.mean(
              tf.math.squaredDifference(h, tf.stopGradient(mean)), axes, Mean.keepDims(true));
          Operand<TFloating> eps = (Operand) (float64 ? tf.constant(b.eps()) : tf.constant((float) b.eps()));
          Operand<TFloating> inv = tf.math.mul(tf.math.rsqrt(tf.math.add(variance, eps)), gamma);
          h = tf.math.add(tf.math.mul(h, inv), tf.math.sub(beta, tf.math.mul(mean, inv)));
        } else if (l instanceof LayerSpec.Activation a
            && a.kind() != LayerSpec.ActivationKind.SOFTPLUS) {
          h = switch (a.kind()) {
            case RELU -> tf.nn.relu(h);
            case TANH -> tf.math.tanh(h);
            default -> tf.math.sigmoid(h);
          };
        } else if (l instanceof LayerSpec.Pool2d q && q.kind() == LayerSpec.PoolKind.MAX) {
          h = tf.nn.maxPool(h, tf.constant(new int[] {1, q.kernelH(), q.kernelW(), 1}),
              tf.constant(new int[] {1, q.strideH(), q.strideW(), 1}), "VALID");
          int[] out = spec.shapeBefore(i + 1);
          hwc = new int[] {out[1], out[2], out[0]};
        } else if (l instanceof LayerSpec.Flatten) {
          if (hwc != null) {
            flattenedFrom = hwc;
            h = tf.reshape(h, tf.constant(new int[] {-1, hwc[0] * hwc[1] * hwc[2]}));
            hwc = null;
          }
        } else {
          throw new IllegalArgumentException(
              "layers[" + i + "]: the TensorFlow baseline does not build " + l);
        }
      }
      // the fused op in float32; in float64 its C++ gradient mixes in a float32 constant and
      // fails, so there the loss is written with log-softmax
      Operand<TFloating> perSample = float64
          ? tf.math.neg(tf.reduceSum(tf.math.mul(labels, tf.nn.logSoftmax(h)), tf.constant(1)))
          : tf.nn.softmaxCrossEntropyWithLogits(h, labels).loss();
      Operand<TFloating> loss = tf.math.mean(perSample, tf.constant(0));
      Optimizer opt = momentum == 0
          ? new GradientDescent(g, (float) lr)
          : new Momentum(g, (float) lr, (float) momentum, false);
      this.train = opt.minimize(loss);
      s = new Session(g);
      s.initialize();
      xt = feedX(batch, image);
      int n = batch.size();
      double[] oneHot = new double[n * k];
      for (int i = 0; i < n; i++) {
        oneHot[i * k + (int) batch.yView()[i]] = 1;
      }
      yt = float64
          ? TFloat64.tensorOf(Shape.of(n, k), DataBuffers.of(oneHot))
          : TFloat32.tensorOf(Shape.of(n, k), DataBuffers.of(toFloat(oneHot)));
      this.x = input;
      this.y = labels;
    } catch (RuntimeException | Error e) {
      if (xt != null) {
        xt.close();
      }
      if (yt != null) {
        yt.close();
      }
      if (s != null) {
        s.close();
      }
      g.close();
      throw e;
    }
    this.graph = g;
    this.session = s;
    this.xTensor = xt;
    this.yTensor = yt;
  }

  /** The inputs in TensorFlow's layout: NCHW images become NHWC. */
  private Tensor feedX(ArrayBatch batch, boolean image) {
    double[] v = batch.xView();
    int[] s = batch.xShape();
    double[] t = v;
    long[] shape = new long[s.length];
    for (int i = 0; i < s.length; i++) {
      shape[i] = s[i];
    }
    if (image) {
      int[] perm = permutation(s, new int[] {0, 2, 3, 1});
      t = new double[v.length];
      for (int j = 0; j < t.length; j++) {
        t[j] = v[perm[j]];
      }
      shape = new long[] {s[0], s[2], s[3], s[1]};
    }
    return float64
        ? TFloat64.tensorOf(Shape.of(shape), DataBuffers.of(t))
        : TFloat32.tensorOf(Shape.of(shape), DataBuffers.of(toFloat(t)));
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private Operand<TFloating> variable(Ops tf, Class<TFloating> type, String entry,
      Map<String, NamedArray> values, long[] tfShape, int[] perm) {
    NamedArray a = values.get(entry);
    if (a == null) {
      throw new IllegalArgumentException("parameters: no initial value for " + entry);
    }
    double[] src = a.valuesView();
    double[] v = src;
    if (perm != null) {
      v = new double[src.length];
      for (int j = 0; j < v.length; j++) {
        v[j] = src[perm[j]];
      }
    }
    Shape shape = Shape.of(tfShape);
    Operand init = float64
        ? tf.constant(shape, DataBuffers.of(v))
        : tf.constant(shape, DataBuffers.of(toFloat(v)));
    Variable<TFloating> var = tf.variable((Operand<TFloating>) init);
    vars.put(entry, var);
    perms.put(entry, perm);
    return var;
  }

  /**
   * For a dense layer: TensorFlow's weight {@code [in, out]} from PyTorch's {@code [out, in]};
   * after a flatten of NHWC activations {@code [H, W, C]}, TensorFlow's row {@code (h·W + w)·C +
   * c} is PyTorch's column {@code c·H·W + h·W + w}.
   */
  private static int[] denseWeightPermutation(int out, int in, int[] hwc) {
    int[] perm = new int[out * in];
    for (int r = 0; r < in; r++) {
      int col = r;
      if (hwc != null) {
        int c = r % hwc[2];
        int hw = r / hwc[2];
        col = c * hwc[0] * hwc[1] + hw;
      }
      for (int o = 0; o < out; o++) {
        perm[r * out + o] = o * in + col;
      }
    }
    return perm;
  }

  /**
   * The permutation of a row-major transpose: {@code result[j] = source[perm[j]]} where the
   * result's axis {@code k} is the source's axis {@code axes[k]}.
   */
  static int[] permutation(int[] shape, int[] axes) {
    int rank = shape.length;
    int size = 1;
    for (int d : shape) {
      size *= d;
    }
    int[] srcStride = new int[rank];
    int st = 1;
    for (int k = rank - 1; k >= 0; k--) {
      srcStride[k] = st;
      st *= shape[k];
    }
    int[] outShape = new int[rank];
    for (int k = 0; k < rank; k++) {
      outShape[k] = shape[axes[k]];
    }
    int[] perm = new int[size];
    int[] idx = new int[rank];
    for (int j = 0; j < size; j++) {
      int src = 0;
      for (int k = 0; k < rank; k++) {
        src += idx[k] * srcStride[axes[k]];
      }
      perm[j] = src;
      for (int k = rank - 1; k >= 0; k--) {
        if (++idx[k] < outShape[k]) {
          break;
        }
        idx[k] = 0;
      }
    }
    return perm;
  }

  private static float[] toFloat(double[] v) {
    float[] f = new float[v.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) v[i];
    }
    return f;
  }

  @Override
  public String description() {
    return "TensorFlow Java Session.run of tensorflow-framework's "
        + (momentum ? "Momentum" : "GradientDescent") + ".minimize";
  }

  @Override
  public boolean nesterov() {
    return false;
  }

  @Override
  public void step() {
    // no fetches: the run applies the update to the variables; its (empty) result is closed
    session.runner().feed(x, xTensor).feed(y, yTensor).addTarget(train).run().close();
  }

  @Override
  public Map<String, double[]> trainableParameters() {
    Map<String, double[]> out = new LinkedHashMap<>();
    for (Map.Entry<String, Variable<?>> e : vars.entrySet()) {
      double[] tfValues;
      try (Result r = session.runner().fetch(e.getValue()).run()) {
        Tensor t = r.get(0);
        int size = (int) t.shape().size();
        if (float64) {
          DoubleDataBuffer b = DataBuffers.ofDoubles(size);
          ((TFloat64) t).copyTo(b);
          tfValues = new double[size];
          b.read(tfValues);
        } else {
          FloatDataBuffer b = DataBuffers.ofFloats(size);
          ((TFloat32) t).copyTo(b);
          float[] f = new float[size];
          b.read(f);
          tfValues = new double[size];
          for (int i = 0; i < size; i++) {
            tfValues[i] = f[i];
          }
        }
      }
      int[] perm = perms.get(e.getKey());
      double[] pt = tfValues;
      if (perm != null) {
        pt = new double[tfValues.length];
        for (int j = 0; j < perm.length; j++) {
          pt[perm[j]] = tfValues[j];
        }
      }
      out.put(e.getKey(), pt);
    }
    return out;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      xTensor.close();
      yTensor.close();
      session.close();
    } finally {
      graph.close();
    }
  }
}
