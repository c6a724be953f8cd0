package io.github.sgdph.tensorflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.conformance.FiniteDifferences;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.BlockDiagonalHessianFree;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Unstack;
import org.tensorflow.types.TFloat64;

/**
 * A TensorFlow user's own graph with an LSTM (issue 20): a two-layer LSTM over sequences and a
 * dense head, written by hand as a TensorFlow Java user would, in Keras' layout and the way
 * Keras' {@code LSTMCell} computes it unrolled ({@code keras.layers.LSTM(unroll=True)}): the
 * batch transposed to time-major and unstacked into steps, per layer {@code kernel [in, 4H]},
 * {@code recurrent_kernel [H, 4H]}, {@code bias [4H]}, {@code z = x_t kernel + h recurrent_kernel
 * + bias} split into the gates {@code i, f, c, o}, zero initial states made with {@code Fill},
 * then {@code h_T dense.kernel + dense.bias}. It runs through {@link TfGraphModel}.
 *
 * <ul>
 *   <li>The Keras ↔ case-format mapping (docs/CASE-FORMAT.md: {@code kernel = weight_ihᵀ},
 *       {@code recurrent_kernel = weight_hhᵀ}, {@code bias = bias}, gate order the same): the
 *       bundled case {@code lstm-fashion-rows-sgn}'s weights, transposed into the user graph,
 *       give the reference backend's loss, gradient, Hessian-, Gauss-Newton- and Jacobian-vector
 *       products and per-term gradients (transposed back) to 1e-11 max-norm relative; both are
 *       exact, so they agree to rounding.
 *   <li>Against central finite differences in float64 (step 1e-5 along unit directions:
 *       truncation ~1e-10 and rounding ~1e-11 relative, so 1e-7 separates an exact product from
 *       a wrong one), on the user graph with a mean-squared-error loss {@code L = mean (z −
 *       y)²} over the {@code n·k} outputs: {@code gᵀv} against differences of the loss, {@code
 *       Hv} against differences of the gradient, {@code Jv} against differences of the outputs
 *       {@code z = y + (nk/2) ∂L/∂z}, and {@code Gv = (2/nk) Jᵀ J v} ({@code H_L = (2/nk) I})
 *       both as {@code (2/nk) Jᵀ (Jv)_fd} and as the scalar {@code wᵀ G v = (2/nk) (Jw)_fdᵀ
 *       (Jv)_fd}.
 *   <li>Block-restricted products are the diagonal blocks of the full one; per-term gradients
 *       are the gradients of one-sample objectives and average to the gradient.
 *   <li>Block-diagonal HF (one block per LSTM layer and one for the head) and SGD-PH steps run
 *       and lower the loss.
 * </ul>
 */
class TfUserLstmGraphTest {
  private static final int LAYERS = 2;
  private static final double TOL = 1e-11;
  private static final double FD_TOL = 1e-7;
  private static final double H = 1e-5;

  private final CaseFile c = BundledCases.load("lstm-fashion-rows-sgn.json");
  private final int steps = c.model().inputShape()[0];
  private final int features = c.model().inputShape()[1];
  private final int hidden = 8;
  private final int classes = c.model().outputShape()[0];

  /** Keras' names of the user's tensors, in the case's order. */
  private static String kerasName(int i) {
    String layer = i / 3 < LAYERS ? (i / 3 == 0 ? "lstm" : "lstm_" + i / 3) : "dense";
    String[] roles = i / 3 < LAYERS
        ? new String[] {"kernel", "recurrent_kernel", "bias"}
        : new String[] {"kernel", "bias"};
    return layer + "." + roles[i % 3];
  }

  /**
   * The case's entries in Keras' layout: every matrix transposed ({@code weight_ih [4H, in]} to
   * {@code kernel [in, 4H]}, {@code weight_hh} to {@code recurrent_kernel}, the dense {@code
   * weight [k, H]} to {@code kernel [H, k]}), biases as they are, gate order unchanged.
   */
  static List<NamedArray> toKeras(List<NamedArray> entries) {
    List<NamedArray> out = new ArrayList<>();
    for (int i = 0; i < entries.size(); i++) {
      NamedArray e = entries.get(i);
      int[] s = e.shape();
      out.add(s.length == 2
          ? new NamedArray(kerasName(i), new int[] {s[1], s[0]},
              TfGraphModelTest.transpose(e.valuesView(), s[0], s[1]))
          : new NamedArray(kerasName(i), s, e.valuesView()));
    }
    return out;
  }

