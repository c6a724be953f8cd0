package io.github.sgdph.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.FactoredLayer;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.kfac.FisherType;
import io.github.sgdph.kfac.KroneckerFactors;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;

/**
 * The conformance checks of the Kronecker-factor SPI ({@link Curvature#factoredLayers()},
 * {@link Curvature#layerInputs}, {@link Curvature#layerOutputGradients}), run by {@link
 * CurvatureConformanceKit}'s {@code KroneckerFactorSpi} tests on every backend in float64 and
 * float32. KFAC (Martens and Grosse 2015) and KFC (Grosse and Martens 2016) build the factors
 * {@code A = (1/N) Σ ã ãᵀ} and {@code G = (1/N) Σ δ δᵀ} from these per-sample quantities, and
 * EKFAC (George et al. 2018) its scalings from {@code M_i = Σ_t δ_it ã_itᵀ}; a backend whose SPI
 * agrees here gives the reference's factors and operators.
 *
 * <p><b>The models</b> ({@link #nets()}): a dense tanh MLP with softmax cross-entropy; a CNN
 * with a strided, zero-padded convolution without bias, an unpadded one with bias and a dense
 * head, with MSE; a dense layer without bias feeding a train-mode batch norm, with sigmoid BCE.
 * Each is built by the backend under test in the kit's dtype and by the float64 reference from
 * the backend's own exported parameters, on the same batch (rounded to float32 for a float32
 * backend), so both compute at exactly the same point.
 *
 * <p><b>What is compared</b>, normwise relative per layer: the factored layers (equal records);
 * the layer inputs (KFC's im2col patches for a convolution); the output gradients for two seeds
 * {@code u} (the empirical seed {@code n ∂L/∂z} and a random one); the per-sample gradient
 * matrices {@code M_i} against the backend's own per-term gradients; and the products of KFAC's
 * and EKFAC's operators and their damped inverses, built by {@link KroneckerFactors#of} from the
 * backend's curvature and from the reference's, for the empirical and the exact Fisher.
 *
 * <p><b>Tolerances.</b> In float64 the SPI's quantities must agree to {@value #F64} relative: a
 * layer input is a few dense or convolution maps of the batch and an output gradient one
 * backward pass, each a chain of a handful of sums of at most a few hundred terms, so two
 * correct float64 implementations differ by some {@code 1e-15} (unit roundoff {@code 1.1e-16}
 * times the square root of the longest sum times small conditioning); {@value #F64} leaves a
 * margin of about 100 and still fails any wrong ordering, missing bias column or padding, which
 * change the quantities at order one. Every quantity's tolerance is also at least its derived
 * one, {@code 4 · u · max(1, κ) · √N} with {@code u} the dtype's unit roundoff, {@code N} the
 * longest reduction ({@link Tolerances#longestReduction}) and {@code κ} its conditioning
 * measured as the kit measures the products' ({@link Tolerances#float32Product}): the largest
 * relative change of the reference's quantity when every trainable parameter and input is
 * multiplied by {@code 1 + δ}, {@code δ} uniform in {@code ±2⁻²⁴}, over three draws, divided by
 * {@code 2⁻²⁴}. In float32 that derived tolerance is the check; in float64 it exceeds
 * {@value #F64} only for the EKFAC operators, whose eigenbases turn with the factors'
 * rounding by as much as their eigenvalue gaps allow (measured, not assumed).
 */
final class KroneckerConformance {
  /** The float64 tolerance of the SPI's quantities against the reference (see the class). */
  static final double F64 = 1e-12;

  /** The damping of the damped inverses compared. */
  static final double DAMPING = 1e-2;

  /** Samples per batch. */
  static final int BATCH = 5;

  private KroneckerConformance() {}

  /** A named small model. */
  record Net(String name, ModelSpec spec) {
    @Override
    public String toString() {
      return name;
    }
  }

  /**
   * The models of the check: dense, convolutions strided and padded with and without bias, and
   * train-mode batch norm.
   *
   * @return the three models
   */
  static List<Net> nets() {
    return List.of(new Net("dense-mlp-ce", KroneckerNets.denseMlp()),
        new Net("conv-strided-padded-mse", KroneckerNets.stridedPaddedCnn()),
        new Net("batchnorm-train-bce", KroneckerNets.batchNormBce()));
  }

