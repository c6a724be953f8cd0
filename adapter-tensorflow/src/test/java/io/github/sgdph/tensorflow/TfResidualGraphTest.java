package io.github.sgdph.tensorflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.ModelSpec.Node;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat64;

/**
 * A user's own TensorFlow graph with residual adds (issue 16): {@code r = tanh(x W1 + b1) + x}
 * ({@code x} read twice), {@code s = r + tanh(r W2 + b2)}, {@code z = s W3 + b3}, MSE, written
 * with TensorFlow's weight layout ({@code W [in, out]}): its Hessian-vector product against
 * central differences of its own gradient (1e-7, as {@link TfGraphModelTest}), every product
 * against the reference backend on the equivalent graph spec (1e-9), and SGD-PH steps.
 */
class TfResidualGraphTest {
  private static final int N = 6;
  private static final int D = 4;
  private static final int OUT = 3;

  private final SplittableRandom rnd = new SplittableRandom(17);
  private final double[] w1 = random(D * D);
  private final double[] b1 = random(D);
  private final double[] w2 = random(D * D);
  private final double[] b2 = random(D);
  private final double[] w3 = random(D * OUT);
  private final double[] b3 = random(OUT);
  private final double[] x = random(N * D);
  private final double[] y = random(N * OUT);

  private double[] random(int n) {
    return TfGraphModelTest.gaussians(rnd, n);
  }

  private static double[] transpose(double[] a, int r, int c) {
    return TfGraphModelTest.transpose(a, r, c);
  }

  private TfGraphModel userModel() {
    return TfGraphModel.builder(DType.FLOAT64)
        .input("x", D)
        .input("y", OUT)
        .parameter("w1", new int[] {D, D}, w1)
        .parameter("b1", new int[] {D}, b1)
        .parameter("w2", new int[] {D, D}, w2)
        .parameter("b2", new int[] {D}, b2)
        .parameter("w3", new int[] {D, OUT}, w3)
        .parameter("b3", new int[] {OUT}, b3)
        .device(TfDevice.CPU)
        .forward(ctx -> {
          Ops tf = ctx.tf();
          Operand<TFloat64> in = ctx.input("x");
          Operand<TFloat64> r = tf.math.add(tf.math.tanh(
              tf.math.add(tf.linalg.matMul(in, ctx.parameter("w1")), ctx.parameter("b1"))), in);
          Operand<TFloat64> s = tf.math.add(r, tf.math.tanh(
              tf.math.add(tf.linalg.matMul(r, ctx.parameter("w2")), ctx.parameter("b2"))));
          Operand<TFloat64> z =
              tf.math.add(tf.linalg.matMul(s, ctx.parameter("w3")), ctx.parameter("b3"));
          Operand<TFloat64> loss =
              tf.math.mean(tf.math.squaredDifference(z, ctx.<TFloat64>input("y")),
                  tf.constant(new int[] {0, 1}));
          return TfForward.Outputs.of(z, loss);
        })
        .build();
  }

  private TfBatch batch() {
    return TfBatch.builder().put("x", x, N, D).put("y", y, N, OUT).build();
  }

  /** The same network as a graph spec on the reference backend (PyTorch layout). */
  private SpecModel referenceModel() {
    LayerSpec tanh = new LayerSpec.Activation(LayerSpec.ActivationKind.TANH);
    ModelSpec spec = ModelSpec.graph(new int[] {D}, List.of(
        Node.of("fc1", new LayerSpec.Dense(D, D, true), "input"),
        Node.of("t1", tanh),
        Node.of("r", new LayerSpec.Add(), "t1", "input"),
        Node.of("fc2", new LayerSpec.Dense(D, D, true)),
        Node.of("t2", tanh),
        Node.of("s", new LayerSpec.Add(), "r", "t2"),
        Node.of("fc3", new LayerSpec.Dense(D, OUT, true))), LossKind.MSE);
    return SpecBackend.find("reference").build(spec, List.of(
        new NamedArray("fc1.weight", new int[] {D, D}, transpose(w1, D, D)),
        new NamedArray("fc1.bias", new int[] {D}, b1),
        new NamedArray("fc2.weight", new int[] {D, D}, transpose(w2, D, D)),
        new NamedArray("fc2.bias", new int[] {D}, b2),
        new NamedArray("fc3.weight", new int[] {OUT, D}, transpose(w3, D, OUT)),
        new NamedArray("fc3.bias", new int[] {OUT}, b3)), DType.FLOAT64);
  }

