package io.github.sgdph.tensorflow;

import static io.github.sgdph.tensorflow.TfPerTermGradientsTest.closeAll;
import static io.github.sgdph.tensorflow.TfPerTermGradientsTest.distance;
import static io.github.sgdph.tensorflow.TfPerTermGradientsTest.largestNorm;
import static io.github.sgdph.tensorflow.TfPerTermGradientsTest.norm;
import static io.github.sgdph.tensorflow.TfPerTermGradientsTest.termwise;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.family.TFloating;

/**
 * Per-term gradients of a user-built graph ({@link TfGraphModel}): the train-mode batch-norm MLP
 * of {@code cases/mlp-batchnorm-sgdph.json} written with TensorFlow ops and TensorFlow's weight
 * layout ({@code x W}, {@code W [in, out]}), with a per-sample weight input {@code w} in its
 * cross-entropy, {@code L = −(1/n) Σ_i w_i Σ_j y_ij log softmax(z_i)_j}. With {@code w = 1} it
 * is the spec network's loss; with {@code w = n e_i} (the forward pass, and so the batch
 * statistics, unchanged) its ordinary gradient is the term {@code g_i}, an independent route to
 * the per-term gradients:
 *
 * <ul>
 *   <li>{@code (1/n) Σ g_i} is the gradient (1e-12 relative in float64, 1e-5 in float32);
 *   <li>{@code g_i} is the gradient of the reweighted loss (1e-12 / 1e-5 of the largest term);
 *   <li>{@code g_i · v} is the central difference of the reweighted loss along {@code v}
 *       (float64, 1e-6 relative);
 *   <li>{@code g_i} is the reference backend's term of the same network as a spec (1e-10 /
 *       1e-4 of the largest term).
 * </ul>
 */
class TfGraphModelPerTermTest {
  private static final int N = 20;
  private static final int IN = 10;
  private static final int HID = 16;
  private static final int OUT = 3;

  private final SplittableRandom rnd = new SplittableRandom(17);
  private final double[] w1 = gaussian(IN * HID, 0.4);
  private final double[] gamma = shifted(gaussian(HID, 0.3), 1.0);
  private final double[] beta = gaussian(HID, 0.3);
  private final double[] w2 = gaussian(HID * OUT, 0.4);
  private final double[] b2 = gaussian(OUT, 0.2);
  private final double[] x = gaussian(N * IN, 1.0);
  private final double[] y = oneHot();

