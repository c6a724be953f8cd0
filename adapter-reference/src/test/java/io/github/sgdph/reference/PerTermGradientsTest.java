package io.github.sgdph.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LayerSpec.Mode;
import io.github.sgdph.model.LayerSpec.PoolKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.Fixtures.Case;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Per-term gradients {@code g_i = ∂ℓ_i/∂θ} of the batch loss {@code L = (1/n) Σ ℓ_i}, evaluated
 * in the whole batch's forward pass: with train-mode batch norm each term depends on the batch
 * statistics, and a one-sample batch would be a different function (issue 12).
 */
class PerTermGradientsTest {

  static Case mlp() {
    ModelSpec s =
        Fixtures.spec(
            new int[] {4}, Fixtures.CE, Fixtures.dense(4, 5), Fixtures.bn(5, Mode.TRAIN),
            Fixtures.act(ActivationKind.TANH), Fixtures.dense(5, 3));
    return new Case("bn-mlp", s, 6);
  }

  static Case cnn() {
    ModelSpec s =
        Fixtures.spec(
            new int[] {1, 6, 6}, Fixtures.MSE, Fixtures.conv(1, 2, 3, 1, 1),
            Fixtures.bn(2, Mode.TRAIN), Fixtures.act(ActivationKind.SOFTPLUS),
            Fixtures.pool(PoolKind.AVG, 2, 2), Fixtures.flatten(), Fixtures.dense(18, 2));
    return new Case("bn-cnn", s, 5);
  }

  @Test
  void theMeanOfThePerTermGradientsIsTheBatchGradient() {
    for (Case c : List.of(mlp(), cnn())) {
      ReferenceModel m = Fixtures.model(c, 11);
      ArrayBatch b = Fixtures.batch(c, 12);
      List<ParameterVector> per = m.objective(b).perTermGradients();
      assertEquals(b.size(), per.size());
      try (ReferenceCurvature cur = m.objective(b).curvature()) {
        double[] g = cur.gradient().toDoubleArray();
        double[] mean = new double[g.length];
        for (ParameterVector p : per) {
          double[] v = p.toDoubleArray();
          for (int j = 0; j < v.length; j++) {
            mean[j] += v[j] / per.size();
          }
        }
        double err = Fixtures.relErr(mean, g);
        assertTrue(err < 1e-12, c.name() + ": mean of per-term gradients off by " + err);
      }
    }
  }

  /** Central differences of each term's loss in the whole-batch forward pass, along 3 directions. */
  @Test
  void eachTermsGradientMatchesFiniteDifferencesOfItsLossInTheWholeBatch() {
    for (Case c : List.of(mlp(), cnn())) {
      ReferenceModel m = Fixtures.model(c, 21);
      ArrayBatch b = Fixtures.batch(c, 22);
      List<ParameterVector> per = m.objective(b).perTermGradients();
      double[] theta;
      try (ParameterVector p = m.objective(b).parameters()) {
        theta = p.toDoubleArray();
      }
      double h = 1e-5;
      for (long seed = 1; seed <= 3; seed++) {
        double[] v;
        try (ParameterVector r = Fixtures.random(m.layout(), 100 + seed)) {
          v = r.toDoubleArray();
        }
        m.setParameters(Fixtures.vector(m.layout(), Fixtures.axpy(theta, h, v)));
        double[] plus = m.sampleLosses(b);
        m.setParameters(Fixtures.vector(m.layout(), Fixtures.axpy(theta, -h, v)));
        double[] minus = m.sampleLosses(b);
        m.setParameters(Fixtures.vector(m.layout(), theta));
        for (int i = 0; i < b.size(); i++) {
          double fd = (plus[i] - minus[i]) / (2 * h);
          double[] gi = per.get(i).toDoubleArray();
          double dot = 0;
          for (int j = 0; j < v.length; j++) {
            dot += gi[j] * v[j];
          }
          double err = Math.abs(dot - fd) / Math.max(1e-3, Math.abs(fd));
          assertTrue(err < 1e-7,
              c.name() + ": term " + i + " gᵢ·v " + dot + " vs central difference " + fd);
        }
      }
    }
  }

  @Test
  void oneSampleBatchesWouldBeADifferentQuantity() {
    Case c = mlp();
    ReferenceModel m = Fixtures.model(c, 31);
    ArrayBatch b = Fixtures.batch(c, 32);
    double[] whole = m.objective(b).perTermGradients().get(0).toDoubleArray();
    try (ReferenceCurvature alone = m.objective(b.subset(0)).curvature()) {
      double[] single = alone.gradient().toDoubleArray();
      assertTrue(Fixtures.relErr(single, whole) > 1e-2,
          "a one-sample batch norm must differ from the term in the whole batch");
    }
  }
}