  /**
   * A backend's model of one net and the float64 reference at the same point.
   *
   * <p>{@link #pair} skips (visibly, naming the backend) when the backend does not implement the
   * SPI.
   */
  static final class Pair implements AutoCloseable {
    final Net net;
    final DType dtype;
    final SpecModel model;
    final SpecModel reference;
    final ArrayBatch batch;
    final List<NamedArray> parameters;

    private Pair(Net net, SpecBackend backend, SpecBackend referenceBackend, DType dtype) {
      this.net = net;
      this.dtype = dtype;
      SplittableRandom r = new SplittableRandom(net.name().hashCode());
      List<NamedArray> init = DefaultInitializer.initialize(net.spec(), r);
      ArrayBatch b = RandomBatches.forSpec(net.spec(), BATCH, r);
      this.batch = dtype == DType.FLOAT32 ? CurvatureConformanceKit.toFloat32(b) : b;
      this.model = backend.build(net.spec(), init, dtype);
      try {
        this.parameters = model.exportParameters();
        this.reference = referenceBackend.build(net.spec(), parameters, DType.FLOAT64);
      } catch (RuntimeException | Error e) {
        model.close();
        throw e;
      }
    }

    @Override
    public void close() {
      try {
        model.close();
      } finally {
        reference.close();
      }
    }
  }

  /**
   * The backend's model of {@code net} and the reference at the same point; skips the test
   * (aborted, naming the backend) if the backend does not implement the Kronecker-factor SPI.
   */
  static Pair pair(Net net, SpecBackend backend, SpecBackend referenceBackend, DType dtype) {
    Pair p = new Pair(net, backend, referenceBackend, dtype);
    try (Curvature c = p.model.objective(p.batch).curvature()) {
      c.factoredLayers();
    } catch (UnsupportedOperationException e) {
      p.close();
      Assumptions.abort("backend " + backend.name() + " does not implement the Kronecker-factor"
          + " SPI: " + e.getMessage());
    } catch (RuntimeException | Error e) {
      p.close();
      throw e;
    }
    return p;
  }

  // ---- the quantities compared ---------------------------------------------------------------

  /** The names of the compared quantities, in the order of {@link #quantities}. */
  static List<String> quantityNames(List<FactoredLayer> layers) {
    List<String> names = new ArrayList<>();
    for (FactoredLayer f : layers) {
      names.add("layerInputs(" + f.name() + ")");
    }
    for (String seed : new String[] {"empirical seed", "random seed"}) {
      for (FactoredLayer f : layers) {
        names.add("layerOutputGradients(" + seed + ")(" + f.name() + ")");
      }
    }
    for (FisherType t : new FisherType[] {FisherType.EMPIRICAL, FisherType.EXACT}) {
      for (String op : new String[] {"KFAC v", "KFAC⁻¹ v", "EKFAC v", "EKFAC⁻¹ v"}) {
        names.add(t + " " + op);
      }
    }
    return names;
  }

  /** The index of the first operator product in {@link #quantities}. */
  static int firstOperator(List<FactoredLayer> layers) {
    return 3 * layers.size();
  }

