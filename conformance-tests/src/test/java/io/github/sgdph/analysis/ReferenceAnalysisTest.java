package io.github.sgdph.analysis;

import io.github.sgdph.dense.DenseSymmetricEigen;
import io.github.sgdph.reference.ReferenceAlgebra;
import static io.github.sgdph.analysis.ReferenceModels.act;
import static io.github.sgdph.analysis.ReferenceModels.batch;
import static io.github.sgdph.analysis.ReferenceModels.build;
import static io.github.sgdph.analysis.ReferenceModels.dense;
import static io.github.sgdph.analysis.ReferenceModels.spec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The analysis tools on networks of the reference backend small enough for a dense Hessian,
 * which is built column by column from Hessian-vector products and solved by Jacobi.
 */
class ReferenceAnalysisTest {

  /** 6 → 10 → tanh → 4, softmax cross-entropy: 114 parameters. */
  static final ModelSpec MLP =
      spec(6, LossKind.SOFTMAX_CROSS_ENTROPY, dense(6, 10), act(ActivationKind.TANH),
          dense(10, 4));

  static List<ArrayBatch> twoBatches(ModelSpec spec, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    return List.of(batch(spec, 7, rnd), batch(spec, 13, rnd));
  }

  @Test
  void eigenvaluesTraceAndDensityOfAnMlpMatchTheDenseHessian() {
    try (SpecModel model = build(MLP, 1);
        DatasetCurvature data = DatasetCurvature.of(model, twoBatches(MLP, 2))) {
      int n = (int) data.layout().dimension();
      assertEquals(114, n);
      double[][] h = DenseSymmetricEigen.materialize(data.hessian(), ReferenceAlgebra.INSTANCE);
      assertTrue(DenseSymmetricEigen.asymmetry(h) < 1e-12, "asymmetry " + DenseSymmetricEigen.asymmetry(h));
      DenseSymmetricEigen ref = DenseSymmetricEigen.of(h);
      Lanczos lanczos = Lanczos.withDefaults();
      try (Eigenpairs top = lanczos.largest(data.hessian(), data.algebra(), 5,
              new SplittableRandom(3));
          Eigenpairs bottom = lanczos.smallest(data.hessian(), data.algebra(), 5,
              new SplittableRandom(4))) {
        for (int i = 0; i < 5; i++) {
          assertRelative(ref.largest(5)[i], top.value(i), 1e-8, "top " + i);
          assertRelative(ref.smallest(5)[i], bottom.value(i), 1e-8, "bottom " + i);
        }
        assertTrue(bottom.value(0) < 0, "the Hessian of a tanh network is indefinite here");
      }
      // the Gauss-Newton matrix: positive semi-definite, its top-5 as well
      DenseSymmetricEigen g = DenseSymmetricEigen.of(DenseSymmetricEigen.materialize(data.ggn(), ReferenceAlgebra.INSTANCE));
      try (Eigenpairs top = lanczos.largest(data.ggn(), data.algebra(), 5,
          new SplittableRandom(5))) {
        for (int i = 0; i < 5; i++) {
          assertRelative(g.largest(5)[i], top.value(i), 1e-8, "ggn top " + i);
        }
      }
      assertTrue(g.values()[0] > -1e-12);
      // power iteration (PyHessian's defaults) finds the dominant eigenvalues to about 1 %
      try (Eigenpairs p = PowerIteration.withDefaults().dominant(data.ggn(), data.algebra(), 3,
          new SplittableRandom(6))) {
        for (int i = 0; i < 3; i++) {
          assertRelative(g.largest(3)[i], p.value(i), 1e-2, "power " + i);
        }
      }
      // Hutchinson's trace with fewer samples than parameters: within 4 standard errors of the
      // exact one
      TraceEstimate t = Hutchinson.builder().samples(100).build()
          .trace(data.hessian(), data.algebra(), new SplittableRandom(7));
      assertTrue(!t.exact() && t.standardError() > 0, t.toString());
      assertEquals(ref.trace(), t.estimate(), 4 * t.standardError());
      // with at least as many samples as parameters (114): exact, from the basis vectors
      TraceEstimate exact = Hutchinson.builder().samples(400).build()
          .trace(data.hessian(), data.algebra(), new SplittableRandom(7));
      assertTrue(exact.exact(), exact.toString());
      assertEquals(114, exact.products());
      assertRelative(ref.trace(), exact.estimate(), 1e-12, "exact trace");
      // the density integrates to 1 and its mean is trace / n (within 4 standard errors)
      SpectralDensity d = StochasticLanczosQuadrature.builder().steps(40).runs(30).build()
          .density(data.hessian(), data.algebra(), new SplittableRandom(8));
      double[] x = d.grid();
      double[] y = d.density();
      double mass = 0;
      double mean = 0;
      for (int i = 1; i < x.length; i++) {
        mass += 0.5 * (x[i] - x[i - 1]) * (y[i] + y[i - 1]);
        mean += 0.5 * (x[i] - x[i - 1]) * (x[i] * y[i] + x[i - 1] * y[i - 1]);
      }
      assertEquals(1, mass, 1e-6);
      double sd = Math.sqrt(2 * offDiagonalSquares(h) / 30) / n;
      assertEquals(ref.trace() / n, mean, 4 * sd);
    }
  }

