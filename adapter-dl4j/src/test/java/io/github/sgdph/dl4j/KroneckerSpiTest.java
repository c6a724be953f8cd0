package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.conformance.KroneckerNets;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.FactoredLayer;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.dense.DenseSymmetricEigen;
import io.github.sgdph.kfac.FisherType;
import io.github.sgdph.kfac.KroneckerFactors;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.Mode;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.ResNets;
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
import java.util.stream.Stream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kronecker-factor SPI of the DL4J adapter ({@link Curvature#factoredLayers()}, {@link
 * Curvature#layerInputs}, {@link Curvature#layerOutputGradients}) on spec networks and on a
 * user's own {@code MultiLayerNetwork} and {@code ComputationGraph}, and the KFAC and EKFAC
 * operators built on it (Martens and Grosse 2015; Grosse and Martens 2016; George et al. 2018).
 *
 * <p>Three independent references:
 * <ul>
 *   <li>DL4J's own gradients: for any seed {@code u}, {@code Σ_i Σ_t δ_it ã_itᵀ} is the weight
 *       and bias part of {@code Jᵀu} ({@link Curvature#vjp}, checked against central
 *       differences by the conformance kit), and without batch norm each sample's {@code M_i =
 *       Σ_t δ_it ã_itᵀ} is its per-term gradient ({@link Curvature#perTermGradients()}, checked
 *       against DL4J's own backpropagation by {@link PerTermGradientsTest}). This checks the
 *       inputs (im2col patches and their ordering against the weight's), the output gradients
 *       and {@link FactoredLayer#weightIndex} together.
 *   <li>The reference backend, float64, on the same spec weights and batch: the same factored
 *       layers, inputs and output gradients, and the same KFAC and EKFAC matrices.
 *   <li>For a user's network, the spec model the network was built from: the same KFAC matrix up
 *       to the permutation of DL4J's {@code [in, out]} dense weights.
 * </ul>
 *
 * <p><b>Tolerances.</b> float64: both backends compute the same float64 products, summed in other
 * orders (BLAS blocking against the reference's loops, the host's sums against the gemm), over at
 * most a few hundred terms through at most six layers; the observed differences are at most
 * 1.4e-15 relative to the largest entry, and 1e-12 leaves a margin of 10² while a wrong index, a
 * missing bias column or a transposed weight is off by O(1) (dropping {@code weightTransposed}
 * gives 1.13). EKFAC's eigenbases come from two eigendecompositions of factors that differ by
 * that roundoff: an eigenvector moves by the difference over the eigenvalue gap, so 1e-9
 * (measured 9.6e-16). float32 against the
 * float64 reference: with unit roundoff {@code u = 2⁻²⁴ ≈ 6e-8}, every entry is a chain of at
 * most three dot products of length {@code m ≤ 50} (forward, and the backward pass back to the
 * layer), each with a relative error of at most {@code γ_m ≈ m u ≈ 3e-6} of the sum of its
 * terms' magnitudes, which for these O(1) tanh/sigmoid networks is within a factor of ten of the
 * largest entry: {@code 3 · 10 · 3e-6 ≈ 1e-4}. The factors are second moments of such entries
 * (error doubled) summed in float64 on the host: 2e-4. Measured: 3.7e-7 (inputs, output
 * gradients), 2.7e-7 (factors, KFAC), 2.4e-7 (damped inverses).
 */
class KroneckerSpiTest {
  private static final Logger LOG = LoggerFactory.getLogger(KroneckerSpiTest.class);
  private static final SpecBackend REFERENCE = SpecBackend.find("reference");
  private static final Dl4jBackend DL4J = new Dl4jBackend();
  private static final double F64 = 1e-12;
  private static final double F32 = 1e-4;
  private static final double F32_FACTORS = 2e-4;

  /** A named spec network and its batch size. */
  record Subject(String name, ModelSpec spec, int batch) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Subject mlp() {
    return new Subject("mlp softmax CE", KroneckerNets.denseMlp(), 7);
  }

  /** A bias-free strided padded convolution and a biased one, a dense head; MSE. */
  static Subject cnn() {
    return new Subject("cnn MSE", KroneckerNets.stridedPaddedCnn(), 6);
  }

  static Subject batchNorm() {
    return new Subject("train-mode batch norm, sigmoid BCE", KroneckerNets.batchNormBce(), 8);
  }

  /** A ResNet of the spec (a {@code ComputationGraph} on DL4J): shortcuts, batch norm. */
  static Subject resnet() {
    return new Subject("resnet graph", ResNets.twoBlocks(new int[] {1, 6, 6}, 2, 3, Mode.TRAIN),
        4);
  }

  static Stream<Subject> subjects() {
    return Stream.of(mlp(), cnn(), batchNorm(), resnet());
  }

  /**
   * What the conformance kit's Kronecker checks ({@code KroneckerFactorSpi}, run by {@link
   * Dl4jConformanceTest} and {@link Dl4jFloat32ConformanceTest}) leave out: a graph model.
   */
  static Stream<Arguments> graphsAndDtypes() {
    return Stream.of(resnet()).flatMap(
        s -> Stream.of(Arguments.of(s, DType.FLOAT64), Arguments.of(s, DType.FLOAT32)));
  }

  /** The same spec, weights and batch on DL4J (in {@code dtype}) and on the reference (f64). */
  record Pair(SpecModel dl4j, SpecModel reference, ArrayBatch batch) implements AutoCloseable {
    static Pair of(Subject s, DType dtype, long seed) {
      List<NamedArray> p = PerTermGradientsTest.parameters(s.spec(), seed);
      ArrayBatch b = RandomBatches.forSpec(s.spec(), s.batch(), new SplittableRandom(seed + 1));
      return new Pair(DL4J.build(s.spec(), p, dtype), REFERENCE.build(s.spec(), p, DType.FLOAT64),
          b);
    }

    @Override
    public void close() {
      dl4j.close();
      reference.close();
    }
  }

  // ------------------------------------------------------------------ host helpers

  static double[] read(Tensor t) {
    try (t) {
      return t.toDoubleArray();
    }
  }

  static List<double[]> readAll(List<Tensor> ts) {
    List<double[]> out = new ArrayList<>();
    for (Tensor t : ts) {
      out.add(read(t));
    }
    return out;
  }

  /** {@code n ∂L/∂z} of {@code c}, the empirical seed. */
  static double[] empiricalSeed(Curvature c) {
    double[] d = read(c.outputGradient());
    for (int j = 0; j < d.length; j++) {
      d[j] *= c.batchSize();
    }
    return d;
  }

  static double[] normal(int size, SplittableRandom rnd) {
    double[] u = new double[size];
    for (int j = 0; j < u.length; j++) {
      u[j] = rnd.nextGaussian();
    }
    return u;
  }

  static List<double[]> outputGradients(Curvature c, TensorAlgebra algebra, double[] seed) {
    int n = c.batchSize();
    try (Tensor u = algebra.fromArray(seed, n, seed.length / n)) {
      return readAll(c.layerOutputGradients(u));
    }
  }

  static double maxAbs(double[] a) {
    double m = 0;
    for (double v : a) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }

  /** The largest deviation relative to the largest entry of {@code want} (which is non-zero). */
  static double relativeError(double[] want, double[] got, String what) {
    assertEquals(want.length, got.length, what + ": entry count");
    double scale = maxAbs(want);
    assertTrue(scale > 0, what + ": all zero, the check would be vacuous");
    double err = 0;
    for (int j = 0; j < want.length; j++) {
      err = Math.max(err, Math.abs(want[j] - got[j]));
    }
    return err / scale;
  }

  static void assertClose(double[] want, double[] got, double rel, String what) {
    double e = relativeError(want, got, what);
    LOG.info("{}: relative error {}", what, e);
    assertTrue(e <= rel, what + ": relative error " + e + " > " + rel);
  }

  static double[] flat(double[][] m) {
    return Stream.of(m).flatMapToDouble(java.util.Arrays::stream).toArray();
  }

  /**
   * {@code Σ_{i ∈ rows} Σ_t δ_it ã_itᵀ} scattered into the layer's weight and bias blocks of a
   * flattened vector over the root layout (where {@link FactoredLayer#weightIndex} says).
   */
  static void addOuter(FactoredLayer f, double[] in, double[] delta, int i, double[] into,
      int[] off) {
    int din = f.inputDim();
    int t = f.positions();
    for (int o = 0; o < f.outputDim(); o++) {
      for (int p = 0; p < t; p++) {
        double d = delta[(i * f.outputDim() + o) * t + p];
        for (int j = 0; j < din; j++) {
          into[off[f.weightBlock()] + f.weightIndex(o, j)] += d * in[(i * din + j) * t + p];
        }
        if (f.hasBias()) {
          into[off[f.biasBlock()] + o] += d;
        }
      }
    }
  }

  /**
   * The SPI against DL4J's own gradients on one curvature: for a random seed {@code u}, {@code
   * Σ_i M_i(u)} is the factored blocks of {@code Jᵀu}; and, if {@code perSample} (no batch
   * norm), each {@code M_i} of the empirical seed is sample {@code i}'s per-term gradient.
   *
   * @return the largest relative error seen
   */
  static double checkAgainstGradients(Curvature c, TensorAlgebra algebra, boolean perSample,
      String what) {
    List<FactoredLayer> layers = c.factoredLayers();
    assertFalse(layers.isEmpty(), what + ": factored layers");
    int n = c.batchSize();
    int[] off = KroneckerNets.blockOffsets(c.layout());
    List<double[]> inputs = new ArrayList<>();
    for (int l = 0; l < layers.size(); l++) {
      inputs.add(read(c.layerInputs(l)));
    }
    boolean[] factored = new boolean[Math.toIntExact(c.layout().dimension())];
    for (FactoredLayer f : layers) {
      for (int b : new int[] {f.weightBlock(), f.biasBlock()}) {
        if (b >= 0) {
          java.util.Arrays.fill(factored, off[b], off[b] + c.layout().block(b).size(), true);
        }
      }
    }
    double worst = 0;
    double[] seed = normal(read(c.outputGradient()).length, new SplittableRandom(17));
    List<double[]> deltas = outputGradients(c, algebra, seed);
    double[] sum = new double[factored.length];
    for (int l = 0; l < layers.size(); l++) {
      for (int i = 0; i < n; i++) {
        addOuter(layers.get(l), inputs.get(l), deltas.get(l), i, sum, off);
      }
    }
    double[] jtu;
    try (Tensor u = algebra.fromArray(seed, n, seed.length / n); ParameterVector v = c.vjp(u)) {
      jtu = v.toDoubleArray();
    }
    worst = Math.max(worst, relativeError(masked(jtu, factored), masked(sum, factored),
        what + ": Σ_i M_i(u) vs Jᵀu"));
    if (perSample) {
      List<double[]> emp = outputGradients(c, algebra, empiricalSeed(c));
      List<ParameterVector> g = c.perTermGradients();
      try {
        for (int i = 0; i < n; i++) {
          double[] m = new double[factored.length];
          for (int l = 0; l < layers.size(); l++) {
            addOuter(layers.get(l), inputs.get(l), emp.get(l), i, m, off);
          }
          worst = Math.max(worst, relativeError(masked(g.get(i).toDoubleArray(), factored),
              masked(m, factored), what + ": M_" + i + " vs the per-term gradient"));
        }
      } finally {
        g.forEach(ParameterVector::close);
      }
    }
    return worst;
  }

  static double[] masked(double[] a, boolean[] keep) {
    double[] out = new double[a.length];
    for (int j = 0; j < a.length; j++) {
      out[j] = keep[j] ? a[j] : 0;
    }
    return out;
  }

  // ------------------------------------------------------------------ against DL4J's gradients

  /** Spec networks on DL4J, float64: the SPI against DL4J's own gradients (1e-12). */
  @ParameterizedTest(name = "{0}")
  @MethodSource("subjects")
  void specNetworksReproduceTheirGradients(Subject s) {
    try (Pair p = Pair.of(s, DType.FLOAT64, 3)) {
      Objective o = p.dl4j().objective(p.batch());
      try (Curvature c = o.curvature()) {
        boolean coupled = s.spec().layers().stream().anyMatch(l -> l instanceof LayerSpec.BatchNorm)
            || !s.spec().isSequential();
        double e = checkAgainstGradients(c, p.dl4j().algebra(), !coupled, s.name());
        LOG.info("{}: SPI vs DL4J's gradients, relative error {}", s.name(), e);
        assertTrue(e <= F64, s.name() + ": " + e);
      }
    }
  }

  /**
   * A user's {@code MultiLayerNetwork}s of DL4J's own builders (a dilated padded convolution,
   * max pooling, dense; a Same-mode strided convolution with batch norm) and {@code
   * ComputationGraph}s (a ResNet with batch norm; two convolution branches concatenated), float64:
   * the same checks, the dense weights DL4J's {@code [in, out]} blocks.
   */
  @Test
  void userNetworksReproduceTheirGradients() {
    List<Nets.Case> nets = List.of(Nets.convMaxPool(DataType.DOUBLE), Nets.denseSoftmax(
        DataType.DOUBLE), Nets.convSameAvgPool(DataType.DOUBLE));
    for (Nets.Case k : nets) {
      Dl4jNetworkModel m = Dl4jNetworkModel.of(k.net());
      try (Curvature c = m.objective(k.batch()).curvature()) {
        boolean bn = k.name().contains("Batch");
        double e = checkAgainstGradients(c, m.algebra(), !bn, k.name());
        LOG.info("{}: SPI vs DL4J's gradients, relative error {}", k.name(), e);
        assertTrue(e <= F64, k.name() + ": " + e);
        for (FactoredLayer f : c.factoredLayers()) {
          assertEquals(f.kind() == FactoredLayer.Kind.DENSE, f.weightTransposed(), f.toString());
        }
      }
    }
    DataSet images = new DataSet(Graphs.images(DataType.DOUBLE, 5),
        Nets.oneHot(DataType.DOUBLE, 5, 3));
    for (var g : List.of(Graphs.resnet(DataType.DOUBLE), Graphs.inception(DataType.DOUBLE))) {
      Dl4jGraphModel m = Dl4jGraphModel.of(g);
      try (Curvature c = m.objective(images).curvature()) {
        boolean bn = g.getConfiguration().getVertices().containsKey("bn1");
        String name = bn ? "user resnet graph" : "user inception graph";
        double e = checkAgainstGradients(c, m.algebra(), !bn, name);
        LOG.info("{}: SPI vs DL4J's gradients, relative error {}", name, e);
        assertTrue(e <= F64, name + ": " + e);
      }
    }
  }

  // ------------------------------------------------------------------ against the reference

  /**
   * On a graph spec (the ResNet; the kit covers dense, convolutional and batch-norm chains), the
   * factored layers, inputs and output gradients (empirical and random seeds) equal the reference
   * backend's on the same spec weights and batch: float64 to 1e-12, float32 to 1e-4.
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("graphsAndDtypes")
  void spiEqualsTheReferenceBackends(Subject s, DType dtype) {
    double tol = dtype == DType.FLOAT64 ? F64 : F32;
    try (Pair p = Pair.of(s, dtype, 5);
        Curvature d = p.dl4j().objective(p.batch()).curvature();
        Curvature r = p.reference().objective(p.batch()).curvature()) {
      assertEquals(r.factoredLayers(), d.factoredLayers(), s.name());
      for (int l = 0; l < r.factoredLayers().size(); l++) {
        assertClose(read(r.layerInputs(l)), read(d.layerInputs(l)), tol,
            s.name() + " inputs " + l);
      }
      double[] emp = empiricalSeed(r);
      double[] rnd = normal(emp.length, new SplittableRandom(11));
      for (double[] seed : List.of(emp, rnd)) {
        List<double[]> want = outputGradients(r, REFERENCE_ALGEBRA, seed);
        List<double[]> got = outputGradients(d, p.dl4j().algebra(), seed);
        for (int l = 0; l < want.size(); l++) {
          assertClose(want.get(l), got.get(l), tol, s.name() + " output gradients " + l);
        }
      }
    }
  }

  private static final TensorAlgebra REFERENCE_ALGEBRA =
      io.github.sgdph.reference.ReferenceAlgebra.INSTANCE;

  /**
   * The kit compares the empirical and exact Fisher's operators on one batch; here the
   * Monte-Carlo Fisher's over two batches, float64 and float32, the factors also entry by entry.
   */
  static Stream<Arguments> operatorCases() {
    List<Arguments> out = new ArrayList<>();
    for (Subject s : List.of(mlp(), cnn(), batchNorm())) {
      out.add(Arguments.of(s, FisherType.MONTE_CARLO, DType.FLOAT64));
      out.add(Arguments.of(s, FisherType.MONTE_CARLO, DType.FLOAT32));
    }
    return out.stream();
  }

  /**
   * KFAC and EKFAC from DL4J equal those from the reference over two batches, for the
   * Monte-Carlo Fisher with the same seed (the same draws, as the predictive distributions
   * agree), materialised densely, and their damped inverses agree on a random vector.
   */
  @ParameterizedTest(name = "{0} {1} {2}")
  @MethodSource("operatorCases")
  void kfacAndEkfacEqualTheReferenceBackends(Subject s, FisherType type, DType dtype) {
    boolean f64 = dtype == DType.FLOAT64;
    try (Pair p = Pair.of(s, dtype, 7)) {
      SplittableRandom rnd = new SplittableRandom(8);
      List<ArrayBatch> data = List.of(RandomBatches.forSpec(s.spec(), 4, rnd),
          RandomBatches.forSpec(s.spec(), 6, rnd));
      KroneckerFactors want = KroneckerFactors.compute(p.reference(), data, type, 3, 9, true);
      KroneckerFactors got = KroneckerFactors.compute(p.dl4j(), data, type, 3, 9, true);
      for (int l = 0; l < want.layers().size(); l++) {
        assertClose(flat(want.inputFactor(l)), flat(got.inputFactor(l)),
            f64 ? F64 : F32_FACTORS, s.name() + " A" + l);
        assertClose(flat(want.gradientFactor(l)), flat(got.gradientFactor(l)),
            f64 ? F64 : F32_FACTORS, s.name() + " G" + l);
      }
      assertClose(dense(want.kfac(), REFERENCE_ALGEBRA), dense(got.kfac(), p.dl4j().algebra()),
          f64 ? F64 : F32_FACTORS, s.name() + " KFAC");
      if (f64) {
        assertClose(dense(want.ekfac(), REFERENCE_ALGEBRA),
            dense(got.ekfac(), p.dl4j().algebra()), 1e-9, s.name() + " EKFAC");
      }
      double[] v = normal(Math.toIntExact(p.dl4j().layout().dimension()), rnd);
      for (boolean ekfac : new boolean[] {false, true}) {
        LinearOperator wi = ekfac ? want.ekfac().dampedInverse(0.01)
            : want.kfac().dampedInverse(0.01);
        LinearOperator gi = ekfac ? got.ekfac().dampedInverse(0.01)
            : got.kfac().dampedInverse(0.01);
        try (ParameterVector vr = vector(REFERENCE_ALGEBRA, p.reference().layout(), v);
            ParameterVector vd = vector(p.dl4j().algebra(), p.dl4j().layout(), v);
            ParameterVector xr = wi.apply(vr); ParameterVector xd = gi.apply(vd)) {
          // the damped inverse amplifies a change of the matrix by at most 1/λ = 100
          assertClose(xr.toDoubleArray(), xd.toDoubleArray(),
              f64 ? 1e-10 : F32_FACTORS / 0.01, s.name() + " inverse " + ekfac);
        }
      }
    }
  }

  static double[] dense(LinearOperator op, TensorAlgebra algebra) {
    return flat(DenseSymmetricEigen.materialize(op, algebra));
  }

  static ParameterVector vector(TensorAlgebra algebra, ParameterLayout layout, double[] v) {
    Tensor[] t = new Tensor[layout.blockCount()];
    int o = 0;
    for (int b = 0; b < t.length; b++) {
      int size = layout.block(b).size();
      t[b] = algebra.fromArray(java.util.Arrays.copyOfRange(v, o, o + size),
          layout.block(b).shape());
      o += size;
    }
    return ParameterVector.of(layout, t);
  }

  // ------------------------------------------------------------------ a user's network

  /**
   * A user's {@code MultiLayerNetwork}, wrapped as such ({@link Dl4jNetworkModel}: DL4J's
   * {@code [in, out]} dense weight blocks), has the KFAC matrix (empirical Fisher, the only one a
   * user's DL4J loss defines) of the spec model it was built from, entry for entry after mapping
   * each dense weight entry {@code (o, j)} to its place in DL4J's block: float64, 1e-12.
   */
  @Test
  void aUsersNetworkHasTheKfacOfItsSpecModelUpToTheWeightLayout() {
    for (Subject s : List.of(mlp(), cnn())) {
      try (Pair p = Pair.of(s, DType.FLOAT64, 13)) {
        MultiLayerNetwork net = (MultiLayerNetwork) ((Dl4jSpecModel) p.dl4j()).network();
        Dl4jNetworkModel user = Dl4jNetworkModel.of(net);
        Dl4jSpecObjective so = (Dl4jSpecObjective) p.dl4j().objective(p.batch());
        Dl4jObjective uo = user.objective(so.network().features(), so.network().labels());
        KroneckerFactors want;
        KroneckerFactors got;
        List<FactoredLayer> sl;
        List<FactoredLayer> ul;
        try (Curvature c = so.curvature(); Curvature u = uo.curvature()) {
          want = KroneckerFactors.of(c, null, null, FisherType.EMPIRICAL, 1, 0, false);
          got = KroneckerFactors.of(u, null, null, FisherType.EMPIRICAL, 1, 0, false);
          sl = c.factoredLayers();
          ul = u.factoredLayers();
        }
        assertEquals(sl.size(), ul.size());
        int dim = Math.toIntExact(user.layout().dimension());
        int[] map = new int[dim];
        for (int j = 0; j < dim; j++) {
          map[j] = j; // biases and convolution weights: the same entries in the same order
        }
        int[] so2 = KroneckerNets.blockOffsets(p.dl4j().layout());
        int[] uo2 = KroneckerNets.blockOffsets(user.layout());
        for (int l = 0; l < sl.size(); l++) {
          FactoredLayer a = sl.get(l);
          FactoredLayer b = ul.get(l);
          assertEquals(a.kind() == FactoredLayer.Kind.DENSE, b.weightTransposed());
          assertFalse(a.weightTransposed());
          for (int o = 0; o < a.outputDim(); o++) {
            for (int j = 0; j < a.inputDim(); j++) {
              map[so2[a.weightBlock()] + a.weightIndex(o, j)] =
                  uo2[b.weightBlock()] + b.weightIndex(o, j);
            }
          }
        }
        double[][] ws = DenseSymmetricEigen.materialize(want.kfac(), p.dl4j().algebra());
        double[][] wu = DenseSymmetricEigen.materialize(got.kfac(), user.algebra());
        double[] expected = new double[dim * dim];
        for (int r = 0; r < dim; r++) {
          for (int c = 0; c < dim; c++) {
            expected[map[r] * dim + map[c]] = ws[r][c];
          }
        }
        assertClose(expected, flat(wu), F64, s.name() + " user KFAC");
        // the labelled objective: the spec's loss and labels
        assertEquals(s.spec().loss(), so.lossKind());
        assertEquals(p.batch().yView().length, so.labels().length);
      }
    }
  }

  // ------------------------------------------------------------------ bad input

  @Test
  void badInputIsRefusedNamingTheProblem() {
    Subject s = mlp();
    try (Pair p = Pair.of(s, DType.FLOAT64, 21)) {
      Objective o = p.dl4j().objective(p.batch());
      Curvature c = o.curvature();
      assertThrows(IndexOutOfBoundsException.class, () -> c.layerInputs(2));
      assertThrows(IndexOutOfBoundsException.class, () -> c.layerInputs(-1));
      try (Tensor wrong = p.dl4j().algebra().zeros(s.batch(), 4)) {
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> c.layerOutputGradients(wrong));
        assertTrue(e.getMessage().startsWith("u:"), e.getMessage());
      }
      try (Tensor other = REFERENCE_ALGEBRA.zeros(s.batch(), 3)) {
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> c.layerOutputGradients(other));
        assertTrue(e.getMessage().startsWith("u:"), e.getMessage());
      }
      try (ParameterVector g = c.gradient()) {
        o.applyUpdate(g, -0.1);
      }
      assertThrows(IllegalStateException.class, c::factoredLayers);
      assertThrows(IllegalStateException.class, () -> c.layerInputs(0));
      c.close();
      assertThrows(IllegalStateException.class, c::factoredLayers);
    }
  }
}