  /**
   * Every compared quantity of {@code m} on {@code batch}, as host arrays: the layer inputs, the
   * output gradients for the two seeds, and the operators' products with {@code v}.
   *
   * @param seeds the two seeds {@code [n, k]} row-major (host)
   * @param v the direction of the operator products, over the root layout (host)
   */
  static List<double[]> quantities(
      SpecModel m, ArrayBatch batch, List<double[]> seeds, double[] v) {
    List<double[]> out = new ArrayList<>();
    TensorAlgebra alg = m.algebra();
    try (Curvature c = m.objective(batch).curvature()) {
      List<FactoredLayer> layers = c.factoredLayers();
      for (int l = 0; l < layers.size(); l++) {
        try (Tensor t = c.layerInputs(l)) {
          checkShape(t, c.batchSize(), layers.get(l).inputDim(), layers.get(l).positions(),
              "layerInputs(" + l + ")");
          out.add(t.toDoubleArray());
        }
      }
      int k = m.spec().outputShape()[0];
      for (double[] s : seeds) {
        try (Tensor u = alg.fromArray(s, c.batchSize(), k)) {
          List<Tensor> g = c.layerOutputGradients(u);
          try {
            assertEquals(layers.size(), g.size(), "layerOutputGradients: one tensor per layer");
            for (int l = 0; l < layers.size(); l++) {
              checkShape(g.get(l), c.batchSize(), layers.get(l).outputDim(),
                  layers.get(l).positions(), "layerOutputGradients[" + l + "]");
              out.add(g.get(l).toDoubleArray());
            }
          } finally {
            g.forEach(Tensor::close);
          }
        }
      }
      for (FisherType type : new FisherType[] {FisherType.EMPIRICAL, FisherType.EXACT}) {
        KroneckerFactors f = KroneckerFactors.of(
            c, m.spec().loss(), batch.yView(), type, 1, 0, true);
        ParameterLayout root = f.layout();
        LinearOperator[] ops = {
          f.kfac(), f.kfac().dampedInverse(DAMPING), f.ekfac(), f.ekfac().dampedInverse(DAMPING)
        };
        for (LinearOperator op : ops) {
          try (ParameterVector x = ParameterVector.fromArray(alg, root, v);
              ParameterVector y = op.apply(x)) {
            out.add(y.toDoubleArray());
          }
        }
      }
    }
    return out;
  }

  private static void checkShape(Tensor t, int n, int dim, int positions, String what) {
    int[] s = t.shape();
    assertEquals(java.util.Arrays.toString(new int[] {n, dim, positions}),
        java.util.Arrays.toString(s), what + ": shape [n, dim, positions]");
  }

  /** The two seeds: {@code n ∂L/∂z} of the reference at the pair's point, and a random one. */
  static List<double[]> seeds(Pair p) {
    double[] empirical;
    try (Curvature c = p.reference.objective(p.batch).curvature();
        Tensor dz = c.outputGradient()) {
      empirical = dz.toDoubleArray();
      for (int j = 0; j < empirical.length; j++) {
        empirical[j] = round(p.dtype, empirical[j] * c.batchSize());
      }
    }
    SplittableRandom r = new SplittableRandom(71);
    double[] random = new double[empirical.length];
    for (int j = 0; j < random.length; j++) {
      random[j] = round(p.dtype, r.nextDouble(-1, 1));
    }
    return List.of(empirical, random);
  }

  /** A random unit direction over the root layout (rounded to the dtype). */
  static double[] direction(Pair p) {
    SplittableRandom r = new SplittableRandom(73);
    double[] v = new double[Math.toIntExact(p.reference.layout().dimension())];
    double s = 0;
    for (int j = 0; j < v.length; j++) {
      v[j] = r.nextGaussian();
      s += v[j] * v[j];
    }
    for (int j = 0; j < v.length; j++) {
      v[j] = round(p.dtype, v[j] / Math.sqrt(s));
    }
    return v;
  }

  private static double round(DType dtype, double x) {
    return dtype == DType.FLOAT32 ? (float) x : x;
  }

  /**
   * The conditioning of each quantity of {@link #quantities} at the pair's point, measured on the
   * float64 reference as the kit measures the products' (see the class).
   */
  static double[] conditioning(
      Pair p, SpecBackend referenceBackend, List<double[]> seeds, double[] v,
      List<double[]> base) {
    double u = Tolerances.FLOAT32_UNIT_ROUNDOFF;
    double[] kappa = new double[base.size()];
    for (long draw = 1; draw <= 3; draw++) {
      SplittableRandom r = new SplittableRandom(2000 + draw);
      List<NamedArray> moved = new ArrayList<>();
      for (NamedArray a : p.parameters) {
        double[] w = a.values();
        if (a.trainable()) {
          for (int i = 0; i < w.length; i++) {
            w[i] *= 1 + u * r.nextDouble(-1, 1);
          }
        }
        moved.add(new NamedArray(a.name(), a.shape(), w, a.trainable()));
      }
      double[] x = p.batch.x();
      for (int i = 0; i < x.length; i++) {
        x[i] *= 1 + u * r.nextDouble(-1, 1);
      }
      ArrayBatch b = new ArrayBatch(x, p.batch.xShape(), p.batch.y(), p.batch.yShape());
      try (SpecModel m = referenceBackend.build(p.net.spec(), moved, DType.FLOAT64)) {
        List<double[]> q = quantities(m, b, seeds, v);
        for (int i = 0; i < kappa.length; i++) {
          kappa[i] = Math.max(kappa[i], CurvatureConformanceKit.relErr(q.get(i), base.get(i)) / u);
        }
      }
    }
    return kappa;
  }

