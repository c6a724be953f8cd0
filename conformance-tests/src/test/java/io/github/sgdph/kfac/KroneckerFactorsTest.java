package io.github.sgdph.kfac;

import static io.github.sgdph.kfac.KfacFixtures.aTilde;
import static io.github.sgdph.kfac.KfacFixtures.build;
import static io.github.sgdph.kfac.KfacFixtures.delta;
import static io.github.sgdph.kfac.KfacFixtures.empiricalSeed;
import static io.github.sgdph.kfac.KfacFixtures.index;
import static io.github.sgdph.kfac.KfacFixtures.maxAbs;
import static io.github.sgdph.kfac.KfacFixtures.read;
import static io.github.sgdph.kfac.KfacFixtures.twoBatches;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.analysis.DatasetCurvature;
import io.github.sgdph.analysis.FisherCurvature;
import io.github.sgdph.conformance.KroneckerNets;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.FactoredLayer;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.dense.DenseSymmetricEigen;
import io.github.sgdph.kfac.KfacFixtures.Net;
import io.github.sgdph.kfac.KfacFixtures.PerSample;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.PredictiveDistribution;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.ReferenceAlgebra;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * KFAC and EKFAC on small reference-backend networks (dense, convolutional, train-mode batch
 * norm), float64, against their dense definitions built in the test from the SPI's per-sample
 * quantities, which are themselves checked against the per-term gradients.
 *
 * <p>Tolerances: the dense definitions and the operators sum the same float64 products in other
 * orders over at most a few hundred terms, so they agree to roundoff; 1e-12 relative to the
 * largest entry leaves a margin of about 10³ over the observed differences while any wrong index,
 * factor or scaling (vec ordering, the 1/T of KFC's Γ, a missing bias column) is off by O(1).
 */
class KroneckerFactorsTest {

  /**
   * The SPI's per-sample {@code M_i = Σ_t δ_it ã_itᵀ} is the per-term gradient of the layer's
   * weight and bias (computed by transposed-Jacobian products, the independently tested route):
   * this checks the layer inputs (im2col patches, their ordering against the weight's) and the
   * output gradients together. Not with train-mode batch norm, where δ_i carries the batch.
   */
  @Test
  void perSampleQuantitiesReproducePerTermGradients() {
    for (Net net : List.of(KfacFixtures.mlp(), KfacFixtures.cnn())) {
      ArrayBatch batch = twoBatches(net.spec(), 1).get(1);
      try (SpecModel model = build(net.spec(), 2);
          Curvature c = model.objective(batch).curvature()) {
        PerSample ps = read(c, List.of(empiricalSeed(c)));
        List<ParameterVector> g = c.perTermGradients();
        int[] off = KroneckerNets.blockOffsets(c.layout());
        double scale = 0;
        double err = 0;
        for (int i = 0; i < ps.n(); i++) {
          double[] gi = g.get(i).toDoubleArray();
          for (int l = 0; l < ps.layers().size(); l++) {
            FactoredLayer f = ps.layers().get(l);
            for (int o = 0; o < f.outputDim(); o++) {
              for (int col = 0; col < f.homogeneousInputDim(); col++) {
                double m = 0;
                for (int t = 0; t < f.positions(); t++) {
                  m += delta(f, ps.deltas().get(0)[l], i, o, t)
                      * aTilde(f, ps.inputs()[l], i, col, t);
                }
                double want = gi[index(f, off, o, col)];
                scale = Math.max(scale, Math.abs(want));
                err = Math.max(err, Math.abs(m - want));
              }
            }
          }
        }
        g.forEach(ParameterVector::close);
        assertTrue(scale > 0, net.name());
        assertTrue(err <= 1e-12 * scale, net.name() + ": max error " + err + " of " + scale);
        assertEquals(net.name().startsWith("cnn") ? 3 : 2, ps.layers().size());
      }
    }
  }

  /** The first convolution's inputs are the im2col patches of the batch, by direct indexing. */
  @Test
  void convolutionInputsAreTheUnfoldedPatches() {
    Net net = KfacFixtures.cnn();
    ArrayBatch batch = twoBatches(net.spec(), 3).get(0);
    try (SpecModel model = build(net.spec(), 4);
        Curvature c = model.objective(batch).curvature()) {
      FactoredLayer f = c.factoredLayers().get(0);
      assertEquals(FactoredLayer.Kind.CONV2D, f.kind());
      assertEquals(2 * 3 * 3, f.inputDim());
      assertEquals(9, f.positions());
      assertEquals(-1, f.biasBlock());
      double[] a;
      try (var t = c.layerInputs(0)) {
        a = t.toDoubleArray();
      }
      double[] x = batch.xView();
      for (int i = 0; i < batch.size(); i++) {
        for (int ch = 0; ch < 2; ch++) {
          for (int ky = 0; ky < 3; ky++) {
            for (int kx = 0; kx < 3; kx++) {
              for (int oy = 0; oy < 3; oy++) {
                for (int ox = 0; ox < 3; ox++) {
                  int y = 2 * oy + ky - 1;
                  int xx = 2 * ox + kx - 1;
                  double want = y < 0 || y >= 5 || xx < 0 || xx >= 5 ? 0
                      : x[((i * 2 + ch) * 5 + y) * 5 + xx];
                  int j = (ch * 3 + ky) * 3 + kx;
                  assertEquals(want, a[(i * 18 + j) * 9 + oy * 3 + ox], 0.0);
                }
              }
            }
          }
        }
      }
    }
  }

  /**
   * Seeds of the exact Fisher: column {@code c} of sample {@code j}'s {@code S} in row {@code j}
   * only, for every {@code j} and {@code c}.
   */
  static List<double[]> exactSeeds(Curvature c, ArrayBatch batch, LossKind loss) {
    PredictiveDistribution p = PredictiveDistribution.of(loss, c, batch.yView());
    int n = p.samples();
    int k = p.outputs();
    List<double[]> seeds = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double[] s = p.hessianFactor(i);
      for (int col = 0; col < k; col++) {
        double[] u = new double[n * k];
        for (int j = 0; j < k; j++) {
          u[i * k + j] = s[j * k + col];
        }
        seeds.add(u);
      }
    }
    return seeds;
  }

  /** The dense factors {@code A}, {@code G} per layer from per-sample quantities, over batches. */
  record Dense(List<FactoredLayer> layers, double[][][] a, double[][][] g, int samples) {}

  static Dense denseFactors(SpecModel model, List<ArrayBatch> data, FisherType type) {
    List<FactoredLayer> layers = null;
    double[][][] a = null;
    double[][][] g = null;
    int total = 0;
    for (ArrayBatch batch : data) {
      try (Curvature c = model.objective(batch).curvature()) {
        List<double[]> seeds = type == FisherType.EMPIRICAL ? List.of(empiricalSeed(c))
            : exactSeeds(c, batch, model.spec().loss());
        PerSample ps = read(c, seeds);
        if (layers == null) {
          layers = ps.layers();
          a = new double[layers.size()][][];
          g = new double[layers.size()][][];
          for (int l = 0; l < layers.size(); l++) {
            a[l] = new double[layers.get(l).homogeneousInputDim()][layers.get(l)
                .homogeneousInputDim()];
            g[l] = new double[layers.get(l).outputDim()][layers.get(l).outputDim()];
          }
        }
        total += ps.n();
        for (int l = 0; l < layers.size(); l++) {
          FactoredLayer f = layers.get(l);
          for (int i = 0; i < ps.n(); i++) {
            for (int t = 0; t < f.positions(); t++) {
              for (int r = 0; r < a[l].length; r++) {
                for (int s = 0; s < a[l].length; s++) {
                  a[l][r][s] += aTilde(f, ps.inputs()[l], i, r, t)
                      * aTilde(f, ps.inputs()[l], i, s, t);
                }
              }
              for (double[][] d : ps.deltas()) {
                for (int r = 0; r < g[l].length; r++) {
                  for (int s = 0; s < g[l].length; s++) {
                    g[l][r][s] += delta(f, d[l], i, r, t) * delta(f, d[l], i, s, t)
                        / f.positions();
                  }
                }
              }
            }
          }
        }
      }
    }
    for (int l = 0; l < a.length; l++) {
      scale(a[l], 1.0 / total);
      scale(g[l], 1.0 / total);
    }
    return new Dense(layers, a, g, total);
  }

  static void scale(double[][] m, double s) {
    for (double[] r : m) {
      for (int j = 0; j < r.length; j++) {
        r[j] *= s;
      }
    }
  }

  /** The diagonal of the non-factored blocks: mean squared per-term gradient, or DiagGGN. */
  static double[] denseDiagonal(SpecModel model, List<ArrayBatch> data, FisherType type) {
    if (type == FisherType.EXACT) {
      try (FisherCurvature fc = FisherCurvature.of(model, data);
          ParameterVector d = fc.ggnDiagonal()) {
        return d.toDoubleArray();
      }
    }
    try (FisherCurvature fc = FisherCurvature.of(model, data)) {
      double[][] m = DenseSymmetricEigen.materialize(fc.empiricalFisher(),
          ReferenceAlgebra.INSTANCE);
      double[] d = new double[m.length];
      for (int i = 0; i < d.length; i++) {
        d[i] = m[i][i];
      }
      return d;
    }
  }

  /**
   * The dense KFAC matrix over the root layout: {@code F[(o,j),(o',j')] = G[o][o'] A[j][j']} on
   * each layer's {@code vec_r([W | b])} — {@code G ⊗ A} in row-major order — and the given
   * diagonal on every other block.
   */
  static double[][] denseKfac(ParameterLayout root, Dense d, double[] diagonal) {
    int p = Math.toIntExact(root.dimension());
    double[][] m = new double[p][p];
    boolean[] factored = new boolean[p];
    int[] off = KroneckerNets.blockOffsets(root);
    for (int l = 0; l < d.layers().size(); l++) {
      FactoredLayer f = d.layers().get(l);
      int ad = f.homogeneousInputDim();
      for (int o = 0; o < f.outputDim(); o++) {
        for (int j = 0; j < ad; j++) {
          int r = index(f, off, o, j);
          factored[r] = true;
          for (int o2 = 0; o2 < f.outputDim(); o2++) {
            for (int j2 = 0; j2 < ad; j2++) {
              m[r][index(f, off, o2, j2)] = d.g()[l][o][o2] * d.a()[l][j][j2];
            }
          }
        }
      }
    }
    for (int r = 0; r < p; r++) {
      if (!factored[r]) {
        m[r][r] = diagonal[r];
      }
    }
    return m;
  }

  static void assertClose(double[][] want, double[][] got, double rel, String what) {
    double scale = maxAbs(want);
    assertTrue(scale > 0, what + ": a non-zero matrix");
    double err = 0;
    for (int r = 0; r < want.length; r++) {
      for (int s = 0; s < want.length; s++) {
        err = Math.max(err, Math.abs(want[r][s] - got[r][s]));
      }
    }
    assertTrue(err <= rel * scale, what + ": max error " + err + " of " + scale);
  }

  static double[][] submatrix(double[][] m, int[] idx) {
    double[][] s = new double[idx.length][idx.length];
    for (int i = 0; i < idx.length; i++) {
      for (int j = 0; j < idx.length; j++) {
        s[i][j] = m[idx[i]][idx[j]];
      }
    }
    return s;
  }

  /** The flattened root indices of a selection's entries, in its order. */
  static int[] indices(ParameterLayout sel) {
    int[] off = KroneckerNets.blockOffsets(sel.root());
    int[] idx = new int[Math.toIntExact(sel.dimension())];
    int k = 0;
    for (int b = 0; b < sel.blockCount(); b++) {
      int r = sel.rootIndex(b);
      for (int j = 0; j < sel.block(b).size(); j++) {
        idx[k++] = off[r] + j;
      }
    }
    return idx;
  }

  static List<Object[]> netsAndTypes() {
    List<Object[]> out = new ArrayList<>();
    for (Net n : KfacFixtures.nets().toList()) {
      out.add(new Object[] {n, FisherType.EMPIRICAL});
      out.add(new Object[] {n, FisherType.EXACT});
    }
    return out;
  }

  /**
   * The operator equals {@code G ⊗ A} (row-major vec) built densely from per-sample quantities,
   * with the Fisher diagonal on the batch-norm blocks, over two batches; a selection of the first
   * layer's weight (without its bias) and the last bias gives the diagonal block {@code G ⊗ A_SS}.
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("netsAndTypes")
  void kfacIsTheKroneckerProductOfTheDenseFactors(Net net, FisherType type) {
    List<ArrayBatch> data = twoBatches(net.spec(), 5);
    try (SpecModel model = build(net.spec(), 6)) {
      KroneckerFactors k = KroneckerFactors.compute(model, data, type, 1, 0, false);
      Dense d = denseFactors(model, data, type);
      ParameterLayout root = model.layout();
      double[][] want = denseKfac(root, d, denseDiagonal(model, data, type));
      assertClose(want, DenseSymmetricEigen.materialize(k.kfac(), ReferenceAlgebra.INSTANCE),
          1e-12, "KFAC");
      for (int l = 0; l < d.layers().size(); l++) {
        assertClose(d.a()[l], k.inputFactor(l), 1e-12, "A" + l);
        assertClose(d.g()[l], k.gradientFactor(l), 1e-12, "G" + l);
      }
      int last = root.blockCount() - 1;
      ParameterLayout sel = root.select(k.layers().get(0).weightBlock(), last);
      double[][] block = submatrix(want, indices(sel));
      assertClose(block,
          DenseSymmetricEigen.materialize(k.kfac(sel), ReferenceAlgebra.INSTANCE), 1e-12,
          "KFAC block");
      assertEquals(KroneckerFactorsTest.trace(want), k.kfac().trace(),
          1e-12 * KroneckerFactorsTest.trace(want), "trace");
      assertEquals(KroneckerFactorsTest.trace(block), k.kfac(sel).trace(),
          1e-12 * KroneckerFactorsTest.trace(block), "block trace");
    }
  }

  /**
   * The damped inverse inverts {@code (A + π√λ I) ⊗ (G + (√λ/π) I)} (and {@code d + λ} on the
   * diagonal blocks), built densely: {@code M · inverse(v) = v} to 1e-10 relative (the factors'
   * condition numbers after damping are below 1e4 here; the Cholesky solves lose about that many
   * ulps).
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("io.github.sgdph.kfac.KfacFixtures#nets")
  void dampedInverseInvertsTheFactoredTikhonovMatrix(Net net) {
    List<ArrayBatch> data = twoBatches(net.spec(), 7);
    double lambda = 0.03;
    try (SpecModel model = build(net.spec(), 8)) {
      KroneckerFactors k = KroneckerFactors.compute(model, data, FisherType.EMPIRICAL, 1, 0, false);
      Dense d = denseFactors(model, data, FisherType.EMPIRICAL);
      double[][][] ad = new double[d.a().length][][];
      double[][][] gd = new double[d.g().length][][];
      for (int l = 0; l < ad.length; l++) {
        double ta = trace(d.a()[l]) / d.a()[l].length;
        double tg = trace(d.g()[l]) / d.g()[l].length;
        double pi = Math.sqrt(ta / tg);
        ad[l] = plusIdentity(d.a()[l], pi * Math.sqrt(lambda));
        gd[l] = plusIdentity(d.g()[l], Math.sqrt(lambda) / pi);
      }
      double[] diag = denseDiagonal(model, data, FisherType.EMPIRICAL);
      for (int i = 0; i < diag.length; i++) {
        diag[i] += lambda;
      }
      double[][] m = denseKfac(model.layout(), new Dense(d.layers(), ad, gd, d.samples()), diag);
      LinearOperator inv = k.kfac().dampedInverse(lambda);
      SplittableRandom rnd = new SplittableRandom(9);
      for (int rep = 0; rep < 3; rep++) {
        try (ParameterVector v = ParameterVector.randomNormal(ReferenceAlgebra.INSTANCE,
                model.layout(), rnd);
            ParameterVector x = inv.apply(v)) {
          double[] xv = x.toDoubleArray();
          double[] vv = v.toDoubleArray();
          double err = 0;
          for (int r = 0; r < m.length; r++) {
            double s = 0;
            for (int c = 0; c < m.length; c++) {
              s += m[r][c] * xv[c];
            }
            err = Math.max(err, Math.abs(s - vv[r]));
          }
          assertTrue(err <= 1e-10 * v.maxAbs(), net.name() + ": residual " + err);
        }
      }
      assertThrows(IllegalArgumentException.class, () -> k.kfac().dampedInverse(0));
    }
  }

  static double trace(double[][] m) {
    double t = 0;
    for (int i = 0; i < m.length; i++) {
      t += m[i][i];
    }
    return t;
  }

  static double[][] plusIdentity(double[][] m, double d) {
    double[][] c = new double[m.length][];
    for (int i = 0; i < m.length; i++) {
      c[i] = m[i].clone();
      c[i][i] += d;
    }
    return c;
  }

  /**
   * With one sample and a linear model (one dense layer) the exact-Fisher KFAC is the GGN itself:
   * {@code J = ãᵀ ⊗ I}, so {@code G_GGN = (ã ãᵀ) ⊗ (S Sᵀ)} (row-major: {@code S Sᵀ ⊗ ã ãᵀ}),
   * which is {@code G ⊗ A} for {@code N = 1} — a check against the GGN products, independent of
   * the SPI.
   */
  @Test
  void exactKfacOfOneSampleOnALinearModelIsTheGgn() {
    for (LossKind loss : LossKind.values()) {
      ModelSpec spec = new ModelSpec(new int[] {4},
          List.of(new LayerSpec.Dense(4, 3, true)), loss);
      List<ArrayBatch> data = List.of(RandomBatches.forSpec(spec, 1, new SplittableRandom(10)));
      try (SpecModel model = build(spec, 11);
          DatasetCurvature dc = DatasetCurvature.of(model, data)) {
        KroneckerFactors k = KroneckerFactors.compute(model, data, FisherType.EXACT, 1, 0, false);
        assertClose(DenseSymmetricEigen.materialize(dc.ggn(), ReferenceAlgebra.INSTANCE),
            DenseSymmetricEigen.materialize(k.kfac(), ReferenceAlgebra.INSTANCE), 1e-12,
            loss.jsonName());
      }
    }
  }

  /**
   * The Monte-Carlo factor {@code G} is unbiased for the exact one: over 20 replicates of {@code
   * K = 25} draws (fixed seeds) every entry's mean lies within 4 standard errors (+1e-12 for
   * entries without variance) of the exact entry; {@code A} does not depend on the labels.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("io.github.sgdph.kfac.KfacFixtures#nets")
  void monteCarloFactorsAreUnbiased(Net net) {
    List<ArrayBatch> data = twoBatches(net.spec(), 12);
    try (SpecModel model = build(net.spec(), 13)) {
      KroneckerFactors exact = KroneckerFactors.compute(model, data, FisherType.EXACT, 1, 0, false);
      int reps = 20;
      for (int l = 0; l < exact.layers().size(); l++) {
        double[][] g = exact.gradientFactor(l);
        double[][] sum = new double[g.length][g.length];
        double[][] sq = new double[g.length][g.length];
        for (int r = 0; r < reps; r++) {
          KroneckerFactors mc =
              KroneckerFactors.compute(model, data, FisherType.MONTE_CARLO, 25, 100 + r, false);
          assertClose(exact.inputFactor(l), mc.inputFactor(l), 1e-14, "A" + l);
          double[][] gm = mc.gradientFactor(l);
          for (int i = 0; i < g.length; i++) {
            for (int j = 0; j < g.length; j++) {
              sum[i][j] += gm[i][j];
              sq[i][j] += gm[i][j] * gm[i][j];
            }
          }
        }
        for (int i = 0; i < g.length; i++) {
          for (int j = 0; j < g.length; j++) {
            double mean = sum[i][j] / reps;
            double var = Math.max(0, (sq[i][j] / reps - mean * mean) * reps / (reps - 1));
            double se = Math.sqrt(var / reps);
            assertTrue(Math.abs(mean - g[i][j]) <= 4 * se + 1e-12 * maxAbs(g),
                net.name() + " G" + l + "[" + i + "][" + j + "]: " + mean + " vs " + g[i][j]
                    + " ± " + se);
          }
        }
      }
    }
  }

  /**
   * EKFAC equals its eigen-definition {@code (Q_G ⊗ Q_A) diag(s) (Q_G ⊗ Q_A)ᵀ} built densely:
   * {@code Q_A}, {@code Q_G} the eigenvectors of the dense factors, {@code s} the mean squared
   * coordinates of the per-term gradients (transposed-Jacobian products) in that basis; and
   * {@code (EKFAC + λI) · inverse(v) = v}. Networks without batch norm, where {@code M_i} is the
   * per-term gradient.
   */
  @Test
  void ekfacIsItsEigenDefinition() {
    double lambda = 0.01;
    for (Net net : List.of(KfacFixtures.mlp(), KfacFixtures.cnn())) {
      List<ArrayBatch> data = twoBatches(net.spec(), 14);
      try (SpecModel model = build(net.spec(), 15)) {
        KroneckerFactors k =
            KroneckerFactors.compute(model, data, FisherType.EMPIRICAL, 1, 0, true);
        Dense d = denseFactors(model, data, FisherType.EMPIRICAL);
        ParameterLayout root = model.layout();
        int p = Math.toIntExact(root.dimension());
        int[] off = KroneckerNets.blockOffsets(root);
        List<double[]> grads = new ArrayList<>();
        for (ArrayBatch b : data) {
          for (ParameterVector g : model.objective(b).perTermGradients()) {
            grads.add(g.toDoubleArray());
            g.close();
          }
        }
        double[][] want = new double[p][p];
        for (int l = 0; l < d.layers().size(); l++) {
          FactoredLayer f = d.layers().get(l);
          double[][] qa = DenseSymmetricEigen.of(d.a()[l]).vectors();
          double[][] qg = DenseSymmetricEigen.of(d.g()[l]).vectors();
          int ad = f.homogeneousInputDim();
          // basis vector (x, y) = qg[x] ⊗ qa[y] in row-major vec
          for (int x = 0; x < f.outputDim(); x++) {
            for (int y = 0; y < ad; y++) {
              double[] q = new double[p];
              for (int o = 0; o < f.outputDim(); o++) {
                for (int j = 0; j < ad; j++) {
                  q[index(f, off, o, j)] = qg[x][o] * qa[y][j];
                }
              }
              double s = 0;
              for (double[] g : grads) {
                double c = 0;
                for (int r = 0; r < p; r++) {
                  c += q[r] * g[r];
                }
                s += c * c;
              }
              s /= grads.size();
              for (int r = 0; r < p; r++) {
                for (int c = 0; c < p; c++) {
                  want[r][c] += s * q[r] * q[c];
                }
              }
            }
          }
        }
        assertClose(want, DenseSymmetricEigen.materialize(k.ekfac(), ReferenceAlgebra.INSTANCE),
            1e-10, net.name() + " EKFAC");
        assertEquals(trace(want), k.ekfac().trace(), 1e-10 * trace(want), "EKFAC trace");
        ParameterLayout weightOnly = root.select(k.layers().get(0).weightBlock());
        double[][] wb = submatrix(want, indices(weightOnly));
        assertClose(wb,
            DenseSymmetricEigen.materialize(k.ekfac(weightOnly), ReferenceAlgebra.INSTANCE),
            1e-10, net.name() + " EKFAC block");
        assertEquals(trace(wb), k.ekfac(weightOnly).trace(), 1e-10 * trace(wb), "block trace");
        LinearOperator inv = k.ekfac().dampedInverse(lambda);
        try (ParameterVector v = ParameterVector.randomNormal(ReferenceAlgebra.INSTANCE, root,
                new SplittableRandom(16));
            ParameterVector x = inv.apply(v)) {
          double[] xv = x.toDoubleArray();
          double[] vv = v.toDoubleArray();
          double err = 0;
          for (int r = 0; r < p; r++) {
            double s = lambda * xv[r];
            for (int c = 0; c < p; c++) {
              s += want[r][c] * xv[c];
            }
            err = Math.max(err, Math.abs(s - vv[r]));
          }
          assertTrue(err <= 1e-8 * v.maxAbs(), net.name() + ": residual " + err);
        }
        ParameterLayout partial = root.select(k.layers().get(1).weightBlock());
        assertThrows(IllegalArgumentException.class, () -> k.ekfac(partial).dampedInverse(1));
        assertThrows(IllegalStateException.class,
            () -> KroneckerFactors.compute(model, data, FisherType.EMPIRICAL, 1, 0, false)
                .ekfac());
      }
    }
  }
}
