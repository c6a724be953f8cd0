package io.github.sgdph.reference;

import static io.github.sgdph.reference.Fixtures.axpy;
import static io.github.sgdph.reference.Fixtures.relErr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.ModelSpec.Node;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.Fixtures.Case;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Graph models (issue 16) and LSTMs (issue 20) on the reference backend, beyond the checks every case gets in {@link
 * CurvatureExactnessTest} and {@link RestrictedProductTest}: the whole Hessian against the
 * matrix of central differences of the gradient, each diagonal block of a restricted product
 * against that matrix, per-term gradients against central differences of each term, and fan-out
 * against an equivalent sequential model.
 *
 * <p>Tolerances (float64, normwise relative): central differences with step {@code 1e-5} have a
 * truncation error of order {@code ε² ‖∂³‖ ≈ 1e-10} and a rounding error of order {@code u/ε ≈
 * 1e-11} relative to the gradient, so 1e-7 for the Hessian and 1e-6 for per-term gradients
 * leave room for curvature without hiding a wrong term (a missing fan-out contribution changes
 * the result by order 1). Models that compute the same function agree to rounding, 1e-13.
 */
class GraphCurvatureTest {
  static final double EPS = 1e-5;

  static List<Case> cases() {
    List<Case> all = new ArrayList<>(Fixtures.graphCases());
    all.addAll(Fixtures.recurrentCases());
    return all;
  }

  /** The Hessian by central differences of the gradient, one coordinate at a time. */
  private static double[][] finiteDifferenceHessian(ReferenceModel m, ArrayBatch b) {
    double[] theta = m.parameters().toDoubleArray();
    int p = theta.length;
    double[][] h = new double[p][];
    for (int j = 0; j < p; j++) {
      double[] e = new double[p];
      e[j] = 1;
      double[] gp = Fixtures.gradientAt(m, b, axpy(theta, EPS, e));
      double[] gm = Fixtures.gradientAt(m, b, axpy(theta, -EPS, e));
      h[j] = new double[p];
      for (int i = 0; i < p; i++) {
        h[j][i] = (gp[i] - gm[i]) / (2 * EPS); // column j, stored as a row: H is symmetric
      }
    }
    return h;
  }

