package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.ModelSpec.Node;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.ResNets;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.ReferenceBackend;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Graph models of the spec (issue 16) on DJL in float64 against the reference backend: loss,
 * gradient, Hessian-, Gauss-Newton- and Jacobian-vector products, a restricted product and
 * per-term gradients, on a residual MLP with fan-out ({@code x}, {@code fc1} read by two and
 * three nodes) and on ResNets with train- and eval-mode batch norm. Both sides are exact, so
 * they agree to rounding: 1e-11 normwise relative (measured about 1e-15).
 */
class DjlGraphModelTest {
  static final double TOL = 1e-11;

  static Stream<ModelSpec> specs() {
    LayerSpec tanh = new LayerSpec.Activation(LayerSpec.ActivationKind.TANH);
    ModelSpec mlp = ModelSpec.graph(new int[] {4}, List.of(
        Node.of("fc1", new LayerSpec.Dense(4, 4, true), "input"),
        Node.of("act", tanh),
        Node.of("sum", new LayerSpec.Add(), "act", "fc1", "input"),
        Node.of("twice", new LayerSpec.Add(), "sum", "sum"),
        Node.of("fc2", new LayerSpec.Dense(4, 3, true))), LossKind.SOFTMAX_CROSS_ENTROPY);
    return Stream.of(mlp,
        ResNets.twoBlocks(new int[] {1, 5, 5}, 2, 3, LayerSpec.Mode.TRAIN),
        ResNets.twoBlocks(new int[] {2, 4, 4}, 2, 3, LayerSpec.Mode.EVAL));
  }

  private static double rel(double[] a, double[] b) {
    double d = 0;
    double n = 0;
    for (int i = 0; i < a.length; i++) {
      d += (a[i] - b[i]) * (a[i] - b[i]);
      n = Math.max(n, Math.max(a[i] * a[i], b[i] * b[i]));
    }
    double na = 0;
    for (double v : b) {
      na += v * v;
    }
    return Math.sqrt(d) / Math.max(Math.sqrt(na), 1e-300);
  }

  @ParameterizedTest
  @MethodSource("specs")
  void productsAgreeWithTheReference(ModelSpec spec) {
    List<NamedArray> p = DefaultInitializer.initialize(spec, new SplittableRandom(3));
    ArrayBatch b = RandomBatches.forSpec(spec, 4, new SplittableRandom(4));
    try (SpecModel ref = new ReferenceBackend().build(spec, p, DType.FLOAT64);
        SpecModel djl = new DjlBackend().build(spec, p, DType.FLOAT64);
        Curvature rc = ref.objective(b).curvature();
        Curvature dc = djl.objective(b).curvature()) {
      double[] v = ParameterVector.randomNormal(ref.algebra(), ref.layout(),
          new SplittableRandom(5)).toDoubleArray();
      ParameterVector rv = ParameterVector.fromArray(ref.algebra(), ref.layout(), v);
      ParameterVector dv = ParameterVector.fromArray(djl.algebra(), djl.layout(), v);
      check(spec, "loss", new double[] {dc.loss()}, new double[] {rc.loss()});
      check(spec, "gradient", dc.gradient().toDoubleArray(), rc.gradient().toDoubleArray());
      check(spec, "hvp", dc.hvp(dv).toDoubleArray(), rc.hvp(rv).toDoubleArray());
      check(spec, "ggnvp", dc.ggnvp(dv).toDoubleArray(), rc.ggnvp(rv).toDoubleArray());
      check(spec, "jvp", dc.jvp(dv).toDoubleArray(), rc.jvp(rv).toDoubleArray());
      int last = ref.layout().blockCount() - 1;
      check(spec, "restricted hvp",
          dc.hvp(dv.restrict(djl.layout().select(0, last))).toDoubleArray(),
          rc.hvp(rv.restrict(ref.layout().select(0, last))).toDoubleArray());
      List<ParameterVector> dp = djl.objective(b).perTermGradients();
      List<ParameterVector> rp = ref.objective(b).perTermGradients();
      for (int i = 0; i < dp.size(); i++) {
        check(spec, "term " + i, dp.get(i).toDoubleArray(), rp.get(i).toDoubleArray());
      }
      check(spec, "predict", djl.predict(b), ref.predict(b));
    }
  }

  private static void check(ModelSpec spec, String what, double[] a, double[] e) {
    double err = rel(a, e);
    assertTrue(err <= TOL, spec + ": " + what + " vs reference " + err);
  }
}
