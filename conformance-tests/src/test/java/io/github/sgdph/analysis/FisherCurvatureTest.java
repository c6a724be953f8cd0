package io.github.sgdph.analysis;

import static io.github.sgdph.analysis.ReferenceModels.act;
import static io.github.sgdph.analysis.ReferenceModels.batch;
import static io.github.sgdph.analysis.ReferenceModels.build;
import static io.github.sgdph.analysis.ReferenceModels.dense;
import static io.github.sgdph.analysis.ReferenceModels.spec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.dense.DenseSymmetricEigen;
import io.github.sgdph.linalg.GradientMomentOperator;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.PredictiveDistribution;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.ReferenceAlgebra;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The Fisher matrices and the exact GGN diagonal on small reference-backend networks, against
 * the dense GGN built column by column from exact GGN-vector products.
 */
class FisherCurvatureTest {

  /** A named network for the parameterized tests. */
  record Net(String name, ModelSpec spec) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Net> nets() {
    return Stream.of(
        new Net("softmax-ce", spec(6, LossKind.SOFTMAX_CROSS_ENTROPY, dense(6, 8),
            act(ActivationKind.TANH), dense(8, 4))),
        new Net("mse", spec(6, LossKind.MSE, dense(6, 8), act(ActivationKind.TANH),
            dense(8, 3))),
        new Net("sigmoid-bce", spec(6, LossKind.SIGMOID_BINARY_CROSS_ENTROPY, dense(6, 8),
            act(ActivationKind.SIGMOID), dense(8, 3))),
        // train-mode batch norm: the samples of a batch interact (see FisherCurvature)
        new Net("batchnorm-train-ce", spec(6, LossKind.SOFTMAX_CROSS_ENTROPY,
            new LayerSpec.Dense(6, 8, false),
            new LayerSpec.BatchNorm(8, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
            act(ActivationKind.TANH), dense(8, 4))));
  }

  static List<ArrayBatch> twoBatches(ModelSpec spec, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    return List.of(batch(spec, 5, rnd), batch(spec, 7, rnd));
  }

  /**
   * DiagGGN by {@code N k} transposed-Jacobian products equals the dense GGN's diagonal. Both are
   * exact in float64; they differ by the rounding of sums of {@code N k} and of {@code P}
   * products, so 1e-12 relative to the largest diagonal entry.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("nets")
  void exactGgnDiagonalIsTheDenseGgnsDiagonal(Net net) {
    List<ArrayBatch> data = twoBatches(net.spec(), 2);
    try (SpecModel model = build(net.spec(), 1);
        DatasetCurvature dense = DatasetCurvature.of(model, data);
        FisherCurvature fisher = FisherCurvature.of(model, data);
        ParameterVector diag = fisher.ggnDiagonal()) {
      double[][] g = DenseSymmetricEigen.materialize(dense.ggn(), ReferenceAlgebra.INSTANCE);
      double[] d = diag.toDoubleArray();
      assertEquals(g.length, d.length);
      double scale = 0;
      for (int i = 0; i < d.length; i++) {
        scale = Math.max(scale, Math.abs(g[i][i]));
      }
      assertTrue(scale > 0, "a non-zero GGN");
      for (int i = 0; i < d.length; i++) {
        assertEquals(g[i][i], d[i], 1e-12 * scale, "diag G[" + i + "]");
      }
    }
  }

  /**
   * For softmax cross-entropy the Fisher is a finite sum over the classes: {@code (1/N) Σ_i Σ_c
   * p_ic g_i(c) g_i(c)ᵀ}, with {@code g_i(c)} the per-term gradients of the batch labelled
   * {@code c} throughout. It equals the dense GGN to float64 roundoff (1e-12 relative), checking
   * the route the Monte-Carlo Fisher takes (per-term gradients of a relabelled batch, labels'
   * distribution from {@code ∂L/∂z}) without sampling error.
   */
  @Test
  void enumeratedFisherOfSoftmaxCrossEntropyIsTheGgn() {
    Net net = nets().filter(n -> n.name().equals("batchnorm-train-ce")).findFirst().orElseThrow();
    List<ArrayBatch> data = twoBatches(net.spec(), 3);
    try (SpecModel model = build(net.spec(), 4);
        DatasetCurvature dense = DatasetCurvature.of(model, data);
        FisherCurvature fisher = FisherCurvature.of(model, data)) {
      double[][] g = DenseSymmetricEigen.materialize(dense.ggn(), ReferenceAlgebra.INSTANCE);
      int p = g.length;
      double[][] f = new double[p][p];
      int total = 0;
      for (int b = 0; b < data.size(); b++) {
        ArrayBatch batch = data.get(b);
        PredictiveDistribution dist = fisher.predictiveDistribution(b);
        int n = batch.size();
        total += n;
        for (int c = 0; c < dist.outputs(); c++) {
          double[] labels = new double[n];
          java.util.Arrays.fill(labels, c);
          ArrayBatch relabelled =
              new ArrayBatch(batch.x(), batch.xShape(), labels, batch.yShape());
          List<ParameterVector> gs = model.objective(relabelled).perTermGradients();
          for (int i = 0; i < n; i++) {
            double w = dist.parameters(i)[c];
            double[] v = gs.get(i).toDoubleArray();
            for (int r = 0; r < p; r++) {
              for (int s = 0; s < p; s++) {
                f[r][s] += w * v[r] * v[s];
              }
            }
          }
          gs.forEach(ParameterVector::close);
        }
      }
      double scale = frobenius(g);
      double err = 0;
      for (int r = 0; r < p; r++) {
        for (int s = 0; s < p; s++) {
          double e = f[r][s] / total - g[r][s];
          err += e * e;
        }
      }
      assertTrue(Math.sqrt(err) < 1e-12 * scale, "‖F − G‖_F = " + Math.sqrt(err) + " of " + scale);
    }
  }