  private double[] gaussian(int n, double scale) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rnd.nextGaussian() * scale;
    }
    return v;
  }

  private static double[] shifted(double[] v, double by) {
    for (int i = 0; i < v.length; i++) {
      v[i] += by;
    }
    return v;
  }

  private double[] oneHot() {
    double[] v = new double[N * OUT];
    for (int i = 0; i < N; i++) {
      v[i * OUT + rnd.nextInt(OUT)] = 1;
    }
    return v;
  }

  private double[] labels() {
    double[] l = new double[N];
    for (int i = 0; i < N; i++) {
      for (int j = 0; j < OUT; j++) {
        if (y[i * OUT + j] == 1) {
          l[i] = j;
        }
      }
    }
    return l;
  }

  private TfGraphModel userModel(DType dtype) {
    return userModel(dtype, Outputs.PLAIN);
  }

  /** What the model declares as its outputs. */
  enum Outputs {
    /** The logits {@code z}, of static shape {@code [?, 3]}. */
    PLAIN,
    /** {@code z} reshaped by a shape unknown before running: static shape {@code [?, ?]}. */
    OPEN_SHAPE,
    /** The batch mean {@code m} of {@code z}, not batch-first, and the loss {@code ‖m‖²}. */
    BATCH_MEAN
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private TfGraphModel userModel(DType dtype, Outputs kind) {
    return TfGraphModel.builder(dtype)
        .input("x", IN).input("y", OUT).input("w", 1)
        .parameter("w1", new int[] {IN, HID}, w1)
        .parameter("gamma", new int[] {HID}, gamma)
        .parameter("beta", new int[] {HID}, beta)
        .parameter("w2", new int[] {HID, OUT}, w2)
        .parameter("b2", new int[] {OUT}, b2)
        .device(TfDevice.CPU)
        .forward(ctx -> {
          Ops tf = ctx.tf();
          Operand<TFloating> h = tf.linalg.matMul(ctx.input("x"), ctx.parameter("w1"));
          Operand<TFloating> mean = tf.math.mean(h, tf.constant(0), Mean.keepDims(true));
          Operand<TFloating> centered = tf.math.sub(h, mean);
          Operand<TFloating> var =
              tf.math.mean(tf.math.square(centered), tf.constant(0), Mean.keepDims(true));
          Operand<TFloating> xhat = tf.math.mul(centered,
              tf.math.rsqrt(tf.math.add(var, tf.constantOfSameType(var, 1e-5))));
          Operand<TFloating> a = tf.math.tanh(
              tf.math.add(tf.math.mul(xhat, ctx.parameter("gamma")), ctx.parameter("beta")));
          Operand<TFloating> z =
              tf.math.add(tf.linalg.matMul(a, ctx.parameter("w2")), ctx.parameter("b2"));
          if (kind == Outputs.OPEN_SHAPE) {
            z = tf.reshape(z, tf.placeholderWithDefault(tf.constant(new int[] {-1, OUT}),
                org.tensorflow.ndarray.Shape.of(2)));
          }
          Operand<TFloating> perSample = tf.reduceSum(
              tf.math.mul(ctx.input("y"), tf.nn.logSoftmax(z)), tf.constant(1));
          Operand<TFloating> weighted = tf.math.mul(perSample,
              tf.reshape((Operand) ctx.input("w"), tf.constant(new int[] {-1})));
          Operand<TFloating> loss = tf.math.neg(tf.math.mean(weighted, tf.constant(0)));
          if (kind == Outputs.BATCH_MEAN) {
            Operand<TFloating> m = tf.math.mean(z, tf.constant(0));
            return TfForward.Outputs.of(m, tf.reduceSum(tf.math.square(m), tf.constant(0)));
          }
          return TfForward.Outputs.of(z, loss);
        })
        .build();
  }

  private TfBatch batch(double[] w) {
    return TfBatch.builder().put("x", x, N, IN).put("y", y, N, OUT).put("w", w, N, 1).build();
  }

  private static double[] ones() {
    double[] w = new double[N];
    Arrays.fill(w, 1.0);
    return w;
  }

  /** {@code n e_i}: the weights whose loss is term {@code i}. */
  private static double[] term(int i) {
    double[] w = new double[N];
    w[i] = N;
    return w;
  }

  /** {@code [r, c]} row-major to {@code [c, r]} row-major. */
  private static double[] transpose(double[] a, int r, int c) {
    double[] t = new double[a.length];
    for (int i = 0; i < r; i++) {
      for (int j = 0; j < c; j++) {
        t[j * r + i] = a[i * c + j];
      }
    }
    return t;
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT64", "FLOAT32"})
  void required_userGraphTermsAverageToTheGradientAndAreTheReweightedGradients(DType dtype) {
    double tol = dtype == DType.FLOAT64 ? 1e-12 : 1e-5;
    try (TfGraphModel m = userModel(dtype); Curvature c = m.objective(batch(ones())).curvature();
        ParameterVector g = c.gradient()) {
      List<ParameterVector> per = c.perTermGradients();
      List<ParameterVector> reweighted = new ArrayList<>();
      try {
        assertEquals(N, per.size());
        double[] mean = new double[(int) g.dimension()];
        for (ParameterVector p : per) {
          double[] v = p.toDoubleArray();
          for (int j = 0; j < v.length; j++) {
            mean[j] += v[j] / N;
          }
        }
        double[] gh = g.toDoubleArray();
        double err = distance(mean, gh, norm(gh));
        assertTrue(err <= tol, dtype + ": mean of terms vs gradient " + err);
        for (int i = 0; i < N; i++) {
          try (Curvature ci = m.objective(batch(term(i))).curvature()) {
            reweighted.add(ci.gradient());
          }
        }
        double terr = termwise(per, reweighted);
        assertTrue(terr <= tol, dtype + ": terms vs gradients of the reweighted loss " + terr);
      } finally {
        closeAll(per);
        closeAll(reweighted);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT64"})
  void required_userGraphTermsMatchFiniteDifferencesOfTheirLossInTheWholeBatch(DType dtype) {
    try (TfGraphModel m = userModel(dtype)) {
      List<ParameterVector> per = m.objective(batch(ones())).perTermGradients();
      try {
        double h = 1e-5;
        for (long seed = 1; seed <= 2; seed++) {
          try (ParameterVector v = ParameterVector.randomNormal(m.algebra(), m.layout(),
              new SplittableRandom(seed))) {
            for (int i : new int[] {0, 7, N - 1}) {
              Objective oi = m.objective(batch(term(i)));
              double fd = (oi.lossAt(v, h) - oi.lossAt(v, -h)) / (2 * h);
              double dot = per.get(i).dot(v);
              double err = Math.abs(dot - fd) / Math.max(1e-3, Math.abs(fd));
              assertTrue(err < 1e-6, "term " + i + ": gᵢ·v " + dot + " vs central difference "
                  + fd + " (" + err + ")");
            }
          }
        }
      } finally {
        closeAll(per);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT64", "FLOAT32"})
  void required_userGraphTermsMatchTheReferenceOnTheSameSpecNetwork(DType dtype) {
    double tol = dtype == DType.FLOAT64 ? 1e-10 : 1e-4;
    ModelSpec spec = TfPerTermGradientsTest.mlp(LossKind.SOFTMAX_CROSS_ENTROPY);
    List<NamedArray> params = List.of(
        new NamedArray("0.weight", new int[] {HID, IN}, transpose(w1, IN, HID)),
        new NamedArray("1.weight", new int[] {HID}, gamma),
        new NamedArray("1.bias", new int[] {HID}, beta),
        new NamedArray("3.weight", new int[] {OUT, HID}, transpose(w2, HID, OUT)),
        new NamedArray("3.bias", new int[] {OUT}, b2));
    try (TfGraphModel m = userModel(dtype);
        SpecModel ref = SpecBackend.find("reference").build(spec, params, DType.FLOAT64)) {
      List<ParameterVector> per = m.objective(batch(ones())).perTermGradients();
      List<ParameterVector> expected = new ArrayList<>();
      try {
        for (ParameterVector r : ref.objective(new ArrayBatch(x, new int[] {N, IN}, labels(),
            new int[] {N})).perTermGradients()) {
          try (r) {
            expected.add(ParameterVector.fromArray(m.algebra(), m.layout(),
                toUserLayout(r.toDoubleArray())));
          }
        }
        double largest = largestNorm(expected);
        double worst = 0;
        for (int i = 0; i < N; i++) {
          worst = Math.max(worst, distance(per.get(i).toDoubleArray(),
              expected.get(i).toDoubleArray(), largest));
        }
        assertTrue(worst <= tol, dtype + ": user-graph terms vs reference " + worst);
      } finally {
        closeAll(per);
        closeAll(expected);
      }
    }
  }

  /**
   * Outputs whose non-batch dimensions the graph leaves open are measured by a forward pass;
   * outputs that are not batch-first are refused, naming them.
   */
  @ParameterizedTest
  @EnumSource(names = {"FLOAT64"})
  void required_userGraphOutputsOfOpenShapeWorkAndNonBatchFirstOnesAreRefused(DType dtype) {
    try (TfGraphModel plain = userModel(dtype); TfGraphModel open =
        userModel(dtype, Outputs.OPEN_SHAPE); TfGraphModel mean =
        userModel(dtype, Outputs.BATCH_MEAN)) {
      org.tensorflow.ndarray.Shape s = open.program().outputs.shape();
      assertTrue(s.isUnknown() || s.size(1) < 0, "the graph knows the outputs' shape " + s);
      List<ParameterVector> expected = plain.objective(batch(ones())).perTermGradients();
      List<ParameterVector> per = open.objective(batch(ones())).perTermGradients();
      try (Curvature c = open.objective(batch(ones())).curvature();
          io.github.sgdph.tensor.Tensor bad = open.algebra().zeros(N, OUT + 1)) {
        assertTrue(termwise(per, expected) <= 1e-14, "open-shape outputs: terms differ");
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> c.vjp(bad).close());
        assertTrue(e.getMessage().startsWith("u:") && e.getMessage().contains("[20, 3]"),
            e.getMessage());
      } finally {
        closeAll(per);
        closeAll(expected);
      }
      try (Curvature c = mean.objective(batch(ones())).curvature()) {
        IllegalStateException e = assertThrows(IllegalStateException.class, c::perTermGradients);
        assertTrue(e.getMessage().startsWith("outputs:") && e.getMessage().contains("[3]"),
            e.getMessage());
      }
    }
  }

  /** The reference's flat vector (PyTorch layout) in the user model's layout. */
  private static double[] toUserLayout(double[] ref) {
    int o = 0;
    double[] a = Arrays.copyOfRange(ref, o, o += IN * HID);
    double[] g = Arrays.copyOfRange(ref, o, o += HID);
    double[] b = Arrays.copyOfRange(ref, o, o += HID);
    double[] c = Arrays.copyOfRange(ref, o, o += HID * OUT);
    double[] d = Arrays.copyOfRange(ref, o, ref.length);
    double[] out = new double[ref.length];
    int p = 0;
    for (double[] part : new double[][] {transpose(a, HID, IN), g, b, transpose(c, OUT, HID), d}) {
      System.arraycopy(part, 0, out, p, part.length);
      p += part.length;
    }
    return out;
  }
}
