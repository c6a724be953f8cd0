package io.github.sgdph.kfac;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.CurvatureModel;
import io.github.sgdph.curvature.FactoredLayer;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.PredictiveDistribution;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * The Kronecker factors of a model over a data set at its current parameters (KFAC: Martens and
 * Grosse 2015, §3; KFC for convolutions: Grosse and Martens 2016, §3), the diagonal of the other
 * trainable blocks, and optionally EKFAC's eigenbasis scalings (George et al. 2018, §3), from
 * which {@link #kfac} and {@link #ekfac} build operators.
 *
 * <p>For each {@linkplain Curvature#factoredLayers() factored layer}, with {@code N} samples,
 * {@code T} positions ({@code 1} for a dense layer), {@code ã_it = [a_it; 1]} its homogeneous
 * input (without the 1 when it has no bias) and {@code δ_it} the gradient with respect to its
 * output:
 *
 * <pre>
 *   A = (1/N) Σ_i Σ_t ã_it ã_itᵀ                  (KFC's Ω: summed over positions)
 *   G = (1/N) Σ_i E_y[ (1/T) Σ_t δ_it δ_itᵀ ]      (KFC's Γ: averaged over positions)
 * </pre>
 *
 * and the layer's block of the Fisher is approximated by {@code A ⊗ G} in Martens and Grosse's
 * column-major {@code vec}: in sgdph's row-major layout, with {@code W̃ = [W | b]} of shape
 * {@code [out, |ã|]} and {@code vec_r(W̃)} entry {@code (o, j)} at {@code o·|ã| + j}, the same
 * matrix is {@code G ⊗ A}, and its product is {@code V ↦ G V A}. The expectation over the
 * labels {@code E_y} is the {@link FisherType}: the data's labels (one backward pass seeded with
 * every sample's {@code ∂ℓ_i/∂z_i}), {@code K} draws from the predictive distribution (one pass
 * per draw seeded with every sample's {@code ∂ℓ_i(ỹ_i)/∂z_i}, weighted {@code c/K}, {@code c} its
 * {@linkplain PredictiveDistribution#fisherScale() Fisher scale}), or exact through {@code H_ℓ =
 * S Sᵀ}: one pass per sample {@code j} and column {@code c} of {@code S_j}, seeded with {@code
 * s_jc} in row {@code j} only, every sample's {@code δ_i} of each pass counted. Since the draws
 * of different samples are independent with mean zero, the Monte-Carlo expectation is the exact
 * one also when the samples interact (train-mode batch norm), where the rows' cross terms of a
 * pass seeded in every row would not vanish.
 *
 * <p><b>Other trainable blocks</b> (batch-norm scale and shift; any block of a layer the backend
 * does not factor) get the <em>diagonal</em> of the same Fisher, {@code (1/N) Σ_i E_y[g_i ∘
 * g_i]} with {@code g_i} the per-term gradient of sample {@code i} for the same labels (for
 * {@link FisherType#EXACT} the exact GGN diagonal): a diagonal block.
 *
 * <p><b>EKFAC</b> (with {@code eigenbasisScaling}): with {@code A = Q_A Λ_A Q_Aᵀ} and {@code G =
 * Q_G Λ_G Q_Gᵀ} and the per-sample gradient matrix {@code M_i = Σ_t δ_it ã_itᵀ}, the scaling is
 * {@code s = (1/N) Σ_i E_y[(Q_Gᵀ M_i Q_A)∘²]} (the second moment of the per-sample gradients in
 * the Kronecker-factored eigenbasis), and the layer's block is {@code (Q_G ⊗ Q_A) diag(vec_r s)
 * (Q_G ⊗ Q_A)ᵀ}.
 *
 * <p><b>Train-mode batch norm.</b> {@code δ_i} is row {@code i} of a backward pass through the
 * whole batch, so it carries the batch's coupling as in KFAC implementations; the factors stay
 * positive semi-definite, the Monte-Carlo and exact ones are those of the Fisher of the batch's
 * joint label distribution (as in {@link io.github.sgdph.analysis.FisherCurvature}), and the
 * empirical {@code δ_i} is {@code ∂(Σ_j ℓ_j)/∂s_i}, not {@code ∂ℓ_i/∂s_i}.
 *
 * <p>The factors live on the host in float64 ({@code O(|ã|² + out²)} per layer). Computing them
 * holds the per-sample inputs and output gradients of one batch (and of all batches with
 * EKFAC's scalings); it makes one backward pass per seed per batch (1 empirical, {@code K}
 * Monte-Carlo, {@code n k} exact), plus {@code n} transposed-Jacobian products per multi-row seed
 * ({@code 1} per exact seed) when the model has non-factored blocks. Immutable.
 */
public final class KroneckerFactors {
  private final ParameterLayout layout;
  private final TensorAlgebra algebra;
  private final List<FactoredLayer> layers;
  private final double[][][] a;
  private final double[][][] g;
  /** Per root block: the Fisher diagonal of a non-factored block, null for factored blocks. */
  private final double[][] diagonal;
  /** Per layer the EKFAC scaling {@code [out][|ã|]}, or null. */
  private final double[][][] scaling;
  /** Per layer the eigenbases {@code Q_A}, {@code Q_G} the scalings refer to, or null. */
  private final double[][][] qa;

  private final double[][][] qg;

  private final FisherType type;
  private final int samples;

  private KroneckerFactors(
      ParameterLayout layout,
      TensorAlgebra algebra,
      List<FactoredLayer> layers,
      double[][][] a,
      double[][][] g,
      double[][] diagonal,
      Eigenbasis eigen,
      FisherType type,
      int samples) {
    this.layout = layout;
    this.algebra = algebra;
    this.layers = layers;
    this.a = a;
    this.g = g;
    this.diagonal = diagonal;
    this.scaling = eigen == null ? null : eigen.s();
    this.qa = eigen == null ? null : eigen.qa();
    this.qg = eigen == null ? null : eigen.qg();
    this.type = type;
    this.samples = samples;
  }

  /**
   * The Kronecker factors of a spec-built model with its spec's loss.
   *
   * @param model the model, at the parameters to analyse
   * @param batches the batches of the data set, at least one
   * @param type the expectation over the labels
   * @param draws the number {@code K} of label draws per sample for {@link FisherType#MONTE_CARLO}
   *     (at least 1; ignored otherwise)
   * @param seed the seed of the draws
   * @param eigenbasisScaling whether to compute EKFAC's scalings as well (for {@link #ekfac})
   * @return the factors
   * @throws IllegalArgumentException naming the argument for empty batches or {@code draws < 1}
   * @throws UnsupportedOperationException naming the backend if it lacks the Kronecker-factor SPI
   */
  public static KroneckerFactors compute(
      SpecModel model,
      List<ArrayBatch> batches,
      FisherType type,
      int draws,
      long seed,
      boolean eigenbasisScaling) {
    Objects.requireNonNull(model, "model");
    return compute(model, batches, model.spec().loss(), type, draws, seed, eigenbasisScaling);
  }

  /**
   * The Kronecker factors of a model whose loss is {@code loss}.
   *
   * @param model the model, at the parameters to analyse
   * @param batches the batches of the data set, at least one
   * @param loss the model's loss (it defines the predictive distribution)
   * @param type the expectation over the labels
   * @param draws the number {@code K} of label draws per sample for {@link FisherType#MONTE_CARLO}
   *     (at least 1; ignored otherwise)
   * @param seed the seed of the draws
   * @param eigenbasisScaling whether to compute EKFAC's scalings as well (for {@link #ekfac})
   * @return the factors
   * @throws IllegalArgumentException naming the argument for empty batches or {@code draws < 1}
   * @throws UnsupportedOperationException naming the backend if it lacks the Kronecker-factor SPI
   */
  public static KroneckerFactors compute(
      CurvatureModel<ArrayBatch> model,
      List<ArrayBatch> batches,
      LossKind loss,
      FisherType type,
      int draws,
      long seed,
      boolean eigenbasisScaling) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(batches, "batches");
    Objects.requireNonNull(loss, "loss");
    Objects.requireNonNull(type, "type");
    if (batches.isEmpty()) {
      throw new IllegalArgumentException("batches: at least one batch is needed");
    }
    if (type == FisherType.MONTE_CARLO && draws < 1) {
      throw new IllegalArgumentException("draws: must be >= 1 but was " + draws);
    }
    Accumulator acc = new Accumulator(
        model.layout().root(), model.algebra(), loss, type, draws, seed, eigenbasisScaling);
    for (int b = 0; b < batches.size(); b++) {
      ArrayBatch batch = Objects.requireNonNull(batches.get(b), "batches[" + b + "]");
      try (Curvature c = model.objective(batch).curvature()) {
        acc.add(c, batch.yView());
      }
    }
    return acc.finish();
  }

  /**
   * The Kronecker factors of one batch, from its curvature (what an optimizer step has).
   *
   * @param curvature the batch's curvature at the current parameters; not closed
   * @param loss the model's loss; may be null for {@link FisherType#EMPIRICAL}
   * @param labels the batch's labels (as {@link PredictiveDistribution#fromOutputGradient} reads
   *     them); may be null for {@link FisherType#EMPIRICAL}
   * @param type the expectation over the labels
   * @param draws the number {@code K} of label draws per sample for {@link FisherType#MONTE_CARLO}
   * @param seed the seed of the draws
   * @param eigenbasisScaling whether to compute EKFAC's scalings as well
   * @return the factors
   * @throws IllegalArgumentException naming the argument if {@code loss} or {@code labels} is
   *     missing where needed or {@code draws < 1}
   * @throws UnsupportedOperationException naming the backend if it lacks the Kronecker-factor SPI
   */
  public static KroneckerFactors of(
      Curvature curvature,
      LossKind loss,
      double[] labels,
      FisherType type,
      int draws,
      long seed,
      boolean eigenbasisScaling) {
    Objects.requireNonNull(curvature, "curvature");
    Objects.requireNonNull(type, "type");
    if (type != FisherType.EMPIRICAL && (loss == null || labels == null)) {
      throw new IllegalArgumentException(
          "loss, labels: needed for the " + type + " Fisher's predictive distribution");
    }
    if (type == FisherType.MONTE_CARLO && draws < 1) {
      throw new IllegalArgumentException("draws: must be >= 1 but was " + draws);
    }
    ParameterLayout root = curvature.layout().root();
    TensorAlgebra algebra;
    try (Tensor t = curvature.outputGradient()) {
      algebra = t.algebra();
    }
    Accumulator acc =
        new Accumulator(root, algebra, loss, type, draws, seed, eigenbasisScaling);
    acc.add(curvature, labels);
    return acc.finish();
  }

  /** EKFAC's scalings per layer and the eigenbases they refer to. */
  private record Eigenbasis(double[][][] s, double[][][] qa, double[][][] qg) {}

  /**
   * A seed of a backward pass: {@code u [n, k]}, the weight of its outer products, and the one
   * sample row it is non-zero in ({@code -1}: every row).
   */
  private record Seed(double[] u, double weight, int row) {}

  /** The per-batch host data EKFAC's second pass needs. */
  private record Stored(double[][] inputs, List<double[][]> deltas, double[] weights, int n) {}

  /** One pass over the batches, summing the factors. */
  private static final class Accumulator {
    private final TensorAlgebra algebra;
    private final LossKind loss;
    private final FisherType type;
    private final int draws;
    private final boolean ekfac;
    private final SplittableRandom random;
    private final ParameterLayout root;
    private List<FactoredLayer> layers;
    private double[][][] a;
    private double[][][] g;
    private double[][] diag;
    private final List<Stored> stored = new ArrayList<>();
    private int samples;

    Accumulator(
        ParameterLayout root,
        TensorAlgebra algebra,
        LossKind loss,
        FisherType type,
        int draws,
        long seed,
        boolean ekfac) {
      this.algebra = algebra;
      this.loss = loss;
      this.type = type;
      this.draws = draws;
      this.ekfac = ekfac;
      this.random = new SplittableRandom(seed);
      this.root = root;
    }

    KroneckerFactors finish() {
      double inv = 1.0 / samples;
      for (int l = 0; l < layers.size(); l++) {
        scale(a[l], inv);
        scale(g[l], inv);
      }
      for (double[] d : diag) {
        if (d != null) {
          for (int j = 0; j < d.length; j++) {
            d[j] *= inv;
          }
        }
      }
      Eigenbasis s = ekfac ? scalings(inv) : null;
      return new KroneckerFactors(root, algebra, layers, a, g, diag, s, type, samples);
    }

    void add(Curvature c, double[] labels) {
      List<FactoredLayer> ls = c.factoredLayers();
      if (layers == null) {
        layers = List.copyOf(ls);
        a = new double[ls.size()][][];
        g = new double[ls.size()][][];
        for (int l = 0; l < ls.size(); l++) {
          int ad = ls.get(l).homogeneousInputDim();
          int od = ls.get(l).outputDim();
          a[l] = new double[ad][ad];
          g[l] = new double[od][od];
        }
        diag = new double[root.blockCount()][];
        boolean[] factored = new boolean[root.blockCount()];
        for (FactoredLayer f : ls) {
          factored[f.weightBlock()] = true;
          if (f.hasBias()) {
            factored[f.biasBlock()] = true;
          }
        }
        for (int b = 0; b < factored.length; b++) {
          if (!factored[b]) {
            diag[b] = new double[root.block(b).size()];
          }
        }
      } else if (!layers.equals(ls)) {
        throw new IllegalStateException(
            "factoredLayers: the backend reported other layers for another batch");
      }
      int n = c.batchSize();
      samples += n;
      double[][] inputs = new double[layers.size()][];
      for (int l = 0; l < layers.size(); l++) {
        try (Tensor t = c.layerInputs(l)) {
          inputs[l] = t.toDoubleArray();
        }
        addInputFactor(layers.get(l), inputs[l], n, a[l]);
      }
      int[] shape;
      double[] dz;
      TensorAlgebra alg;
      try (Tensor t = c.outputGradient()) {
        shape = t.shape();
        dz = t.toDoubleArray();
        alg = t.algebra();
      }
      int k = dz.length / n;
      List<Seed> seeds = new ArrayList<>();
      switch (type) {
        case EMPIRICAL -> {
          double[] u = dz.clone();
          for (int j = 0; j < u.length; j++) {
            u[j] *= n;
          }
          seeds.add(new Seed(u, 1, -1));
        }
        case MONTE_CARLO -> {
          PredictiveDistribution p =
              PredictiveDistribution.fromOutputGradient(loss, dz, labels, n);
          for (int s = 0; s < draws; s++) {
            seeds.add(new Seed(
                p.termOutputGradients(p.sampleLabels(random)), p.fisherScale() / draws, -1));
          }
        }
        case EXACT -> {
          PredictiveDistribution p =
              PredictiveDistribution.fromOutputGradient(loss, dz, labels, n);
          for (int i = 0; i < n; i++) {
            double[] f = p.hessianFactor(i);
            for (int col = 0; col < k; col++) {
              double[] u = new double[n * k];
              boolean nonzero = false;
              for (int j = 0; j < k; j++) {
                u[i * k + j] = f[j * k + col];
                nonzero |= u[i * k + j] != 0;
              }
              if (nonzero) {
                seeds.add(new Seed(u, 1, i));
              }
            }
          }
        }
        default -> throw new IllegalStateException("type: " + type);
      }
      boolean others = false;
      for (double[] d : diag) {
        others |= d != null;
      }
      List<double[][]> deltas = new ArrayList<>();
      double[] w = new double[seeds.size()];
      for (int s = 0; s < seeds.size(); s++) {
        Seed seed = seeds.get(s);
        w[s] = seed.weight();
        double[][] d = new double[layers.size()][];
        try (Tensor u = alg.fromArray(seed.u(), shape)) {
          List<Tensor> out = c.layerOutputGradients(u);
          try {
            for (int l = 0; l < layers.size(); l++) {
              d[l] = out.get(l).toDoubleArray();
            }
          } finally {
            out.forEach(Tensor::close);
          }
        }
        for (int l = 0; l < layers.size(); l++) {
          addGradientFactor(layers.get(l), d[l], n, w[s], g[l]);
        }
        if (others) {
          addDiagonal(c, alg, shape, seed, n, k);
        }
        if (ekfac) {
          deltas.add(d);
        }
      }
      if (ekfac) {
        stored.add(new Stored(inputs, deltas, w, n));
      }
    }

    /**
     * {@code diag += w Σ_i (Jᵀ u_i)²} on the non-factored blocks, {@code u_i} row {@code i} of
     * the seed (the seed itself when it has one row only).
     */
    private void addDiagonal(
        Curvature c, TensorAlgebra alg, int[] shape, Seed seed, int n, int k) {
      double[] u = seed.u();
      double w = seed.weight();
      for (int i = 0; i < n; i++) {
        if (seed.row() >= 0 && seed.row() != i) {
          continue;
        }
        double[] row = new double[u.length];
        System.arraycopy(u, i * k, row, i * k, k);
        try (Tensor t = alg.fromArray(row, shape);
            ParameterVector gi = c.vjp(t)) {
          for (int b = 0; b < diag.length; b++) {
            if (diag[b] != null) {
              double[] v = gi.block(b).toDoubleArray();
              for (int j = 0; j < v.length; j++) {
                diag[b][j] += w * v[j] * v[j];
              }
            }
          }
        }
      }
    }

    private Eigenbasis scalings(double inv) {
      double[][][] s = new double[layers.size()][][];
      double[][][] qas = new double[layers.size()][][];
      double[][][] qgs = new double[layers.size()][][];
      for (int l = 0; l < layers.size(); l++) {
        FactoredLayer f = layers.get(l);
        double[][] qa = HostMatrices.eigenbasis(a[l]);
        double[][] qg = HostMatrices.eigenbasis(g[l]);
        qas[l] = qa;
        qgs[l] = qg;
        double[][] qgT = HostMatrices.transpose(qg);
        double[][] acc = new double[f.outputDim()][f.homogeneousInputDim()];
        for (Stored st : stored) {
          for (int sd = 0; sd < st.deltas().size(); sd++) {
            double[] d = st.deltas().get(sd)[l];
            for (int i = 0; i < st.n(); i++) {
              double[][] m = sampleGradient(f, st.inputs()[l], d, i);
              double[][] p = HostMatrices.multiply(HostMatrices.multiply(qgT, m), qa);
              double w = st.weights()[sd];
              for (int o = 0; o < p.length; o++) {
                for (int j = 0; j < p[o].length; j++) {
                  acc[o][j] += w * p[o][j] * p[o][j];
                }
              }
            }
          }
        }
        scale(acc, inv);
        s[l] = acc;
      }
      return new Eigenbasis(s, qas, qgs);
    }
  }

  /** {@code M_i = Σ_t δ_it ã_itᵀ}, {@code [out × |ã|]}. */
  static double[][] sampleGradient(FactoredLayer f, double[] in, double[] delta, int i) {
    int din = f.inputDim();
    int out = f.outputDim();
    int t = f.positions();
    double[][] m = new double[out][f.homogeneousInputDim()];
    int ai = i * din * t;
    int di = i * out * t;
    for (int o = 0; o < out; o++) {
      double[] mo = m[o];
      for (int p = 0; p < t; p++) {
        double dv = delta[di + o * t + p];
        if (dv == 0) {
          continue;
        }
        for (int j = 0; j < din; j++) {
          mo[j] += dv * in[ai + j * t + p];
        }
        if (f.hasBias()) {
          mo[din] += dv;
        }
      }
    }
    return m;
  }

  /** The doubles of the unfolded inputs {@link #addInputFactor} holds at once (8 MB). */
  private static final int INPUT_CHUNK = 1 << 20;

  /**
   * {@code A += Σ_i Σ_t ã_it ã_itᵀ} for a batch of {@code n} inputs {@code [n, in, T]}.
   *
   * <p>The vectors {@code ã_it} are unfolded in chunks of rows of a matrix {@code X}, and the
   * lower triangle of {@code A} is accumulated in blocks of rows that stay in cache while every
   * row of the chunk passes, four rows of {@code X} per pass; the upper triangle is then copied
   * from the lower. Each entry still receives its terms one by one in the order of {@code (i,
   * t)} (Java evaluates {@code a + x₀y₀ + x₁y₁} left to right, and never fuses), and {@code
   * ã_r ã_c = ã_c ã_r} exactly, so the factor is bit for bit the one a rank-one update per
   * vector gives — only without streaming all of {@code A} through memory once per vector (a
   * 3137 × 3137 factor is 79 MB). (For finite inputs: where a rank-one update skips a zero
   * {@code ã_r}, a pass of four rows adds its {@code ±0} terms, which change no sum.)
   */
  static void addInputFactor(FactoredLayer f, double[] in, int n, double[][] a) {
    int din = f.inputDim();
    int t = f.positions();
    int ad = f.homogeneousInputDim();
    int total = n * t;
    int chunk = Math.max(4, Math.min(total, INPUT_CHUNK / Math.max(1, ad)));
    double[][] x = new double[Math.min(chunk, total)][ad];
    for (int start = 0; start < total; start += chunk) {
      int rows = Math.min(chunk, total - start);
      for (int k = 0; k < rows; k++) {
        int i = (start + k) / t;
        int p = (start + k) % t;
        double[] xk = x[k];
        for (int j = 0; j < din; j++) {
          xk[j] = in[(i * din + j) * t + p];
        }
        if (f.hasBias()) {
          xk[din] = 1;
        }
      }
      addLowerGram(a, x, rows);
    }
    for (int r = 0; r < ad; r++) {
      for (int c = r + 1; c < ad; c++) {
        a[r][c] = a[c][r];
      }
    }
  }

  /** Rows of {@code A} of one block of {@link #addLowerGram}: about 256 KB of them. */
  private static final int GRAM_BLOCK_DOUBLES = 1 << 15;

  /** The lower triangle of {@code A += Σ_{k < rows} x_k x_kᵀ}, in order of {@code k}. */
  private static void addLowerGram(double[][] a, double[][] x, int rows) {
    int d = a.length;
    int block = Math.max(1, GRAM_BLOCK_DOUBLES / Math.max(1, d));
    for (int r0 = 0; r0 < d; r0 += block) {
      int r1 = Math.min(d, r0 + block);
      int k = 0;
      for (; k + 4 <= rows; k += 4) {
        double[] y0 = x[k];
        double[] y1 = x[k + 1];
        double[] y2 = x[k + 2];
        double[] y3 = x[k + 3];
        for (int r = r0; r < r1; r++) {
          double x0 = y0[r];
          double x1 = y1[r];
          double x2 = y2[r];
          double x3 = y3[r];
          if (x0 == 0 && x1 == 0 && x2 == 0 && x3 == 0) {
            continue;
          }
          double[] ar = a[r];
          for (int c = 0; c <= r; c++) {
            ar[c] = ar[c] + x0 * y0[c] + x1 * y1[c] + x2 * y2[c] + x3 * y3[c];
          }
        }
      }
      for (; k < rows; k++) {
        double[] y = x[k];
        for (int r = r0; r < r1; r++) {
          double xr = y[r];
          if (xr == 0) {
            continue;
          }
          double[] ar = a[r];
          for (int c = 0; c <= r; c++) {
            ar[c] += xr * y[c];
          }
        }
      }
    }
  }

  /** {@code G += (w/T) Σ_i Σ_t δ_it δ_itᵀ} for output gradients {@code [n, out, T]}. */
  private static void addGradientFactor(
      FactoredLayer f, double[] d, int n, double w, double[][] g) {
    int out = f.outputDim();
    int t = f.positions();
    double[] v = new double[out];
    for (int i = 0; i < n; i++) {
      for (int p = 0; p < t; p++) {
        for (int o = 0; o < out; o++) {
          v[o] = d[(i * out + o) * t + p];
        }
        addOuter(g, v, w / t);
      }
    }
  }

  private static void addOuter(double[][] m, double[] v, double w) {
    for (int r = 0; r < v.length; r++) {
      double x = w * v[r];
      if (x == 0) {
        continue;
      }
      double[] mr = m[r];
      for (int c = 0; c < v.length; c++) {
        mr[c] += x * v[c];
      }
    }
  }

  private static void scale(double[][] m, double s) {
    for (double[] r : m) {
      for (int j = 0; j < r.length; j++) {
        r[j] *= s;
      }
    }
  }

  /**
   * The running average {@code decay · older + (1 − decay) · this} of factors of the same model
   * (Martens and Grosse 2015, §5: exponentially decayed averages of the factors across
   * mini-batches), of the factors and the diagonal. EKFAC scalings are not averaged: they refer to
   * the eigenbases of their own factors, and George et al. recompute them in the averaged
   * factors' eigenbasis; the result has none.
   *
   * @param older the previous average
   * @param decay the weight of {@code older}, in [0, 1)
   * @return the new average
   * @throws IllegalArgumentException naming the argument if {@code decay} is out of range or
   *     {@code older} is of another model
   */
  public KroneckerFactors averagedWith(KroneckerFactors older, double decay) {
    Objects.requireNonNull(older, "older");
    if (!(decay >= 0 && decay < 1)) {
      throw new IllegalArgumentException("decay: must be in [0, 1) but was " + decay);
    }
    if (older.layout != layout || !older.layers.equals(layers)) {
      throw new IllegalArgumentException("older: factors of another model");
    }
    double[][][] na = new double[a.length][][];
    double[][][] ng = new double[g.length][][];
    for (int l = 0; l < a.length; l++) {
      na[l] = blend(older.a[l], a[l], decay);
      ng[l] = blend(older.g[l], g[l], decay);
    }
    double[][] nd = new double[diagonal.length][];
    for (int b = 0; b < nd.length; b++) {
      if (diagonal[b] != null) {
        nd[b] = blend(new double[][] {older.diagonal[b]}, new double[][] {diagonal[b]}, decay)[0];
      }
    }
    return new KroneckerFactors(
        layout, algebra, layers, na, ng, nd, null, type, older.samples + samples);
  }

  private static double[][] blend(double[][] old, double[][] fresh, double decay) {
    double[][] out = new double[fresh.length][];
    for (int r = 0; r < out.length; r++) {
      out[r] = new double[fresh[r].length];
      for (int c = 0; c < out[r].length; c++) {
        out[r][c] = decay * old[r][c] + (1 - decay) * fresh[r][c];
      }
    }
    return out;
  }

  /**
   * The factors as named host buffers, for an optimizer's saved state: {@code prefix + "A." + l},
   * {@code prefix + "G." + l} per layer {@code l} and {@code prefix + "D." + b} (one row) per
   * non-factored root block {@code b}. EKFAC scalings are not included.
   *
   * @param prefix the prefix of the buffer names
   * @return a new map of copies
   */
  public java.util.Map<String, double[][]> toBuffers(String prefix) {
    java.util.Map<String, double[][]> m = new java.util.LinkedHashMap<>();
    for (int l = 0; l < layers.size(); l++) {
      m.put(prefix + "A." + l, copy(a[l]));
      m.put(prefix + "G." + l, copy(g[l]));
    }
    for (int b = 0; b < diagonal.length; b++) {
      if (diagonal[b] != null) {
        m.put(prefix + "D." + b, new double[][] {diagonal[b].clone()});
      }
    }
    return m;
  }

  /**
   * Factors of the layers a curvature reports, read back from {@link #toBuffers}.
   *
   * @param curvature a curvature of the model (for its layout, algebra and factored layers)
   * @param type the Fisher type the factors were computed with
   * @param samples the number of samples they were computed from
   * @param buffers the buffers
   * @param prefix the prefix of their names
   * @return the factors
   * @throws IllegalArgumentException naming the buffer if one is missing or has the wrong shape
   */
  public static KroneckerFactors fromBuffers(
      Curvature curvature,
      FisherType type,
      int samples,
      java.util.Map<String, double[][]> buffers,
      String prefix) {
    ParameterLayout root = curvature.layout().root();
    List<FactoredLayer> layers = List.copyOf(curvature.factoredLayers());
    TensorAlgebra algebra;
    try (Tensor t = curvature.outputGradient()) {
      algebra = t.algebra();
    }
    double[][][] a = new double[layers.size()][][];
    double[][][] g = new double[layers.size()][][];
    boolean[] factored = new boolean[root.blockCount()];
    for (int l = 0; l < layers.size(); l++) {
      FactoredLayer f = layers.get(l);
      a[l] = square(buffers, prefix + "A." + l, f.homogeneousInputDim());
      g[l] = square(buffers, prefix + "G." + l, f.outputDim());
      factored[f.weightBlock()] = true;
      if (f.hasBias()) {
        factored[f.biasBlock()] = true;
      }
    }
    double[][] d = new double[root.blockCount()][];
    for (int b = 0; b < d.length; b++) {
      if (!factored[b]) {
        String key = prefix + "D." + b;
        double[][] v = buffers.get(key);
        if (v == null || v.length != 1 || v[0] == null || v[0].length != root.block(b).size()) {
          throw new IllegalArgumentException(key + ": missing or not of " + root.block(b).size()
              + " entries");
        }
        d[b] = v[0].clone();
      }
    }
    return new KroneckerFactors(root, algebra, layers, a, g, d, null, type, samples);
  }

  private static double[][] square(java.util.Map<String, double[][]> buffers, String key, int n) {
    double[][] m = buffers.get(key);
    if (m == null || m.length != n) {
      throw new IllegalArgumentException(key + ": missing or not " + n + " × " + n);
    }
    for (double[] r : m) {
      if (r == null || r.length != n) {
        throw new IllegalArgumentException(key + ": not " + n + " × " + n);
      }
    }
    return copy(m);
  }

  /**
   * The model's root layout.
   *
   * @return the layout the operators' domains are selections of
   */
  public ParameterLayout layout() {
    return layout;
  }

  /**
   * The factored layers.
   *
   * @return the layers, in the backend's order
   */
  public List<FactoredLayer> layers() {
    return layers;
  }

  /**
   * The expectation over the labels the factors took.
   *
   * @return the Fisher type
   */
  public FisherType type() {
    return type;
  }

  /**
   * The number of samples the factors were computed from (summed over averaged factors).
   *
   * @return {@code N}
   */
  public int sampleCount() {
    return samples;
  }

  /**
   * The input factor {@code A} of a layer, over the homogeneous input {@code ã}.
   *
   * @param layer an index into {@link #layers()}
   * @return a copy, {@code [|ã| × |ã|]}
   */
  public double[][] inputFactor(int layer) {
    return copy(a[layer]);
  }

  /**
   * The output-gradient factor {@code G} of a layer.
   *
   * @param layer an index into {@link #layers()}
   * @return a copy, {@code [out × out]}
   */
  public double[][] gradientFactor(int layer) {
    return copy(g[layer]);
  }

  /**
   * EKFAC's scaling of a layer, {@code s[o][j]} the second moment of the per-sample gradients'
   * coordinate on {@code q_G,o ⊗ q_A,j}.
   *
   * @param layer an index into {@link #layers()}
   * @return a copy, {@code [out × |ã|]}
   * @throws IllegalStateException if the factors were computed without eigenbasis scalings
   */
  public double[][] eigenbasisScaling(int layer) {
    requireScaling();
    return copy(scaling[layer]);
  }

  /**
   * The Fisher diagonal of a non-factored root block.
   *
   * @param rootBlock the block's index in {@link #layout()}
   * @return a copy, or null if the block belongs to a factored layer
   */
  public double[] diagonal(int rootBlock) {
    double[] d = diagonal[rootBlock];
    return d == null ? null : d.clone();
  }

  /**
   * The KFAC operator on the whole model.
   *
   * @return the operator over {@link #layout()}
   */
  public KfacOperator kfac() {
    return kfac(layout);
  }

  /**
   * The diagonal block of the KFAC matrix on a selection of blocks (for a factored layer partly
   * selected, {@code A_SS ⊗ G} on its selected columns {@code S} of {@code ã}).
   *
   * @param domain a selection of {@link #layout()}, or that layout
   * @return the operator over {@code domain}
   * @throws IllegalArgumentException if {@code domain} is not a layout of this model
   */
  public KfacOperator kfac(ParameterLayout domain) {
    return new KfacOperator(this, view(domain));
  }

  /**
   * The EKFAC operator on the whole model.
   *
   * @return the operator over {@link #layout()}
   * @throws IllegalStateException if the factors were computed without eigenbasis scalings
   */
  public EkfacOperator ekfac() {
    return ekfac(layout);
  }

  /**
   * The diagonal block of the EKFAC matrix on a selection of blocks.
   *
   * @param domain a selection of {@link #layout()}, or that layout
   * @return the operator over {@code domain}
   * @throws IllegalArgumentException if {@code domain} is not a layout of this model
   * @throws IllegalStateException if the factors were computed without eigenbasis scalings
   */
  public EkfacOperator ekfac(ParameterLayout domain) {
    requireScaling();
    return new EkfacOperator(this, view(domain));
  }

  private LayerView view(ParameterLayout domain) {
    Objects.requireNonNull(domain, "domain");
    if (domain.root() != layout) {
      throw new IllegalArgumentException("domain: " + domain + " is not a selection of " + layout);
    }
    return new LayerView(domain, layers);
  }

  private void requireScaling() {
    if (scaling == null) {
      throw new IllegalStateException(
          "ekfac: the factors were computed without eigenbasis scalings (eigenbasisScaling)");
    }
  }

  TensorAlgebra algebra() {
    return algebra;
  }

  double[][] a(int l) {
    return a[l];
  }

  double[][] g(int l) {
    return g[l];
  }

  double[][] s(int l) {
    return scaling[l];
  }

  double[][] qa(int l) {
    return qa[l];
  }

  double[][] qg(int l) {
    return qg[l];
  }

  double[] diag(int rootBlock) {
    return diagonal[rootBlock];
  }

  private static double[][] copy(double[][] m) {
    double[][] c = new double[m.length][];
    for (int i = 0; i < m.length; i++) {
      c[i] = m[i].clone();
    }
    return c;
  }
}