  /**
   * A flat vector over a layout with 2-D blocks {@code [r, c]} to the layout with those blocks
   * {@code [c, r]}: the user's ↔ the reference's layout, either way.
   */
  static double[] transposeBlocks(ParameterLayout from, double[] v) {
    double[] out = v.clone();
    int o = 0;
    for (int b = 0; b < from.blockCount(); b++) {
      int[] s = from.block(b).shape();
      int size = 1;
      for (int d : s) {
        size *= d;
      }
      if (s.length == 2) {
        double[] t = TfGraphModelTest.transpose(
            java.util.Arrays.copyOfRange(v, o, o + size), s[0], s[1]);
        System.arraycopy(t, 0, out, o, size);
      }
      o += size;
    }
    return out;
  }

  /** The user's graph: Keras' LSTM unrolled, then the head, with cross-entropy or MSE. */
  private TfGraphModel userModel(List<NamedArray> keras, boolean crossEntropy) {
    TfGraphModel.Builder b = TfGraphModel.builder(DType.FLOAT64)
        .input("x", steps, features)
        .input("y", classes)
        .device(TfDevice.CPU);
    keras.forEach(b::parameter);
    return b.forward(ctx -> {
      Ops tf = ctx.tf();
      Operand<TFloat64> x = ctx.input("x");
      // time-major, one [N, F] tensor per step (Keras' backend.rnn with unroll=True)
      Operand<TFloat64> timeMajor = tf.linalg.transpose(x, tf.constant(new int[] {1, 0, 2}));
      List<Operand<TFloat64>> seq = new ArrayList<>();
      for (Operand<TFloat64> s : tf.unstack(timeMajor, (long) steps, Unstack.axis(0L))) {
        seq.add(s);
      }
      Operand<TFloat64> h = null;
      for (int l = 0; l < LAYERS; l++) {
        Operand<TFloat64> kernel = ctx.parameter(kerasName(3 * l));
        Operand<TFloat64> recurrent = ctx.parameter(kerasName(3 * l + 1));
        Operand<TFloat64> bias = ctx.parameter(kerasName(3 * l + 2));
        // zero initial states [N, H]
        Operand<TFloat64> zeros = tf.fill(
            tf.concat(List.of(
                tf.slice(tf.shape(seq.get(0)), tf.constant(new int[] {0}),
                    tf.constant(new int[] {1})),
                tf.constant(new int[] {hidden})), tf.constant(0)),
            tf.constant(0.0));
        h = zeros;
        Operand<TFloat64> cell = zeros;
        List<Operand<TFloat64>> out = new ArrayList<>();
        for (Operand<TFloat64> xt : seq) {
          Operand<TFloat64> z = tf.math.add(tf.math.add(tf.linalg.matMul(xt, kernel),
              tf.linalg.matMul(h, recurrent)), bias);
          List<Operand<TFloat64>> g = new ArrayList<>();
          tf.split(tf.constant(1), z, 4L).forEach(g::add);
          Operand<TFloat64> i = tf.math.sigmoid(g.get(0));
          Operand<TFloat64> f = tf.math.sigmoid(g.get(1));
          Operand<TFloat64> cc = tf.math.tanh(g.get(2));
          Operand<TFloat64> o = tf.math.sigmoid(g.get(3));
          cell = tf.math.add(tf.math.mul(f, cell), tf.math.mul(i, cc));
          h = tf.math.mul(o, tf.math.tanh(cell));
          out.add(h);
        }
        seq = out;
      }
      Operand<TFloat64> z = tf.math.add(
          tf.linalg.matMul(h, ctx.parameter("dense.kernel")), ctx.parameter("dense.bias"));
      Operand<TFloat64> y = ctx.input("y");
      Operand<TFloat64> loss = crossEntropy
          ? tf.math.neg(tf.math.mean(tf.reduceSum(tf.math.mul(y, tf.nn.logSoftmax(z)),
              tf.constant(1)), tf.constant(0)))
          : tf.math.mean(tf.math.squaredDifference(z, y), tf.constant(new int[] {0, 1}));
      return TfForward.Outputs.of(z, loss);
    }).build();
  }

  /** The case's batch {@code t} for the user graph: {@code x [n, T, F]}, one-hot {@code y}. */
  private TfBatch batch(int t) {
    ArrayBatch b = c.batches().get(t);
    int n = b.size();
    double[] oneHot = new double[n * classes];
    for (int i = 0; i < n; i++) {
      oneHot[i * classes + (int) b.yView()[i]] = 1;
    }
    return TfBatch.builder().put("x", b.xView(), b.xShape()).put("y", oneHot, n, classes)
        .build();
  }

  /** Regression targets {@code N(0, 1)} for the MSE form, with the case's sequences. */
  private TfBatch regression(int t) {
    ArrayBatch b = c.batches().get(t);
    SplittableRandom r = new SplittableRandom(40 + t);
    double[] y = new double[b.size() * classes];
    for (int i = 0; i < y.length; i++) {
      y[i] = r.nextGaussian();
    }
    return TfBatch.builder().put("x", b.xView(), b.xShape()).put("y", y, b.size(), classes)
        .build();
  }