  /** The tolerance of a quantity of conditioning {@code kappa} (see the class). */
  static double tolerance(Pair p, double kappa) {
    long reduction = Tolerances.longestReduction(p.net.spec(), BATCH);
    if (p.dtype == DType.FLOAT32) {
      return Tolerances.float32Product(kappa, reduction);
    }
    double derived = Tolerances.FLOAT32_SAFETY * 0x1p-53 * Math.max(1, kappa)
        * Math.sqrt(reduction);
    return Math.max(F64, derived);
  }

  // ---- the checks ----------------------------------------------------------------------------

  /** The backend's factored layers are the reference's. */
  static void checkLayers(Pair p) {
    try (Curvature c = p.model.objective(p.batch).curvature();
        Curvature r = p.reference.objective(p.batch).curvature()) {
      assertEquals(r.factoredLayers(), c.factoredLayers(), p.net + ": factoredLayers()");
      int count = c.factoredLayers().size();
      assertThrows(IndexOutOfBoundsException.class, () -> c.layerInputs(count).close(),
          p.net + ": layerInputs of a layer index past the end");
      assertThrows(IndexOutOfBoundsException.class, () -> c.layerInputs(-1).close(),
          p.net + ": layerInputs(-1)");
      try (Tensor bad = p.model.algebra().zeros(c.batchSize() + 1,
          p.net.spec().outputShape()[0])) {
        assertThrows(IllegalArgumentException.class,
            () -> c.layerOutputGradients(bad).forEach(Tensor::close),
            p.net + ": layerOutputGradients of a seed of another shape");
      }
    }
  }

  /**
   * The layer inputs, output gradients and KFAC/EKFAC operator products agree with the reference
   * at the same point.
   *
   * @param spiOnly whether to compare the SPI's quantities only (not the operators)
   */
  static void checkAgainstReference(Pair p, SpecBackend referenceBackend, boolean spiOnly) {
    List<double[]> seeds = seeds(p);
    double[] v = direction(p);
    List<double[]> expected = quantities(p.reference, p.batch, seeds, v);
    List<double[]> actual = quantities(p.model, p.batch, seeds, v);
    List<FactoredLayer> layers;
    try (Curvature r = p.reference.objective(p.batch).curvature()) {
      layers = r.factoredLayers();
    }
    double[] kappa = conditioning(p, referenceBackend, seeds, v, expected);
    List<String> names = quantityNames(layers);
    int end = spiOnly ? firstOperator(layers) : names.size();
    int start = spiOnly ? 0 : firstOperator(layers);
    for (int i = start; i < end; i++) {
      double err = CurvatureConformanceKit.relErr(actual.get(i), expected.get(i));
      double tol = tolerance(p, kappa[i]);
      assertTrue(err <= tol, p.net + " (" + p.dtype + "): " + names.get(i)
          + " vs the reference: relative error " + err + " > " + tol + " (conditioning "
          + kappa[i] + ")");
    }
  }