  /**
   * {@code F_MC} is unbiased for the GGN. Replicates: {@code R = 20} operators, each of {@code K =
   * 25} draws, independent seeds; on 6 fixed random directions {@code v} the mean of {@code
   * vᵀ F_MC v} over the replicates must lie within 4 standard errors (the replicates' standard
   * deviation / √R) of the exact {@code vᵀ G v}; so must the mean trace of the Monte-Carlo GGN
   * diagonal. Fixed seeds, so the test is deterministic; 4 standard errors would be exceeded by
   * chance with probability about 8e-4 per check (Student's t, 19 degrees of freedom). Convergence: pooling all {@code R K = 500}
   * draws, the summed relative error over the directions is below that of a single draw.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("nets")
  void monteCarloFisherConvergesToTheGgn(Net net) {
    int replicates = 20;
    int draws = 25;
    List<ArrayBatch> data = twoBatches(net.spec(), 5);
    try (SpecModel model = build(net.spec(), 6);
        DatasetCurvature dense = DatasetCurvature.of(model, data);
        FisherCurvature fisher = FisherCurvature.of(model, data)) {
      LinearOperator g = dense.ggn();
      List<ParameterVector> dirs = new ArrayList<>();
      SplittableRandom rnd = new SplittableRandom(7);
      for (int d = 0; d < 6; d++) {
        dirs.add(ParameterVector.randomNormal(fisher.algebra(), fisher.layout(), rnd));
      }
      double[] exact = new double[dirs.size()];
      for (int d = 0; d < exact.length; d++) {
        try (ParameterVector gv = g.apply(dirs.get(d))) {
          exact[d] = gv.dot(dirs.get(d));
        }
      }
      double exactTrace;
      try (ParameterVector diag = fisher.ggnDiagonal()) {
        exactTrace = sum(diag.toDoubleArray());
      }
      double[][] q = new double[dirs.size()][replicates];
      double[] traces = new double[replicates];
      double[] oneDraw = new double[dirs.size()];
      for (int r = 0; r < replicates; r++) {
        GradientMomentOperator f = fisher.monteCarloFisher(draws, 100 + r);
        assertEquals(fisher.sampleCount() * draws, f.sampleCount());
        for (int d = 0; d < dirs.size(); d++) {
          try (ParameterVector fv = f.apply(dirs.get(d))) {
            q[d][r] = fv.dot(dirs.get(d));
          }
        }
        try (ParameterVector diag = fisher.monteCarloGgnDiagonal(draws, 100 + r)) {
          traces[r] = sum(diag.toDoubleArray());
        }
        if (r == 0) {
          GradientMomentOperator one = fisher.monteCarloFisher(1, 99);
          for (int d = 0; d < dirs.size(); d++) {
            try (ParameterVector fv = one.apply(dirs.get(d))) {
              oneDraw[d] = fv.dot(dirs.get(d));
            }
          }
        }
      }
      double pooledError = 0;
      double oneDrawError = 0;
      for (int d = 0; d < dirs.size(); d++) {
        double m = mean(q[d]);
        double se = stdev(q[d]) / Math.sqrt(replicates);
        assertTrue(se > 0, "sampling error");
        assertEquals(exact[d], m, 4 * se, net + ": vᵀFv, direction " + d);
        pooledError += Math.abs(m / exact[d] - 1);
        oneDrawError += Math.abs(oneDraw[d] / exact[d] - 1);
      }
      assertTrue(pooledError < oneDrawError,
          net + ": pooled " + pooledError + " vs one draw " + oneDrawError);
      assertEquals(exactTrace, mean(traces), 4 * stdev(traces) / Math.sqrt(replicates),
          net + ": trace of the Monte-Carlo GGN diagonal");
      dirs.forEach(ParameterVector::close);
    }
  }

  /** The MC GGN diagonal is the diagonal of {@code F_MC} with the same draws (roundoff only). */
  @Test
  void monteCarloDiagonalIsTheDiagonalOfTheMonteCarloFisher() {
    ModelSpec spec = nets().findFirst().orElseThrow().spec();
    List<ArrayBatch> data = twoBatches(spec, 8);
    try (SpecModel model = build(spec, 9);
        FisherCurvature fisher = FisherCurvature.of(model, data);
        ParameterVector diag = fisher.monteCarloGgnDiagonal(3, 11)) {
      double[][] f = DenseSymmetricEigen.materialize(
          fisher.monteCarloFisher(3, 11), ReferenceAlgebra.INSTANCE);
      double[] d = diag.toDoubleArray();
      for (int i = 0; i < d.length; i++) {
        assertEquals(f[i][i], d[i], 1e-13 * Math.max(1, Math.abs(f[i][i])), "entry " + i);
      }
    }
  }

