package io.github.sgdph.reference;

import static io.github.sgdph.reference.Fixtures.axpy;
import static io.github.sgdph.reference.Fixtures.relErr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.Fixtures.Case;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every layer and loss, alone and in small networks, against central finite differences and
 * dense matrices, in float64.
 *
 * <p>Tolerances (normwise relative error): gradient vs central differences of the loss with
 * {@code ε = 1e-5} per coordinate ≤ 1e-6; Hessian-vector product vs central differences of the
 * gradient along a unit direction with {@code ε = 1e-5} ≤ 1e-7; Jacobian-vector product vs
 * central differences of the outputs ≤ 1e-7; {@code uᵀ G w} vs {@code (J u)ᵀ H_L (J w)} with an
 * independently computed loss Hessian ≤ 1e-10; dense Hessian and GGN symmetric to 1e-10 of
 * their largest entry; GGN eigenvalues ≥ −1e-10 of the largest entry. Data and parameters are
 * fixed by seed, so relu and max-pool kinks are not crossed by the perturbations. The same
 * checks run on graph models ({@link Fixtures#graphCases()}: residual adds, fan-out, global
 * average pooling) and on LSTMs ({@link Fixtures#recurrentCases()}: the R-operator through
 * time).
 */
class CurvatureExactnessTest {
  static final double EPS = 1e-5;

  /** Networks that are (piecewise) linear in their parameters: there {@code H = G} exactly. */
  static final Set<String> LINEAR_IN_PARAMETERS =
      Set.of(
          "dense+mse", "dense+ce", "dense+bce", "dense-nobias+mse", "relu", "conv2d+flatten",
          "conv2d-stride2-pad1", "maxpool2d", "maxpool2d-overlap", "avgpool2d");

  static List<Case> cases() {
    List<Case> all = new java.util.ArrayList<>(Fixtures.cases());
    all.addAll(Fixtures.graphCases());
    all.addAll(Fixtures.recurrentCases());
    return all;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void gradientMatchesCentralDifferencesOfTheLoss(Case c) {
    ReferenceModel m = Fixtures.model(c, 11);
    ReferenceObjective o = m.objective(Fixtures.batch(c, 12));
    ParameterLayout layout = m.layout();
    int p = (int) layout.dimension();
    double[] fd = new double[p];
    for (int i = 0; i < p; i++) {
      ParameterVector e = Fixtures.unit(layout, i);
      fd[i] = (o.lossAt(e, EPS) - o.lossAt(e, -EPS)) / (2 * EPS);
    }
    double[] g;
    try (ReferenceCurvature cur = o.curvature()) {
      assertEquals(o.loss(), cur.loss(), 0.0);
      g = cur.gradient().toDoubleArray();
    }
    double err = relErr(g, fd);
    assertTrue(err <= 1e-6, c + ": gradient relative error " + err);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void hvpMatchesCentralDifferencesOfTheGradient(Case c) {
    ReferenceModel m = Fixtures.model(c, 21);
    ArrayBatch b = Fixtures.batch(c, 22);
    double[] theta = m.parameters().toDoubleArray();
    for (int k = 0; k < 3; k++) {
      ParameterVector v = Fixtures.random(m.layout(), 100 + k);
      v.scale(1.0 / v.norm());
      double[] vv = v.toDoubleArray();
      double[] hv;
      try (ReferenceCurvature cur = m.objective(b).curvature()) {
        hv = cur.hvp(v).toDoubleArray();
      }
      double[] gp = Fixtures.gradientAt(m, b, axpy(theta, EPS, vv));
      double[] gm = Fixtures.gradientAt(m, b, axpy(theta, -EPS, vv));
      double[] fd = new double[gp.length];
      for (int i = 0; i < fd.length; i++) {
        fd[i] = (gp[i] - gm[i]) / (2 * EPS);
      }
      double err = relErr(hv, fd);
      assertTrue(err <= 1e-7, c + ": Hessian-vector product relative error " + err);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void jvpMatchesCentralDifferencesOfTheOutputs(Case c) {
    ReferenceModel m = Fixtures.model(c, 31);
    ArrayBatch b = Fixtures.batch(c, 32);
    double[] theta = m.parameters().toDoubleArray();
    ParameterVector v = Fixtures.random(m.layout(), 33);
    v.scale(1.0 / v.norm());
    double[] vv = v.toDoubleArray();
    double[] jv;
    try (ReferenceCurvature cur = m.objective(b).curvature()) {
      var t = cur.jvp(v);
      assertEquals(List.of(b.size(), c.spec().outputShape()[0]),
          List.of(t.shape()[0], t.shape()[1]));
      jv = t.toDoubleArray();
    }
    double[] fp = Fixtures.outputsAt(m, b, axpy(theta, EPS, vv));
    double[] fm = Fixtures.outputsAt(m, b, axpy(theta, -EPS, vv));
    double[] fd = new double[fp.length];
    for (int i = 0; i < fd.length; i++) {
      fd[i] = (fp[i] - fm[i]) / (2 * EPS);
    }
    double err = relErr(jv, fd);
    assertTrue(err <= 1e-7, c + ": Jacobian-vector product relative error " + err);
  }

  /** {@code uᵀ H_L w} for the loss Hessian with respect to the outputs, computed here. */
  static double lossHessianForm(LossKind loss, double[] z, double[] u, double[] w, int n, int k) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      switch (loss) {
        case SOFTMAX_CROSS_ENTROPY -> {
          double max = Double.NEGATIVE_INFINITY;
          for (int j = 0; j < k; j++) {
            max = Math.max(max, z[i * k + j]);
          }
          double[] p = new double[k];
          double sum = 0;
          for (int j = 0; j < k; j++) {
            p[j] = Math.exp(z[i * k + j] - max);
            sum += p[j];
          }
          double pu = 0;
          double pw = 0;
          double puw = 0;
          for (int j = 0; j < k; j++) {
            p[j] /= sum;
            pu += p[j] * u[i * k + j];
            pw += p[j] * w[i * k + j];
            puw += p[j] * u[i * k + j] * w[i * k + j];
          }
          s += (puw - pu * pw) / n;
        }
        case MSE -> {
          for (int j = 0; j < k; j++) {
            s += 2.0 * u[i * k + j] * w[i * k + j] / (n * k);
          }
        }
        case SIGMOID_BINARY_CROSS_ENTROPY -> {
          for (int j = 0; j < k; j++) {
            double sg = 1 / (1 + Math.exp(-z[i * k + j]));
            s += sg * (1 - sg) * u[i * k + j] * w[i * k + j] / (n * k);
          }
        }
      }
    }
    return s;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void ggnvpIsJacobianTransposeLossHessianJacobian(Case c) {
    ReferenceModel m = Fixtures.model(c, 41);
    ArrayBatch b = Fixtures.batch(c, 42);
    int k = c.spec().outputShape()[0];
    try (ReferenceCurvature cur = m.objective(b).curvature()) {
      double[] z = cur.outputs();
      for (int t = 0; t < 3; t++) {
        ParameterVector u = Fixtures.random(m.layout(), 43 + 2 * t);
        ParameterVector w = Fixtures.random(m.layout(), 44 + 2 * t);
        double lhs = u.dot(cur.ggnvp(w));
        double rhs =
            lossHessianForm(
                c.spec().loss(), z, cur.jvp(u).toDoubleArray(), cur.jvp(w).toDoubleArray(),
                b.size(), k);
        double scale = u.norm() * cur.ggnvp(w).norm();
        assertEquals(rhs, lhs, 1e-10 * scale, c + ": u'Gw vs (Ju)'H_L(Jw)");
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void denseHessianAndGgnAreSymmetricAndTheGgnIsPositiveSemiDefinite(Case c) {
    ReferenceModel m = Fixtures.model(c, 51);
    ArrayBatch b = Fixtures.batch(c, 52);
    try (ReferenceCurvature cur = m.objective(b).curvature()) {
      double[][] h = Fixtures.dense(cur, true);
      double[][] g = Fixtures.dense(cur, false);
      double hMax = Fixtures.maxAbs(h);
      double gMax = Fixtures.maxAbs(g);
      assertTrue(hMax > 0 && gMax > 0, c + ": empty curvature");
      int p = h.length;
      double hAsym = 0;
      double gAsym = 0;
      double diff = 0;
      for (int i = 0; i < p; i++) {
        for (int j = 0; j < p; j++) {
          hAsym = Math.max(hAsym, Math.abs(h[i][j] - h[j][i]));
          gAsym = Math.max(gAsym, Math.abs(g[i][j] - g[j][i]));
          diff = Math.max(diff, Math.abs(h[i][j] - g[i][j]));
        }
      }
      assertTrue(hAsym <= 1e-10 * hMax, c + ": Hessian asymmetry " + hAsym / hMax);
      assertTrue(gAsym <= 1e-10 * gMax, c + ": GGN asymmetry " + gAsym / gMax);
      double[] ev = Fixtures.symmetricEigenvalues(g);
      assertTrue(ev[0] >= -1e-10 * gMax, c + ": GGN eigenvalue " + ev[0] + " of max " + gMax);
      if (LINEAR_IN_PARAMETERS.contains(c.name())) {
        assertTrue(diff <= 1e-12 * hMax, c + ": H and G should agree, differ by " + diff / hMax);
      } else {
        assertTrue(diff >= 1e-3 * hMax, c + ": H and G should differ, differ by " + diff / hMax);
      }
    }
  }

  @org.junit.jupiter.api.Test
  void jacobiEigenSolverFindsKnownEigenvalues() {
    // Q diag(-1, 0, 2, 5) Qᵀ for a random orthogonal Q (Gram-Schmidt)
    SplittableRandom r = new SplittableRandom(3);
    int n = 4;
    double[][] q = new double[n][n];
    for (int j = 0; j < n; j++) {
      double[] v = new double[n];
      for (int i = 0; i < n; i++) {
        v[i] = r.nextDouble() - 0.5;
      }
      for (int l = 0; l < j; l++) {
        double d = 0;
        for (int i = 0; i < n; i++) {
          d += v[i] * q[i][l];
        }
        for (int i = 0; i < n; i++) {
          v[i] -= d * q[i][l];
        }
      }
      double nv = 0;
      for (double x : v) {
        nv += x * x;
      }
      for (int i = 0; i < n; i++) {
        q[i][j] = v[i] / Math.sqrt(nv);
      }
    }
    double[] lambda = {-1, 0, 2, 5};
    double[][] a = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        for (int l = 0; l < n; l++) {
          a[i][j] += q[i][l] * lambda[l] * q[j][l];
        }
      }
    }
    double[] ev = Fixtures.symmetricEigenvalues(a);
    for (int i = 0; i < n; i++) {
      assertEquals(lambda[i], ev[i], 1e-12);
    }
  }
}