  /**
   * {@code M_i = Σ_j Σ_t δ_jt ã_jtᵀ} from the output gradients of the seed {@code u_i} (row
   * {@code i} of {@code n ∂L/∂z}, zeros elsewhere) is the weight and bias part of the backend's
   * own per-term gradient {@code g_i} — for every sample, with train-mode batch norm as without
   * (then the other samples' {@code δ_j} carry sample {@code i}'s loss through the batch
   * statistics; without it they are zero).
   */
  static void checkSampleGradients(Pair p, SpecBackend referenceBackend) {
    List<double[]> seeds = seeds(p);
    double[] v = direction(p);
    List<double[]> base = quantities(p.reference, p.batch, seeds, v);
    double[] kappa = conditioning(p, referenceBackend, seeds, v, base);
    double worst = 0;
    for (int i = 0; i < firstOperator(firstLayers(p)); i++) {
      worst = Math.max(worst, kappa[i]);
    }
    // both sides approximate the exact g_i, each within the SPI's derived tolerance
    double tol = 2 * tolerance(p, worst);
    try (Curvature c = p.model.objective(p.batch).curvature()) {
      List<FactoredLayer> layers = c.factoredLayers();
      int n = c.batchSize();
      double[][] in = new double[layers.size()][];
      for (int l = 0; l < layers.size(); l++) {
        try (Tensor t = c.layerInputs(l)) {
          in[l] = t.toDoubleArray();
        }
      }
      double[] dz;
      int[] shape;
      try (Tensor t = c.outputGradient()) {
        dz = t.toDoubleArray();
        shape = t.shape();
      }
      int k = dz.length / n;
      List<ParameterVector> per = c.perTermGradients();
      try {
        double largest = 0;
        for (ParameterVector g : per) {
          largest = Math.max(largest, g.norm());
        }
        for (int i = 0; i < n; i++) {
          double[] u = new double[dz.length];
          for (int j = i * k; j < (i + 1) * k; j++) {
            u[j] = n * dz[j];
          }
          List<Tensor> d;
          try (Tensor ut = p.model.algebra().fromArray(u, shape)) {
            d = c.layerOutputGradients(ut);
          }
          try {
            for (int l = 0; l < layers.size(); l++) {
              FactoredLayer f = layers.get(l);
              double[][] m = sampleGradientMatrix(f, in[l], d.get(l).toDoubleArray(), n);
              double[] w = per.get(i).block(f.weightBlock()).toDoubleArray();
              double[] b = f.hasBias() ? per.get(i).block(f.biasBlock()).toDoubleArray() : null;
              double diff = 0;
              for (int o = 0; o < f.outputDim(); o++) {
                for (int j = 0; j < f.inputDim(); j++) {
                  double e = m[o][j] - w[o * f.inputDim() + j];
                  diff += e * e;
                }
                if (b != null) {
                  diff += (m[o][f.inputDim()] - b[o]) * (m[o][f.inputDim()] - b[o]);
                }
              }
              double err = largest == 0 ? Math.sqrt(diff) : Math.sqrt(diff) / largest;
              assertTrue(err <= tol, p.net + " (" + p.dtype + "): sample " + i + ", layer "
                  + f.name() + ": Σ_t δ_t ã_tᵀ vs the per-term gradient: " + err + " > " + tol);
            }
          } finally {
            d.forEach(Tensor::close);
          }
        }
      } finally {
        per.forEach(ParameterVector::close);
      }
    }
  }

  private static List<FactoredLayer> firstLayers(Pair p) {
    try (Curvature r = p.reference.objective(p.batch).curvature()) {
      return r.factoredLayers();
    }
  }

  /**
   * {@code Σ_j Σ_t δ_jt ã_jtᵀ} over all {@code n} samples, {@code [out × |ã|]}: the test's own
   * statement of KFC's per-sample gradient (Grosse and Martens 2016, eq. 3), not the core's.
   */
  static double[][] sampleGradientMatrix(FactoredLayer f, double[] in, double[] delta, int n) {
    int din = f.inputDim();
    int t = f.positions();
    double[][] m = new double[f.outputDim()][f.homogeneousInputDim()];
    for (int j = 0; j < n; j++) {
      for (int o = 0; o < f.outputDim(); o++) {
        for (int pos = 0; pos < t; pos++) {
          double dv = delta[(j * f.outputDim() + o) * t + pos];
          for (int c = 0; c < din; c++) {
            m[o][c] += dv * in[(j * din + c) * t + pos];
          }
          if (f.hasBias()) {
            m[o][din] += dv;
          }
        }
      }
    }
    return m;
  }
}
