package io.github.sgdph.tensorflow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat64;

/**
 * A user-built TensorFlow graph (not from a spec) gets exact products: a tanh MLP written with
 * TensorFlow's own weight layout ({@code x W + b}, {@code W [in, out]}) and a hand-written MSE,
 * checked against central finite differences of its own gradient and against the reference
 * backend on the equivalent spec model (PyTorch layout, {@code W [out, in]}); plus the user
 * model's input validation and build errors.
 */
class TfGraphModelTest {
  private static final int N = 6;
  private static final int IN = 4;
  private static final int HID = 5;
  private static final int OUT = 3;

  private final SplittableRandom rnd = new SplittableRandom(11);
  private final double[] w1 = random(IN * HID);
  private final double[] b1 = random(HID);
  private final double[] w2 = random(HID * OUT);
  private final double[] b2 = random(OUT);
  private final double[] x = random(N * IN);
  private final double[] y = random(N * OUT);

  private double[] random(int n) {
    return gaussians(rnd, n);
  }

  /** {@code n} draws of N(0, 0.7²) from {@code rnd} (also {@link TfResidualGraphTest}'s). */
  static double[] gaussians(SplittableRandom rnd, int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rnd.nextGaussian() * 0.7;
    }
    return v;
  }

  /** {@code [r, c]} row-major to {@code [c, r]} row-major. */
  static double[] transpose(double[] a, int r, int c) {
    double[] t = new double[a.length];
    for (int i = 0; i < r; i++) {
      for (int j = 0; j < c; j++) {
        t[j * r + i] = a[i * c + j];
      }
    }
    return t;
  }

  private TfGraphModel userModel() {
    return TfGraphModel.builder(DType.FLOAT64)
        .input("x", IN)
        .input("y", OUT)
        .parameter("w1", new int[] {IN, HID}, w1)
        .parameter("b1", new int[] {HID}, b1)
        .parameter("w2", new int[] {HID, OUT}, w2)
        .parameter("b2", new int[] {OUT}, b2)
        .device(TfDevice.CPU)
        .forward(ctx -> {
          Ops tf = ctx.tf();
          Operand<TFloat64> h =
              tf.math.tanh(tf.math.add(tf.linalg.matMul(ctx.input("x"), ctx.parameter("w1")),
                  ctx.parameter("b1")));
          Operand<TFloat64> z =
              tf.math.add(tf.linalg.matMul(h, ctx.parameter("w2")), ctx.parameter("b2"));
          Operand<TFloat64> loss =
              tf.math.mean(tf.math.squaredDifference(z, ctx.<TFloat64>input("y")),
                  tf.constant(new int[] {0, 1}));
          return TfForward.Outputs.of(z, loss);
        })
        .build();
  }

  private TfBatch batch() {
    return TfBatch.builder().put("x", x, N, IN).put("y", y, N, OUT).build();
  }

  /** The same network as a spec model of the reference backend (PyTorch layout). */
  private SpecModel referenceModel() {
    ModelSpec spec = new ModelSpec(new int[] {IN},
        List.of(new LayerSpec.Dense(IN, HID, true),
            new LayerSpec.Activation(LayerSpec.ActivationKind.TANH),
            new LayerSpec.Dense(HID, OUT, true)),
        LossKind.MSE);
    return SpecBackend.find("reference").build(spec, List.of(
        new NamedArray("0.weight", new int[] {HID, IN}, transpose(w1, IN, HID)),
        new NamedArray("0.bias", new int[] {HID}, b1),
        new NamedArray("2.weight", new int[] {OUT, HID}, transpose(w2, HID, OUT)),
        new NamedArray("2.bias", new int[] {OUT}, b2)), DType.FLOAT64);
  }

  /** A direction in the user model's layout, and the same in the reference's layout. */
  private double[][] direction() {
    double[] a = random(IN * HID);
    double[] b = random(HID);
    double[] c = random(HID * OUT);
    double[] d = random(OUT);
    return new double[][] {concat(a, b, c, d),
        concat(transpose(a, IN, HID), b, transpose(c, HID, OUT), d)};
  }

  private static double[] concat(double[]... parts) {
    int n = 0;
    for (double[] p : parts) {
      n += p.length;
    }
    double[] out = new double[n];
    int o = 0;
    for (double[] p : parts) {
      System.arraycopy(p, 0, out, o, p.length);
      o += p.length;
    }
    return out;
  }

  /** The reference's flat vector in the user model's layout (weights transposed back). */
  private static double[] toUserLayout(double[] ref) {
    double[] a = java.util.Arrays.copyOfRange(ref, 0, IN * HID);
    double[] b = java.util.Arrays.copyOfRange(ref, IN * HID, IN * HID + HID);
    int o = IN * HID + HID;
    double[] c = java.util.Arrays.copyOfRange(ref, o, o + HID * OUT);
    double[] d = java.util.Arrays.copyOfRange(ref, o + HID * OUT, ref.length);
    return concat(transpose(a, HID, IN), b, transpose(c, OUT, HID), d);
  }

  @Test
  void required_userGraphHvpMatchesFiniteDifferencesOfItsGradient() {
    try (TfGraphModel m = userModel(); ParameterVector theta = m.parameters()) {
      Objective o = m.objective(batch());
      ParameterVector v = ParameterVector.fromArray(m.algebra(), m.layout(), direction()[0]);
      v.scale(1 / v.norm());
      ParameterVector hv;
      try (Curvature c = o.curvature()) {
        hv = c.hvp(v);
      }
      double h = 1e-5;
      m.setParameters(theta.copy().axpy(h, v));
      ParameterVector gp;
      try (Curvature c = o.curvature()) {
        gp = c.gradient();
      }
      m.setParameters(theta.copy().axpy(-h, v));
      ParameterVector gm;
      try (Curvature c = o.curvature()) {
        gm = c.gradient();
      }
      ParameterVector fd = gp.copy().axpy(-1, gm).scale(1 / (2 * h));
      double err = fd.copy().axpy(-1, hv).norm() / fd.norm();
      assertTrue(err < 1e-7, "Hv vs finite differences: relative error " + err);
    }
  }

  @Test
  void required_userGraphProductsMatchTheReferenceBackend() {
    double[][] dir = direction();
    try (TfGraphModel m = userModel(); SpecModel ref = referenceModel();
        Curvature c = m.objective(batch()).curvature();
        Curvature rc = ref.objective(new ArrayBatch(x, new int[] {N, IN}, y,
            new int[] {N, OUT})).curvature();
        ParameterVector v = ParameterVector.fromArray(m.algebra(), m.layout(), dir[0]);
        ParameterVector rv = ParameterVector.fromArray(ref.algebra(), ref.layout(), dir[1]);
        ParameterVector g = c.gradient();
        ParameterVector rg = rc.gradient();
        ParameterVector hv = c.hvp(v);
        ParameterVector rhv = rc.hvp(rv);
        ParameterVector gv = c.ggnvp(v);
        ParameterVector rgv = rc.ggnvp(rv);
        Tensor jv = c.jvp(v);
        Tensor rjv = rc.jvp(rv)) {
      assertEquals(rc.loss(), c.loss(), 1e-12 * rc.loss(), "loss");
      assertClose(toUserLayout(rg.toDoubleArray()), g.toDoubleArray(), "gradient");
      assertClose(toUserLayout(rhv.toDoubleArray()), hv.toDoubleArray(), "Hv");
      assertClose(toUserLayout(rgv.toDoubleArray()), gv.toDoubleArray(), "Gv");
      assertClose(rjv.toDoubleArray(), jv.toDoubleArray(), "Jv");
      assertArrayEquals(new int[] {N, OUT}, jv.shape(), "Jv shape");
    }
  }

  private static void assertClose(double[] expected, double[] actual, String what) {
    double err = TrajectoryComparison.relative(actual, expected);
    assertTrue(err <= 1e-9, what + " deviates from the reference by " + err);
  }

  @Test
  void required_restrictedProductIsTheDiagonalBlock() {
    try (TfGraphModel m = userModel(); Curvature c = m.objective(batch()).curvature();
        ParameterVector v = ParameterVector.fromArray(m.algebra(), m.layout(), direction()[0])) {
      var sub = m.layout().selectByName("w2");
      try (ParameterVector full = c.hvp(v.restrict(sub).expandTo(m.layout()));
          ParameterVector restricted = c.hvp(v.restrict(sub))) {
        assertEquals(sub, restricted.layout());
        assertClose(full.restrict(sub).toDoubleArray(), restricted.toDoubleArray(), "H_SS v");
      }
    }
  }

  @Test
  void required_anOptimizerTrainsTheUserModel() {
    try (TfGraphModel m = userModel()) {
      Optimizer opt = Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.1)));
      Objective o = m.objective(batch());
      double first = o.loss();
      for (int i = 0; i < 20; i++) {
        opt.step(o);
      }
      assertTrue(o.loss() < first, "loss " + first + " -> " + o.loss());
      assertEquals(4, m.exportParameters().size());
    }
  }

  @Test
  void required_badBatchesAreRejectedNamingTheInput() {
    try (TfGraphModel m = userModel()) {
      IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
          () -> m.objective(TfBatch.builder().put("x", x, N, IN).build()));
      assertTrue(missing.getMessage().startsWith("y"), missing.getMessage());
      IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
          () -> m.objective(TfBatch.builder().put("x", x, N * IN / 2, 2)
              .put("y", y, N, OUT).build()));
      assertTrue(shape.getMessage().startsWith("x.shape"), shape.getMessage());
      IllegalArgumentException rows = assertThrows(IllegalArgumentException.class,
          () -> m.objective(TfBatch.builder().put("x", x, N, IN)
              .put("y", java.util.Arrays.copyOf(y, OUT * 2), 2, OUT).build()));
      assertTrue(rows.getMessage().contains("batch size"), rows.getMessage());
      double[] nan = x.clone();
      nan[3] = Double.NaN;
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> m.objective(TfBatch.builder().put("x", nan, N, IN).put("y", y, N, OUT).build()));
      assertTrue(e.getMessage().contains("x") && e.getMessage().contains("NaN"), e.getMessage());
      IllegalArgumentException extra = assertThrows(IllegalArgumentException.class,
          () -> m.objective(TfBatch.builder().put("x", x, N, IN).put("y", y, N, OUT)
              .put("z", y, N, OUT).build()));
      assertTrue(extra.getMessage().startsWith("z"), extra.getMessage());
    }
  }

  @Test
  void required_rejectedUpdatesLeaveTheParametersUntouched() {
    try (TfGraphModel m = userModel(); ParameterVector before = m.parameters()) {
      double[] bad = before.toDoubleArray();
      bad[0] = Double.POSITIVE_INFINITY;
      try (ParameterVector inf = ParameterVector.fromArray(m.algebra(), m.layout(), bad)) {
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> m.setParameters(inf));
        assertTrue(e.getMessage().contains("w1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> m.applyUpdate(inf, 1.0));
      }
      try (ParameterVector huge = before.copy().fill(1e300)) {
        assertThrows(IllegalArgumentException.class, () -> m.applyUpdate(huge, 1e300));
      }
      try (ParameterVector after = m.parameters()) {
        assertArrayEquals(before.toDoubleArray(), after.toDoubleArray());
      }
    }
  }

  @Test
  void required_buildErrorsAreClear() {
    TfGraphModel.Builder noForward = TfGraphModel.builder(DType.FLOAT64).input("x", 2)
        .parameter("w", new int[] {2}, new double[] {1, 2});
    assertThrows(IllegalArgumentException.class, noForward::build);
    IllegalArgumentException notScalar = assertThrows(IllegalArgumentException.class,
        () -> TfGraphModel.builder(DType.FLOAT64).input("x", 2)
            .parameter("w", new int[] {2}, new double[] {1, 2})
            .forward(ctx -> {
              Operand<TFloat64> z = ctx.tf().math.mul(ctx.input("x"), ctx.parameter("w"));
              return TfForward.Outputs.of(z, z);
            })
            .build());
    assertTrue(notScalar.getMessage().startsWith("loss"), notScalar.getMessage());
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
        () -> TfGraphModel.builder(DType.FLOAT64).input("x", 2)
            .parameter("w", new int[] {2}, new double[] {1, 2})
            .forward(ctx -> TfForward.Outputs.of(ctx.input("q"), ctx.input("q")))
            .build());
    assertTrue(unknown.getMessage().contains("'q'"), unknown.getMessage());
    // An op whose gradient TensorFlow cannot differentiate again fails when the product
    // graphs are built, naming the op, instead of producing wrong numbers.
    RuntimeException noSecondOrder = assertThrows(RuntimeException.class,
        () -> TfGraphModel.builder(DType.FLOAT64).input("x", 2)
            .parameter("w", new int[] {2}, new double[] {1, 2})
            .forward(ctx -> {
              Ops tf = ctx.tf();
              Operand<TFloat64> z = tf.nn.selu(tf.math.mul(ctx.input("x"),
                  ctx.parameter("w")));
              return TfForward.Outputs.of(z, CurvatureGraph.sumAll(tf, (Operand) z));
            })
            .build());
    assertTrue(noSecondOrder.getMessage().contains("SeluGrad"),
        noSecondOrder.getMessage());
  }
}