  @Test
  void alignmentOfTheHessianWithItselfIsOneAndWithTheGradientMomentIsAFraction() {
    try (SpecModel model = build(MLP, 11);
        DatasetCurvature data = DatasetCurvature.of(model, twoBatches(MLP, 12))) {
      EigenspaceAlignment self = EigenspaceAlignment.compute(data.hessian(), data.hessian(),
          data.algebra(), 4, Lanczos.withDefaults(), new SplittableRandom(1));
      assertEquals(1, self.overlap(), 1e-8);
      assertEquals(1, self.topEigenvalueRatio(), 1e-10);
      EigenspaceAlignment hm = EigenspaceAlignment.compute(data.hessian(),
          data.gradientMoment(), data.algebra(), 4, Lanczos.withDefaults(),
          new SplittableRandom(2));
      assertTrue(hm.overlap() > 0 && hm.overlap() < 1, "overlap " + hm.overlap());
      assertEquals(4, hm.principalAngles().length);
      // M = (1/N) Σ g_i g_iᵀ over the 20 per-sample gradients
      assertEquals(20, data.gradientMoment().sampleCount());
    }
  }

  @Test
  void scaleInvariantSharpnessIgnoresReluRescalingWhilePlainSharpnessDoesNot() {
    // dense(5, 8) → relu → dense(8, 3), MSE: multiply layer 0's weight and bias by c and divide
    // layer 2's weight by c — the same function, hence the same loss
    ModelSpec spec = spec(5, LossKind.MSE, dense(5, 8), act(ActivationKind.RELU), dense(8, 3));
    double c = 2.5;
    List<ArrayBatch> data = twoBatches(spec, 22);
    ScaleInvariantSharpness before;
    ScaleInvariantSharpness after;
    double lossBefore;
    double lossAfter;
    try (SpecModel model = build(spec, 21)) {
      try (DatasetCurvature d = DatasetCurvature.of(model, data);
          ParameterVector theta = d.parameters()) {
        lossBefore = d.loss();
        before = ScaleInvariantSharpness.compute(d.hessian(), theta, d.algebra(),
            Lanczos.withDefaults(), new SplittableRandom(1));
      }
      try (ParameterVector theta = model.parameters()) {
        theta.block("0.weight").scale(c);
        theta.block("0.bias").scale(c);
        theta.block("2.weight").scale(1 / c);
        model.setParameters(theta);
      }
      try (DatasetCurvature d = DatasetCurvature.of(model, data);
          ParameterVector theta = d.parameters()) {
        lossAfter = d.loss();
        after = ScaleInvariantSharpness.compute(d.hessian(), theta, d.algebra(),
            Lanczos.withDefaults(), new SplittableRandom(2));
      }
    }
    assertEquals(lossBefore, lossAfter, 1e-12 * lossBefore);
    assertRelative(before.scaleInvariant(), after.scaleInvariant(), 1e-6, "scale-invariant");
    double change = Math.abs(after.topEigenvalue() / before.topEigenvalue() - 1);
    assertTrue(change > 0.1, "plain sharpness changed by only " + change + ": " + before + " "
        + after);
  }

