package io.github.sgdph.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LayerSpec.Mode;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.Fixtures.Case;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Train-mode batch norm couples the samples of a batch through its statistics; eval mode does
 * not. The loss of a batch is then not the mean of independent per-sample terms, and its
 * Hessian is not the mean of sub-batch Hessians.
 */
class BatchNormCouplingTest {

  static Case net(Mode mode) {
    ModelSpec s =
        Fixtures.spec(
            new int[] {4}, Fixtures.CE, Fixtures.dense(4, 3), Fixtures.bn(3, mode),
            Fixtures.act(ActivationKind.TANH), Fixtures.dense(3, 2));
    return new Case("bn-" + mode, s, 4);
  }

  static ArrayBatch withSample1Changed(ArrayBatch b) {
    double[] x = b.x();
    int d = x.length / b.size();
    for (int j = 0; j < d; j++) {
      x[d + j] += 0.7 * (j + 1);
    }
    return new ArrayBatch(x, b.xShape(), b.y(), b.yShape());
  }

  @Test
  void inTrainModeSample1sInputChangesSample0sLossAndTheGradient() {
    Case c = net(Mode.TRAIN);
    ReferenceModel m = Fixtures.model(c, 81);
    ArrayBatch b = Fixtures.batch(c, 82);
    ArrayBatch b2 = withSample1Changed(b);
    double before = m.sampleLosses(b)[0];
    double after = m.sampleLosses(b2)[0];
    assertTrue(Math.abs(after - before) > 1e-3, "sample 0's loss " + before + " -> " + after);
    // sample 0's own gradient (the gradient of its loss term within the batch) changes too
    try (ReferenceCurvature c1 = m.objective(b).curvature();
        ReferenceCurvature c2 = m.objective(b2).curvature()) {
      assertTrue(Fixtures.relErr(c1.gradient().toDoubleArray(),
          c2.gradient().toDoubleArray()) > 1e-3);
    }
  }

  @Test
  void inEvalModeSamplesAreIndependent() {
    Case c = net(Mode.EVAL);
    ReferenceModel m = Fixtures.model(c, 81);
    ArrayBatch b = Fixtures.batch(c, 82);
    assertEquals(m.sampleLosses(b)[0], m.sampleLosses(withSample1Changed(b))[0], 0.0);
  }

  /** {@code ‖H_{0..3} − (H_{01} + H_{23})/2‖ / ‖H_{0..3}‖} with dense Hessians. */
  static double crossSampleHessianPart(Mode mode) {
    Case c = net(mode);
    ReferenceModel m = Fixtures.model(c, 91);
    ReferenceObjective all = m.objective(Fixtures.batch(c, 92));
    double[][] h;
    double[][] h01;
    double[][] h23;
    try (ReferenceCurvature a = all.curvature();
        ReferenceCurvature p = all.subBatch(0, 1).curvature();
        ReferenceCurvature q = all.subBatch(2, 3).curvature()) {
      h = Fixtures.dense(a, true);
      h01 = Fixtures.dense(p, true);
      h23 = Fixtures.dense(q, true);
    }
    double d = 0;
    for (int i = 0; i < h.length; i++) {
      for (int j = 0; j < h.length; j++) {
        d = Math.max(d, Math.abs(h[i][j] - 0.5 * (h01[i][j] + h23[i][j])));
      }
    }
    return d / Fixtures.maxAbs(h);
  }

  @Test
  void theTrainModeHessianHasCrossSampleTermsAndTheEvalModeOneHasNone() {
    assertTrue(crossSampleHessianPart(Mode.TRAIN) > 1e-2);
    assertTrue(crossSampleHessianPart(Mode.EVAL) < 1e-13);
  }

  @Test
  void perTermGradientsAverageToTheGradientWithAndWithoutBatchStatistics() {
    for (Mode mode : List.of(Mode.EVAL, Mode.TRAIN)) {
      Case c = net(mode);
      ReferenceModel m = Fixtures.model(c, 95);
      ReferenceObjective o = m.objective(Fixtures.batch(c, 96));
      double[] mean = new double[(int) m.layout().dimension()];
      for (ParameterVector g : o.perTermGradients()) {
        double[] a = g.toDoubleArray();
        for (int i = 0; i < a.length; i++) {
          mean[i] += a[i] / o.batchSize();
        }
      }
      double[] g;
      try (ReferenceCurvature cur = o.curvature()) {
        g = cur.gradient().toDoubleArray();
      }
      double err = Fixtures.relErr(mean, g);
      // per-term gradients in the whole batch's forward pass (PerTermGradientsTest), not
      // one-sample batches, which in train mode would be a different function
      assertTrue(err < 1e-13, mode + " " + err);
    }
  }

  @Test
  void sampleLossesAverageToTheLoss() {
    Case c = net(Mode.TRAIN);
    ReferenceModel m = Fixtures.model(c, 97);
    ArrayBatch b = Fixtures.batch(c, 98);
    double[] l = m.sampleLosses(b);
    double s = 0;
    for (double v : l) {
      s += v;
    }
    assertEquals(m.objective(b).loss(), s / l.length, 1e-15);
    try (ReferenceCurvature cur = m.objective(b).curvature()) {
      assertArrayEquals(l, cur.sampleLosses(), 0.0);
    }
  }
}