  private static void close(double[] expected, double[] actual, double tol, String what) {
    double err = TrajectoryComparison.relative(actual, expected);
    assertTrue(err <= tol, what + ": relative deviation " + err);
  }

  @Test
  void kerasLayoutRoundTripsToTheCaseFormat() {
    List<NamedArray> keras = toKeras(c.parameters());
    assertEquals(List.of(4 * hidden, hidden * 4), List.of(keras.get(0).shape()[1],
        keras.get(1).shape()[1]));
    assertEquals(List.of(features, hidden, hidden),
        List.of(keras.get(0).shape()[0], keras.get(1).shape()[0], keras.get(3).shape()[0]));
    try (TfGraphModel m = userModel(keras, true)) {
      double[] back = transposeBlocks(m.layout(), m.parameters().toDoubleArray());
      double[] expected = c.parameters().stream()
          .flatMapToDouble(p -> java.util.Arrays.stream(p.valuesView())).toArray();
      close(expected, back, 0, "user parameters mapped back to the case");
    }
  }

  @Test
  void caseWeightsInTheUserGraphGiveTheReferenceProducts() {
    ArrayBatch rb = c.batches().get(0);
    try (TfGraphModel m = userModel(toKeras(c.parameters()), true);
        SpecModel ref = SpecBackend.find("reference").build(c.model(), c.parameters(),
            DType.FLOAT64);
        Curvature uc = m.objective(batch(0)).curvature();
        Curvature rc = ref.objective(rb).curvature()) {
      double[] u = ParameterVector.randomNormal(m.algebra(), m.layout(), new SplittableRandom(7))
          .toDoubleArray();
      ParameterVector v = ParameterVector.fromArray(m.algebra(), m.layout(), u);
      ParameterVector rv = ParameterVector.fromArray(ref.algebra(), ref.layout(),
          transposeBlocks(m.layout(), u));
      ParameterLayout rl = ref.layout();
      assertEquals(rc.loss(), uc.loss(), 1e-12 * rc.loss(), "loss");
      close(transposeBlocks(rl, rc.gradient().toDoubleArray()), uc.gradient().toDoubleArray(),
          TOL, "gradient");
      close(transposeBlocks(rl, rc.hvp(rv).toDoubleArray()), uc.hvp(v).toDoubleArray(), TOL,
          "Hv");
      close(transposeBlocks(rl, rc.ggnvp(rv).toDoubleArray()), uc.ggnvp(v).toDoubleArray(), TOL,
          "Gv");
      close(rc.jvp(rv).toDoubleArray(), uc.jvp(v).toDoubleArray(), TOL, "Jv");
      List<ParameterVector> ut = uc.perTermGradients();
      List<ParameterVector> rt = rc.perTermGradients();
      assertEquals(rb.size(), ut.size());
      for (int i = 0; i < ut.size(); i++) {
        close(transposeBlocks(rl, rt.get(i).toDoubleArray()), ut.get(i).toDoubleArray(), TOL,
            "per-term gradient " + i);
      }
    }
  }

  @Test
  void productsMatchCentralFiniteDifferences() {
    TfBatch batch = regression(0);
    int n = c.batches().get(0).size();
    double scale = n * classes / 2.0; // z = y + (nk/2) ∂L/∂z for L = mean (z − y)²
    try (TfGraphModel m = userModel(toKeras(c.parameters()), false);
        ParameterVector v = unit(m, 21);
        ParameterVector w = unit(m, 22)) {
      Objective o = m.objective(batch);
      double[] jvFd = scaled(FiniteDifferences.central(m, v, H, mm -> outputGradient(o)), scale);
      double[] jwFd = scaled(FiniteDifferences.central(m, w, H, mm -> outputGradient(o)), scale);
      double[] fdHv = FiniteDifferences.hessianVector(m, o, v, H);
      try (Curvature cv = o.curvature(); ParameterVector g = cv.gradient();
          ParameterVector hv = cv.hvp(v); ParameterVector gv = cv.ggnvp(v);
          Tensor jv = cv.jvp(v)) {
        double gtv = g.dot(v);
        double fd = FiniteDifferences.directional(o, v, H);
        assertEquals(fd, gtv, FD_TOL * Math.abs(fd), "gᵀv vs differences of the loss");
        close(fdHv, hv.toDoubleArray(), FD_TOL, "Hv vs differences of the gradient");
        close(jvFd, jv.toDoubleArray(), FD_TOL, "Jv vs differences of the outputs");
        try (Tensor jvT = m.algebra().fromArray(jvFd, jv.shape());
            ParameterVector jtjv = cv.vjp(jvT)) {
          close(jtjv.scale(1 / scale).toDoubleArray(), gv.toDoubleArray(), FD_TOL,
              "Gv vs (2/nk) Jᵀ (Jv)_fd");
        }
        double form = 0;
        for (int i = 0; i < jvFd.length; i++) {
          form += jwFd[i] * jvFd[i];
        }
        form /= scale;
        assertEquals(form, w.dot(gv), FD_TOL * Math.abs(form), "wᵀGv vs (2/nk) (Jw)ᵀ(Jv)");
      }
    }
  }