  @Test
  void premiseCheckIsZeroForABiasBeforeMseAndPositiveBeforeTanh() {
    // 0.bias feeds tanh and another layer: its Hessian block is dense. 2.bias feeds MSE
    // directly: its block is (2/k) I, diagonal by construction.
    ModelSpec spec = spec(5, LossKind.MSE, dense(5, 6), act(ActivationKind.TANH), dense(6, 3));
    try (SpecModel model = build(spec, 31);
        DatasetCurvature data = DatasetCurvature.of(model, twoBatches(spec, 32))) {
      PartialHessianPremise p = PartialHessianPremise.check(data);
      assertEquals(2, p.blocks().size());
      PartialHessianPremise.Block hidden = p.blocks().get(0);
      PartialHessianPremise.Block output = p.blocks().get(1);
      assertEquals("0.bias", hidden.name());
      assertEquals("2.bias", output.name());
      assertTrue(hidden.offDiagonalMass() > 1e-3, "0.bias: " + hidden);
      assertTrue(hidden.rowSumRelativeError() > 1e-2, "0.bias: " + hidden);
      assertTrue(output.offDiagonalMass() < 1e-24, "2.bias: " + output);
      assertTrue(output.rowSumRelativeError() < 1e-14, "2.bias: " + output);
      assertEquals(2.0 / 3 * Math.sqrt(3), output.diagonalNorm(), 1e-14);
      // against the dense Hessian's 0.bias block (entries 30..35)
      double[][] h = DenseSymmetricEigen.materialize(data.hessian(), ReferenceAlgebra.INSTANCE);
      double frob = 0;
      double diag = 0;
      for (int i = 30; i < 36; i++) {
        for (int j = 30; j < 36; j++) {
          frob += h[i][j] * h[i][j];
        }
        diag += h[i][i] * h[i][i];
      }
      assertEquals((frob - diag) / frob, hidden.offDiagonalMass(), 1e-10);
    }
  }

  @Test
  void premiseCheckIsPositiveForTrainModeBatchNorm() {
    ModelSpec spec = spec(5, LossKind.SOFTMAX_CROSS_ENTROPY, new LayerSpec.Dense(5, 6, false),
        new LayerSpec.BatchNorm(6, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
        act(ActivationKind.TANH), dense(6, 3));
    try (SpecModel model = build(spec, 41);
        DatasetCurvature data = DatasetCurvature.of(model, twoBatches(spec, 42))) {
      PartialHessianPremise p = PartialHessianPremise.check(data);
      assertEquals(List.of("1.weight", "1.bias", "3.bias"),
          p.blocks().stream().map(PartialHessianPremise.Block::name).toList());
      assertTrue(p.blocks().get(0).offDiagonalMass() > 1e-3, p.blocks().get(0).toString());
      assertTrue(p.maxRowSumRelativeError() > 1e-2);
    }
  }

  static double offDiagonalSquares(double[][] a) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      for (int j = 0; j < a.length; j++) {
        if (i != j) {
          s += a[i][j] * a[i][j];
        }
      }
    }
    return s;
  }

  static void assertRelative(double want, double got, double tol, String what) {
    assertTrue(Math.abs(got - want) <= tol * Math.abs(want),
        what + ": " + got + " vs " + want + " (relative " + Math.abs(got - want) / Math.abs(want)
            + ")");
  }
}