  private static double[] flat(double[][] a) {
    double[] out = new double[a.length * a.length];
    for (int i = 0; i < a.length; i++) {
      System.arraycopy(a[i], 0, out, i * a.length, a.length);
    }
    return out;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void denseHessianAndItsDiagonalBlocksMatchFiniteDifferences(Case c) {
    ReferenceModel m = Fixtures.model(c, 71);
    ArrayBatch b = Fixtures.batch(c, 72);
    double[][] fd = finiteDifferenceHessian(m, b);
    ParameterLayout root = m.layout();
    try (ReferenceCurvature cur = m.objective(b).curvature()) {
      double[][] h = Fixtures.dense(cur, true);
      double err = relErr(flat(h), flat(fd));
      assertTrue(err <= 1e-7, c + ": dense Hessian vs finite differences " + err);
      int offset = 0;
      for (int blk = 0; blk < root.blockCount(); blk++) {
        ParameterLayout sub = root.select(blk);
        int size = root.block(blk).size();
        ParameterVector v = Fixtures.random(sub, 73 + blk);
        double[] vv = v.toDoubleArray();
        double[] hv = cur.hvp(v).toDoubleArray();
        double[] expected = new double[size];
        for (int i = 0; i < size; i++) {
          for (int j = 0; j < size; j++) {
            expected[i] += fd[offset + j][offset + i] * vv[j];
          }
        }
        double scale = Math.max(1e-300, Math.sqrt(dot(flat(fd), flat(fd))) * Math.sqrt(dot(vv, vv)));
        double diff = Math.sqrt(dot(sub(hv, expected), sub(hv, expected)));
        assertTrue(diff / scale <= 1e-7,
            c + ": block " + root.block(blk).name() + " H_bb v_b vs finite differences "
                + diff / scale);
        offset += size;
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void perTermGradientsMatchFiniteDifferencesOfEachTerm(Case c) {
    ReferenceModel m = Fixtures.model(c, 81);
    ArrayBatch b = Fixtures.batch(c, 82);
    List<ParameterVector> per = m.objective(b).perTermGradients();
    double[] theta = m.parameters().toDoubleArray();
    int p = theta.length;
    double[][] fd = new double[b.size()][p];
    for (int j = 0; j < p; j++) {
      double[] e = new double[p];
      e[j] = 1;
      double[] lp = lossesAt(m, b, axpy(theta, EPS, e));
      double[] lm = lossesAt(m, b, axpy(theta, -EPS, e));
      for (int i = 0; i < b.size(); i++) {
        fd[i][j] = (lp[i] - lm[i]) / (2 * EPS);
      }
    }
    for (int i = 0; i < b.size(); i++) {
      double err = relErr(per.get(i).toDoubleArray(), fd[i]);
      assertTrue(err <= 1e-6, c + ": term " + i + " vs finite differences " + err);
    }
  }

  private static double[] lossesAt(ReferenceModel m, ArrayBatch b, double[] theta) {
    ParameterVector saved = m.parameters();
    m.setParameters(Fixtures.vector(m.layout(), theta));
    try {
      return m.sampleLosses(b);
    } finally {
      m.setParameters(saved);
    }
  }

  /**
   * Fan-out: {@code fc2(tanh(h) + h)} with {@code h = fc1(x)} read twice, and {@code x + x},
   * against sequential twins. With {@code s = h + h = 2h}, the graph {@code fc2(add(h, h))}
   * is the chain {@code fc2(fc1'(x))} with {@code fc1'} = twice {@code fc1}'s weight and bias:
   * equal outputs; the graph's gradient with respect to {@code fc1} is twice the chain's, and
   * its Hessian-, GGN- and Jacobian-vector products along {@code v} equal the chain's along
   * {@code v} with {@code fc1}'s part doubled, and are doubled again in {@code fc1}'s part.
   */
  @Test
  void xPlusXIsTheChainWithTheWeightsDoubled() {
    LayerSpec fc1 = new LayerSpec.Dense(3, 4, true);
    LayerSpec t = new LayerSpec.Activation(LayerSpec.ActivationKind.TANH);
    LayerSpec fc2 = new LayerSpec.Dense(4, 2, true);
    ModelSpec graph = ModelSpec.graph(new int[] {3}, List.of(
        Node.of("fc1", fc1, "input"), Node.of("twice", new LayerSpec.Add(), "fc1", "fc1"),
        Node.of("t", t), Node.of("fc2", fc2)), LossKind.SOFTMAX_CROSS_ENTROPY);
    ModelSpec chain = new ModelSpec(new int[] {3}, List.of(fc1, t, fc2),
        LossKind.SOFTMAX_CROSS_ENTROPY);
    List<NamedArray> pg = Fixtures.parameters(graph, 91);
    List<NamedArray> pc = new ArrayList<>();
    String[] names = {"0.weight", "0.bias", "2.weight", "2.bias"};
    for (int i = 0; i < 4; i++) {
      double[] v = pg.get(i).values();
      if (i < 2) {
        for (int k = 0; k < v.length; k++) {
          v[k] *= 2;
        }
      }
      pc.add(new NamedArray(names[i], pg.get(i).shape(), v, true));
    }
    ReferenceModel g = Fixtures.BACKEND.build(graph, pg, DType.FLOAT64);
    ReferenceModel s = Fixtures.BACKEND.build(chain, pc, DType.FLOAT64);
    ArrayBatch b = io.github.sgdph.model.RandomBatches.forSpec(graph, 5,
        new java.util.SplittableRandom(92));
    double[] scale = new double[(int) g.layout().dimension()];
    int fc1Size = 4 * 3 + 4;
    for (int i = 0; i < scale.length; i++) {
      scale[i] = i < fc1Size ? 2 : 1;
    }
    try (ReferenceCurvature cg = g.objective(b).curvature();
        ReferenceCurvature cs = s.objective(b).curvature()) {
      assertEquals(cs.loss(), cg.loss(), 1e-15 * Math.abs(cs.loss()));
      assertTrue(relErr(cg.outputs(), cs.outputs()) <= 1e-13);
      assertTrue(relErr(cg.gradient().toDoubleArray(),
          times(scale, cs.gradient().toDoubleArray())) <= 1e-13, "gradient");
      double[] v = Fixtures.random(g.layout(), 93).toDoubleArray();
      ParameterVector vg = Fixtures.vector(g.layout(), v);
      ParameterVector vs = Fixtures.vector(s.layout(), times(scale, v));
      assertTrue(relErr(cg.hvp(vg).toDoubleArray(),
          times(scale, cs.hvp(vs).toDoubleArray())) <= 1e-13, "hvp");
      assertTrue(relErr(cg.ggnvp(vg).toDoubleArray(),
          times(scale, cs.ggnvp(vs).toDoubleArray())) <= 1e-13, "ggnvp");
      assertTrue(relErr(cg.jvp(vg).toDoubleArray(), cs.jvp(vs).toDoubleArray()) <= 1e-13,
          "jvp");
    }
  }

  private static double[] times(double[] a, double[] b) {
    double[] r = new double[a.length];
    for (int i = 0; i < r.length; i++) {
      r[i] = a[i] * b[i];
    }
    return r;
  }

  private static double[] sub(double[] a, double[] b) {
    double[] r = new double[a.length];
    for (int i = 0; i < r.length; i++) {
      r[i] = a[i] - b[i];
    }
    return r;
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