  /** The empirical Fisher is the gradient second moment, under its usual name. */
  @Test
  void empiricalFisherIsTheGradientMoment() {
    ModelSpec spec = nets().findFirst().orElseThrow().spec();
    List<ArrayBatch> data = twoBatches(spec, 12);
    try (SpecModel model = build(spec, 13);
        DatasetCurvature dense = DatasetCurvature.of(model, data);
        FisherCurvature fisher = FisherCurvature.of(model, data)) {
      double[][] m = DenseSymmetricEigen.materialize(dense.gradientMoment(),
          ReferenceAlgebra.INSTANCE);
      double[][] e = DenseSymmetricEigen.materialize(dense.empiricalFisher(),
          ReferenceAlgebra.INSTANCE);
      double[][] f = DenseSymmetricEigen.materialize(fisher.empiricalFisher(),
          ReferenceAlgebra.INSTANCE);
      double[][] g = DenseSymmetricEigen.materialize(dense.ggn(), ReferenceAlgebra.INSTANCE);
      double diff = 0;
      double gap = 0;
      for (int i = 0; i < m.length; i++) {
        for (int j = 0; j < m.length; j++) {
          diff = Math.max(diff, Math.abs(m[i][j] - e[i][j]) + Math.abs(m[i][j] - f[i][j]));
          gap = Math.max(gap, Math.abs(m[i][j] - g[i][j]));
        }
      }
      assertEquals(0, diff, 1e-15);
      assertTrue(gap > 1e-3, "the empirical Fisher is not the GGN: " + gap);
    }
  }

  @Test
  void argumentsAreCheckedByName() {
    ModelSpec spec = nets().findFirst().orElseThrow().spec();
    List<ArrayBatch> data = twoBatches(spec, 14);
    try (SpecModel model = build(spec, 15);
        FisherCurvature fisher = FisherCurvature.of(model, data)) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> fisher.monteCarloFisher(0, 1));
      assertTrue(e.getMessage().startsWith("draws:"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> FisherCurvature.of(model, List.of()));
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PredictiveDistribution.fromOutputGradient(LossKind.SOFTMAX_CROSS_ENTROPY,
            new double[] {0.1, -0.1}, new double[] {2}, 1));
    assertTrue(e.getMessage().startsWith("labels[0]:"), e.getMessage());
  }

  private static double frobenius(double[][] a) {
    double s = 0;
    for (double[] row : a) {
      for (double v : row) {
        s += v * v;
      }
    }
    return Math.sqrt(s);
  }

  private static double sum(double[] a) {
    double s = 0;
    for (double v : a) {
      s += v;
    }
    return s;
  }

  private static double mean(double[] a) {
    return sum(a) / a.length;
  }

  private static double stdev(double[] a) {
    double m = mean(a);
    double s = 0;
    for (double v : a) {
      s += (v - m) * (v - m);
    }
    return Math.sqrt(s / (a.length - 1));
  }
}
