package io.github.sgdph.tensorflow;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.conformance.FiniteDifferences;
import io.github.sgdph.conformance.LstmSpecs;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.tensorflow.GraphOperation;

/**
 * Spec LSTMs on TensorFlow (issue 20) beyond the bundled cases, which the conformance kit
 * replays (a two-layer LSTM returning its last hidden state, then a dense head): a whole
 * returned sequence through {@code flatten}, an LSTM node in a graph with a residual add over the
 * sequence feeding a stacked LSTM, and a single time step. In float64 against the reference
 * backend (loss, gradient, Hessian-, Gauss-Newton- and Jacobian-vector products, a restricted
 * product, per-term gradients and predictions to 1e-11 max-norm relative: both sides are exact,
 * so they agree to rounding) and against central finite differences ({@link FiniteDifferences},
 * step 1e-5 along a unit direction: truncation ~1e-10 and rounding ~1e-11 relative, so 1e-7
 * separates an exact product from a wrong one).
 */
class TfLstmTest {
  static final double TOL = 1e-11;
  static final double FD_TOL = 1e-7;
  /** TensorFlow's fused recurrent ops, whose gradients have no gradient. */
  private static final Set<String> FUSED = Set.of("LSTMBlockCell", "BlockLSTM", "BlockLSTMV2",
      "CudnnRNN", "CudnnRNNV2", "CudnnRNNV3");

  static Stream<ModelSpec> specs() {
    return LstmSpecs.all();
  }

  @ParameterizedTest
  @MethodSource("specs")
  void productsAgreeWithTheReference(ModelSpec spec) {
    List<NamedArray> p = DefaultInitializer.initialize(spec, new SplittableRandom(3));
    ArrayBatch b = RandomBatches.forSpec(spec, 4, new SplittableRandom(4));
    try (SpecModel ref = SpecBackend.find("reference").build(spec, p, DType.FLOAT64);
        SpecModel tf = new TfBackend(TfDevice.CPU).build(spec, p, DType.FLOAT64);
        Curvature rc = ref.objective(b).curvature();
        Curvature tc = tf.objective(b).curvature()) {
      double[] v = ParameterVector.randomNormal(ref.algebra(), ref.layout(),
          new SplittableRandom(5)).toDoubleArray();
      ParameterVector rv = ParameterVector.fromArray(ref.algebra(), ref.layout(), v);
      ParameterVector tv = ParameterVector.fromArray(tf.algebra(), tf.layout(), v);
      check(spec, "loss", new double[] {tc.loss()}, new double[] {rc.loss()});
      check(spec, "gradient", tc.gradient().toDoubleArray(), rc.gradient().toDoubleArray());
      check(spec, "hvp", tc.hvp(tv).toDoubleArray(), rc.hvp(rv).toDoubleArray());
      check(spec, "ggnvp", tc.ggnvp(tv).toDoubleArray(), rc.ggnvp(rv).toDoubleArray());
      check(spec, "jvp", tc.jvp(tv).toDoubleArray(), rc.jvp(rv).toDoubleArray());
      // the block of the first LSTM's input weights only, and of the last stacked layer's
      int last = ref.layout().blockCount() - 1;
      check(spec, "restricted hvp",
          tc.hvp(tv.restrict(tf.layout().select(0, last))).toDoubleArray(),
          rc.hvp(rv.restrict(ref.layout().select(0, last))).toDoubleArray());
      List<ParameterVector> tp = tf.objective(b).perTermGradients();
      List<ParameterVector> rp = ref.objective(b).perTermGradients();
      for (int i = 0; i < tp.size(); i++) {
        check(spec, "term " + i, tp.get(i).toDoubleArray(), rp.get(i).toDoubleArray());
      }
      check(spec, "predict", tf.predict(b), ref.predict(b));
    }
  }

  @ParameterizedTest
  @MethodSource("specs")
  void gradientAndHvpMatchCentralFiniteDifferences(ModelSpec spec) {
    List<NamedArray> p = DefaultInitializer.initialize(spec, new SplittableRandom(11));
    ArrayBatch b = RandomBatches.forSpec(spec, 3, new SplittableRandom(12));
    try (TfSpecModel m = new TfBackend(TfDevice.CPU).build(spec, p, DType.FLOAT64);
        ParameterVector v = ParameterVector.randomNormal(m.algebra(), m.layout(),
            new SplittableRandom(13))) {
      v.scale(1 / v.norm());
      Objective o = m.objective(b);
      try (Curvature c = o.curvature(); ParameterVector g = c.gradient();
          ParameterVector h = c.hvp(v)) {
        double gv = g.dot(v);
        double fd = FiniteDifferences.directional(o, v, 1e-5);
        double e = Math.abs(gv - fd) / Math.max(Math.abs(gv), Math.abs(fd));
        assertTrue(e <= FD_TOL, spec + ": gᵀv = " + gv + ", finite differences " + fd);
        double[] fdHv = FiniteDifferences.hessianVector(m, o, v, 1e-5);
        double err = TrajectoryComparison.relative(h.toDoubleArray(), fdHv);
        assertTrue(err <= FD_TOL, spec + ": Hv vs finite differences, relative error " + err);
      }
    }
  }

  /** The LSTM is unrolled from ordinary ops: the graph has no fused recurrent op. */
  @Test
  void noFusedRecurrentOpIsBuilt() {
    specs().forEach(spec -> {
      List<NamedArray> p = DefaultInitializer.initialize(spec, new SplittableRandom(1));
      SpecGraph g = SpecGraph.build(spec, p, TfAlgebra.of(DType.FLOAT64));
      try (g.graph) {
        List<String> types = new ArrayList<>();
        Iterator<GraphOperation> ops = g.graph.operations();
        while (ops.hasNext()) {
          types.add(ops.next().type());
        }
        assertTrue(types.contains("Unpack") && types.contains("Sigmoid"), spec + ": " + types);
        assertFalse(types.stream().anyMatch(FUSED::contains), spec + ": a fused op in " + types);
      }
    });
  }

  private static void check(ModelSpec spec, String what, double[] a, double[] e) {
    double err = TrajectoryComparison.relative(a, e);
    assertTrue(err <= TOL, spec + ": " + what + " vs reference " + err);
  }
}