  /** Reference layout (weights [out, in]) to the user's ([in, out]). */
  private static double[] toUser(double[] ref) {
    double[] out = ref.clone();
    int o = 0;
    int[][] dims = {{D, D}, {D, 0}, {D, D}, {D, 0}, {OUT, D}, {OUT, 0}};
    for (int[] d : dims) {
      int size = d[1] == 0 ? d[0] : d[0] * d[1];
      if (d[1] != 0) {
        System.arraycopy(transpose(java.util.Arrays.copyOfRange(ref, o, o + size), d[0], d[1]),
            0, out, o, size);
      }
      o += size;
    }
    return out;
  }

  /** The user's layout to the reference's: the inverse of {@link #toUser}. */
  private static double[] toReference(double[] user) {
    double[] out = user.clone();
    int o = 0;
    int[][] dims = {{D, D}, {D, 0}, {D, D}, {D, 0}, {D, OUT}, {OUT, 0}};
    for (int[] d : dims) {
      int size = d[1] == 0 ? d[0] : d[0] * d[1];
      if (d[1] != 0) {
        System.arraycopy(transpose(java.util.Arrays.copyOfRange(user, o, o + size), d[0], d[1]),
            0, out, o, size);
      }
      o += size;
    }
    return out;
  }

  @Test
  void required_residualGraphHvpMatchesFiniteDifferencesOfItsGradient() {
    try (TfGraphModel m = userModel(); ParameterVector theta = m.parameters()) {
      Objective o = m.objective(batch());
      ParameterVector v = ParameterVector.randomNormal(m.algebra(), m.layout(),
          new SplittableRandom(3));
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
  void required_residualGraphProductsMatchTheReferenceGraphSpec() {
    try (TfGraphModel m = userModel(); SpecModel ref = referenceModel();
        Curvature c = m.objective(batch()).curvature();
        Curvature rc = ref.objective(new ArrayBatch(x, new int[] {N, D}, y,
            new int[] {N, OUT})).curvature()) {
      double[] u = ParameterVector.randomNormal(m.algebra(), m.layout(), new SplittableRandom(5))
          .toDoubleArray();
      ParameterVector v = ParameterVector.fromArray(m.algebra(), m.layout(), u);
      ParameterVector rv = ParameterVector.fromArray(ref.algebra(), ref.layout(), toReference(u));
      assertEquals(rc.loss(), c.loss(), 1e-12 * rc.loss(), "loss");
      close(toUser(rc.gradient().toDoubleArray()), c.gradient().toDoubleArray(), "gradient");
      close(toUser(rc.hvp(rv).toDoubleArray()), c.hvp(v).toDoubleArray(), "Hv");
      close(toUser(rc.ggnvp(rv).toDoubleArray()), c.ggnvp(v).toDoubleArray(), "Gv");
      close(rc.jvp(rv).toDoubleArray(), c.jvp(v).toDoubleArray(), "Jv");
    }
  }

  private static void close(double[] expected, double[] actual, String what) {
    double err = TrajectoryComparison.relative(actual, expected);
    assertTrue(err <= 1e-9, what + " deviates from the reference by " + err);
  }

  @Test
  void required_sgdphTrainsTheResidualGraph() {
    try (TfGraphModel m = userModel()) {
      Optimizer opt = Optimizers.create(new OptimizerSpec("sgdph", Map.of("lr", 0.1)));
      Objective o = m.objective(batch());
      double first = o.loss();
      for (int i = 0; i < 20; i++) {
        opt.step(o);
      }
      assertTrue(o.loss() < first, "loss " + first + " -> " + o.loss());
    }
  }
}