  @Test
  void restrictedProductsAndPerTermGradientsAreConsistent() {
    try (TfGraphModel m = userModel(toKeras(c.parameters()), true);
        ParameterVector v = unit(m, 31)) {
      Objective o = m.objective(batch(0));
      try (Curvature cv = o.curvature()) {
        for (ParameterLayout block : BlockDiagonalHessianFree.Partition.LAYER
            .blocksOf(m.layout())) {
          try (ParameterVector full = cv.hvp(v.restrict(block).expandTo(m.layout()));
              ParameterVector restricted = cv.hvp(v.restrict(block));
              ParameterVector fullG = cv.ggnvp(v.restrict(block).expandTo(m.layout()));
              ParameterVector restrictedG = cv.ggnvp(v.restrict(block))) {
            assertEquals(block, restricted.layout());
            close(full.restrict(block).toDoubleArray(), restricted.toDoubleArray(), TOL,
                "H_SS v of " + block);
            close(fullG.restrict(block).toDoubleArray(), restrictedG.toDoubleArray(), TOL,
                "G_SS v of " + block);
          }
        }
        List<ParameterVector> terms = cv.perTermGradients();
        double[] mean = new double[Math.toIntExact(m.layout().dimension())];
        for (int i = 0; i < terms.size(); i++) {
          double[] t = terms.get(i).toDoubleArray();
          try (Curvature one = o.subBatch(i).curvature(); ParameterVector gi = one.gradient()) {
            close(gi.toDoubleArray(), t, TOL, "term " + i + " vs its one-sample gradient");
          }
          for (int j = 0; j < t.length; j++) {
            mean[j] += t[j] / terms.size();
          }
        }
        close(cv.gradient().toDoubleArray(), mean, TOL, "mean of the per-term gradients");
      }
    }
  }

  @Test
  void blockDiagonalHfHasOneBlockPerLstmLayerAndOneForTheHead() {
    try (TfGraphModel m = userModel(toKeras(c.parameters()), true)) {
      List<List<String>> names = new ArrayList<>();
      for (ParameterLayout b : BlockDiagonalHessianFree.Partition.LAYER.blocksOf(m.layout())) {
        List<String> n = new ArrayList<>();
        for (int i = 0; i < b.blockCount(); i++) {
          n.add(b.block(i).name());
        }
        names.add(n);
      }
      assertEquals(List.of(
          List.of("lstm.kernel", "lstm.recurrent_kernel", "lstm.bias"),
          List.of("lstm_1.kernel", "lstm_1.recurrent_kernel", "lstm_1.bias"),
          List.of("dense.kernel", "dense.bias")), names);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"bdhf", "sgdph"})
  void secondOrderStepsRunAndLowerTheLoss(String name) {
    Map<String, Object> hyper = name.equals("bdhf")
        ? Map.of("lambda", 1.0, "cg_max_iter", 10)
        : Map.of("lr", 0.1);
    Optimizer opt = Optimizers.create(new OptimizerSpec(name, hyper));
    try (TfGraphModel m = userModel(toKeras(c.parameters()), true)) {
      Objective o = m.objective(batch(0));
      double first = o.loss();
      for (int t = 0; t < 5; t++) {
        double loss = opt.step(o).loss();
        assertTrue(Double.isFinite(loss), name + ": step " + t + " loss " + loss);
      }
      assertTrue(o.loss() < first, name + ": loss " + first + " → " + o.loss());
    }
  }

  private static ParameterVector unit(TfGraphModel m, long seed) {
    ParameterVector v =
        ParameterVector.randomNormal(m.algebra(), m.layout(), new SplittableRandom(seed));
    return v.scale(1 / v.norm());
  }

  private static double[] outputGradient(Objective o) {
    try (Curvature cv = o.curvature(); Tensor dz = cv.outputGradient()) {
      return dz.toDoubleArray();
    }
  }

  private static double[] scaled(double[] a, double s) {
    for (int i = 0; i < a.length; i++) {
      a[i] *= s;
    }
    return a;
  }
}
