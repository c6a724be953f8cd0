package io.github.sgdph.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LayerSpec.Mode;
import io.github.sgdph.model.LayerSpec.PoolKind;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.ReferenceBackend;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Per-term gradients {@code g_i = ∂ℓ_i/∂θ} of the batch loss in one forward pass, {@code ∂L/∂z}
 * and {@code Jᵀu} ({@link DjlCurvature#perTermGradients()}, {@link DjlCurvature#outputGradient()},
 * {@link DjlCurvature#vjp}) on train-mode batch-norm networks — an MLP with a 1-d batch norm and
 * a CNN with a 2-d one, models of the spec (sgdph's batch norm) and users' blocks (DJL's fused
 * {@code BatchNorm}) — in float64 and float32, against the float64 reference backend, against the
 * batch gradient and against the interface's default construction, for every {@link
 * GradientGraph}.
 *
 * <p>Tolerances: in float64, {@code (1/n) Σ g_i} equals the gradient to 1e-12 relative and each
 * {@code g_i} the reference's to 1e-10 of the largest term's norm; in float32 5e-6 and 1e-4
 * (float32's unit roundoff 6e-8 accumulated over the batch and the layers).
 */
class PerTermGradientsTest {
  /** A spec model with its batch size and a label. */
  record Case(String name, ModelSpec spec, int batch) {}

  /** 6 → dense 8 (no bias) → 1-d batch norm (train) → tanh → dense 3, softmax cross-entropy. */
  static Case mlp() {
    return new Case("bn-mlp", new ModelSpec(new int[] {6},
        List.of(new LayerSpec.Dense(6, 8, false),
            new LayerSpec.BatchNorm(8, 1e-5, 0.1, Mode.TRAIN),
            new LayerSpec.Activation(ActivationKind.TANH),
            new LayerSpec.Dense(8, 3, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY), 7);
  }

  /**
   * [2, 6, 6] → conv 3×3 (3 filters, padding 1) → 2-d batch norm (train) → softplus → average
   * pool 2×2 → flatten → dense 2, mean squared error (a term is the mean over its 2 outputs).
   */
  static Case cnn() {
    return new Case("bn-cnn", new ModelSpec(new int[] {2, 6, 6},
        List.of(new LayerSpec.Conv2d(2, 3, 3, 3, 1, 1, 1, 1, false),
            new LayerSpec.BatchNorm(3, 1e-5, 0.1, Mode.TRAIN),
            new LayerSpec.Activation(ActivationKind.SOFTPLUS),
            new LayerSpec.Pool2d(PoolKind.AVG, 2, 2, 2, 2),
            new LayerSpec.Flatten(),
            new LayerSpec.Dense(27, 2, true)),
        LossKind.MSE), 5);
  }

  /** 5 → dense 6 → 1-d batch norm (train) → sigmoid → dense 4, sigmoid binary cross-entropy. */
  static Case bce() {
    return new Case("bn-bce", new ModelSpec(new int[] {5},
        List.of(new LayerSpec.Dense(5, 6, true),
            new LayerSpec.BatchNorm(6, 1e-5, 0.1, Mode.TRAIN),
            new LayerSpec.Activation(ActivationKind.SIGMOID),
            new LayerSpec.Dense(6, 4, true)),
        LossKind.SIGMOID_BINARY_CROSS_ENTROPY), 6);
  }

  static List<Case> cases() {
    return List.of(mlp(), cnn(), bce());
  }

  /**
   * Default-initialised parameters, batch-norm entries moved off their special values (γ 1, β 0)
   * and the rest doubled, so that no term vanishes by accident.
   */
  static List<NamedArray> parameters(ModelSpec spec, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<NamedArray> init = DefaultInitializer.initialize(spec, r);
    List<NamedArray> out = new ArrayList<>();
    for (int i = 0; i < init.size(); i++) {
      NamedArray a = init.get(i);
      boolean bn = spec.layers().get(spec.entries().get(i).layerIndex())
          instanceof LayerSpec.BatchNorm;
      double[] v = a.values();
      for (int j = 0; j < v.length; j++) {
        v[j] = bn ? v[j] + 0.3 * r.nextGaussian() : 2 * v[j];
      }
      out.add(new NamedArray(a.name(), a.shape(), v, a.trainable()));
    }
    return out;
  }

  private static double tolMean(DType t) {
    return t == DType.FLOAT64 ? 1e-12 : 5e-6;
  }

  private static double tolReference(DType t) {
    return t == DType.FLOAT64 ? 1e-10 : 1e-4;
  }

  static double relErr(double[] a, double[] e) {
    double d = 0;
    double na = 0;
    double ne = 0;
    for (int i = 0; i < a.length; i++) {
      d += (a[i] - e[i]) * (a[i] - e[i]);
      na += a[i] * a[i];
      ne += e[i] * e[i];
    }
    return Math.sqrt(d) / Math.max(Math.max(Math.sqrt(na), Math.sqrt(ne)), 1e-300);
  }

  /** The largest {@code ‖a_i − e_i‖} relative to the largest {@code ‖e_i‖}. */
  static double termsErr(List<ParameterVector> a, List<ParameterVector> e) {
    assertEquals(e.size(), a.size(), "number of terms");
    double largest = 0;
    for (ParameterVector t : e) {
      largest = Math.max(largest, t.norm());
    }
    double worst = 0;
    for (int i = 0; i < a.size(); i++) {
      double[] x = a.get(i).toDoubleArray();
      double[] y = e.get(i).toDoubleArray();
      double d = 0;
      for (int j = 0; j < x.length; j++) {
        d += (x[j] - y[j]) * (x[j] - y[j]);
      }
      worst = Math.max(worst, Math.sqrt(d) / largest);
    }
    return worst;
  }

  static double[] mean(List<ParameterVector> terms) {
    double[] m = new double[(int) terms.get(0).layout().dimension()];
    for (ParameterVector t : terms) {
      double[] v = t.toDoubleArray();
      for (int j = 0; j < v.length; j++) {
        m[j] += v[j] / terms.size();
      }
    }
    return m;
  }

  static void closeAll(List<ParameterVector> terms) {
    terms.forEach(ParameterVector::close);
  }

  /** The interface's default per-term gradients, from this curvature's ∂L/∂z and Jᵀu. */
  static List<ParameterVector> viaDefault(Curvature c) {
    return Curvature.perTermGradientsByVjp(c);
  }

  private static DjlSpecModel djl(Case c, List<NamedArray> p, DType t, GradientGraph g) {
    return new DjlBackend(DjlOptions.builder().gradientGraph(g).build()).build(c.spec(), p, t);
  }

  // ---------------------------------------------------------------------- spec models

  @ParameterizedTest
  @EnumSource(DType.class)
  void perTermGradientsAverageToTheGradientAndAgreeWithTheReference(DType dtype) {
    for (Case c : cases()) {
      List<NamedArray> p = parameters(c.spec(), 11);
      ArrayBatch b = RandomBatches.forSpec(c.spec(), c.batch(), new SplittableRandom(12));
      List<ParameterVector> ref;
      try (SpecModel rm = new ReferenceBackend().build(c.spec(), p, DType.FLOAT64)) {
        ref = rm.objective(b).perTermGradients();
      }
      double[][] first = null;
      for (GradientGraph graph : GradientGraph.values()) {
        String what = c.name() + " " + dtype.jsonName() + " " + graph;
        try (DjlSpecModel m = djl(c, p, dtype, graph);
            Curvature cur = m.objective(b).curvature();
            ParameterVector g = cur.gradient()) {
          // after the gradient: whatever graph it built, the terms are the same
          List<ParameterVector> per = cur.perTermGradients();
          List<ParameterVector> byDefault = viaDefault(cur);
          try {
            assertEquals(c.batch(), per.size(), what);
            for (ParameterVector t : per) {
              assertTrue(t.layout().sameBlocksAs(m.layout()), what + ": layout");
            }
            double meanErr = relErr(mean(per), g.toDoubleArray());
            assertTrue(meanErr <= tolMean(dtype), what + ": (1/n) Σ g_i vs ∇L: " + meanErr);
            double refErr = termsErr(per, ref);
            assertTrue(refErr <= tolReference(dtype), what + ": vs reference: " + refErr);
            double defErr = termsErr(per, byDefault);
            assertTrue(defErr <= (dtype == DType.FLOAT64 ? 1e-14 : 1e-6),
                what + ": vs the interface's default: " + defErr);
            double[][] now = new double[per.size()][];
            for (int i = 0; i < now.length; i++) {
              now[i] = per.get(i).toDoubleArray();
            }
            if (first == null) {
              first = now;
            } else {
              for (int i = 0; i < now.length; i++) {
                assertTrue(relErr(now[i], first[i]) <= 1e-14, what + ": differs, term " + i);
              }
            }
          } finally {
            closeAll(per);
            closeAll(byDefault);
          }
        }
      }
      // the objective's own route (a fresh curvature) gives the same terms
      try (DjlSpecModel m = djl(c, p, dtype, GradientGraph.HESSIAN)) {
        List<ParameterVector> per = m.objective(b).perTermGradients();
        double err = termsErr(per, ref);
        closeAll(per);
        assertTrue(err <= tolReference(dtype), c.name() + ": Objective.perTermGradients " + err);
      }
      closeAll(ref);
    }
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void outputGradientAndVjpAreExactWhicheverGraphTheGradientBuilt(DType dtype) {
    double tol = tolReference(dtype);
    double sym = dtype == DType.FLOAT64 ? 1e-13 : 1e-5;
    for (Case c : cases()) {
      List<NamedArray> p = parameters(c.spec(), 21);
      ArrayBatch b = RandomBatches.forSpec(c.spec(), c.batch(), new SplittableRandom(22));
      int[] outShape = {c.batch(), c.spec().outputShape()[0]};
      double[] uh = new double[outShape[0] * outShape[1]];
      SplittableRandom r = new SplittableRandom(23);
      for (int i = 0; i < uh.length; i++) {
        uh[i] = r.nextGaussian();
      }
      double[] refDz;
      double[] refJtu;
      try (SpecModel rm = new ReferenceBackend().build(c.spec(), p, DType.FLOAT64);
          Curvature rc = rm.objective(b).curvature();
          Tensor dz = rc.outputGradient();
          Tensor u = rm.algebra().fromArray(uh, outShape);
          ParameterVector jtu = rc.vjp(u)) {
        refDz = dz.toDoubleArray();
        refJtu = jtu.toDoubleArray();
      }
      for (GradientGraph graph : GradientGraph.values()) {
        String what = c.name() + " " + dtype.jsonName() + " " + graph;
        try (DjlSpecModel m = djl(c, p, dtype, graph);
            Curvature cur = m.objective(b).curvature();
            Tensor u = m.algebra().fromArray(uh, outShape);
            ParameterVector v = ParameterVector.randomNormal(m.algebra(), m.layout(),
                new SplittableRandom(24))) {
          // before anything else: Jᵀu needs only the forward pass
          double[] before;
          try (ParameterVector jtu = cur.vjp(u)) {
            before = jtu.toDoubleArray();
          }
          assertTrue(relErr(before, refJtu) <= tol,
              what + ": Jᵀu vs reference " + relErr(before, refJtu));
          try (ParameterVector g = cur.gradient(); ParameterVector hv = cur.hvp(v);
              ParameterVector gv = cur.ggnvp(v); Tensor jv = cur.jvp(v);
              Tensor dz = cur.outputGradient(); ParameterVector jtdz = cur.vjp(dz);
              ParameterVector jtu = cur.vjp(u)) {
            assertTrue(hv.allFinite() && gv.allFinite(), what);
            assertArrayEquals(outShape, dz.shape(), what + ": ∂L/∂z shape");
            assertTrue(relErr(dz.toDoubleArray(), refDz) <= tol,
                what + ": ∂L/∂z vs reference " + relErr(dz.toDoubleArray(), refDz));
            // Jᵀ(∂L/∂z) is the gradient
            double e = relErr(jtdz.toDoubleArray(), g.toDoubleArray());
            assertTrue(e <= sym, what + ": Jᵀ(∂L/∂z) vs ∇L " + e);
            // the same after the product graphs exist
            assertTrue(relErr(jtu.toDoubleArray(), before) <= 1e-15, what + ": Jᵀu changed");
            // adjoint of J v
            double left = u.dot(jv);
            double right = jtu.dot(v);
            double scale = u.norm() * jv.norm() + jtu.norm() * v.norm();
            assertTrue(Math.abs(left - right) <= sym * scale,
                what + ": uᵀ(Jv) = " + left + " but (Jᵀu)ᵀv = " + right);
            // u is the caller's: unchanged
            assertTrue(relErr(u.toDoubleArray(), uh) <= (dtype == DType.FLOAT64 ? 0 : 1e-7));
          }
        }
      }
    }
  }

  @Test
  void vjpRejectsAnotherShapeOrAlgebraAndAStaleOrClosedCurvature() {
    Case c = mlp();
    List<NamedArray> p = parameters(c.spec(), 31);
    ArrayBatch b = RandomBatches.forSpec(c.spec(), c.batch(), new SplittableRandom(32));
    try (DjlSpecModel m = djl(c, p, DType.FLOAT64, GradientGraph.HESSIAN);
        DjlSpecModel m32 = djl(c, p, DType.FLOAT32, GradientGraph.HESSIAN);
        SpecModel ref = new ReferenceBackend().build(c.spec(), p, DType.FLOAT64)) {
      Objective o = m.objective(b);
      Curvature cur = o.curvature();
      try (Tensor wrong = m.algebra().zeros(c.batch(), 4);
          Tensor flat = m.algebra().zeros(c.batch() * 3);
          Tensor foreign = ref.algebra().zeros(c.batch(), 3);
          Tensor single = m32.algebra().zeros(c.batch(), 3);
          Tensor ok = m.algebra().zeros(c.batch(), 3)) {
        assertThrows(NullPointerException.class, () -> cur.vjp(null));
        for (Tensor bad : List.of(wrong, flat, foreign, single)) {
          IllegalArgumentException e =
              assertThrows(IllegalArgumentException.class, () -> cur.vjp(bad).close());
          assertTrue(e.getMessage().startsWith("u: "), e.getMessage());
        }
        try (ParameterVector zero = cur.vjp(ok)) {
          assertEquals(0.0, zero.norm(), 0.0, "Jᵀ0 = 0");
        }
        try (ParameterVector step = m.parameters()) {
          o.applyUpdate(step, 1e-3);
        }
        assertThrows(IllegalStateException.class, () -> cur.vjp(ok));
        assertThrows(IllegalStateException.class, cur::outputGradient);
        assertThrows(IllegalStateException.class, cur::perTermGradients);
        cur.close();
        assertThrows(IllegalStateException.class, () -> cur.vjp(ok));
      }
    }
  }

  @Test
  void isolatedSampleGradientsOfASpecModelAreTheReferencesAndNotThePerTermGradients() {
    // sgdph's own batch norm normalises one sample by its own statistics, as the reference does
    for (Case c : List.of(mlp(), cnn())) {
      List<NamedArray> p = parameters(c.spec(), 41);
      ArrayBatch b = RandomBatches.forSpec(c.spec(), c.batch(), new SplittableRandom(42));
      try (DjlSpecModel m = djl(c, p, DType.FLOAT64, GradientGraph.HESSIAN);
          SpecModel rm = new ReferenceBackend().build(c.spec(), p, DType.FLOAT64)) {
        List<ParameterVector> alone = m.objective(b).isolatedSampleGradients();
        List<ParameterVector> refAlone = rm.objective(b).isolatedSampleGradients();
        List<ParameterVector> per = m.objective(b).perTermGradients();
        try {
          double err = termsErr(alone, refAlone);
          assertTrue(err <= 1e-10, c.name() + ": isolated vs reference " + err);
          assertTrue(termsErr(alone, per) > 1e-2,
              c.name() + ": with train-mode batch norm a sample alone is another function");
        } finally {
          closeAll(alone);
          closeAll(refAlone);
          closeAll(per);
        }
      }
    }
  }

  // ---------------------------------------------------------------------- users' blocks

  private NDManager manager;

  @BeforeEach
  void open() {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
  }

  @AfterEach
  void close() {
    manager.close();
  }

  /** DJL's batch norm passes its ε to PyTorch as a float. */
  private static final double DJL_EPS = 1e-5f;

  /**
   * A user's block and the same network as a spec model: DJL's own {@code Linear}, {@code
   * Conv2d} and fused {@code BatchNorm} in train mode, values copied into the spec's entries.
   */
  private record UserCase(String name, Block block, ModelSpec spec, List<NamedArray> values,
      NDList data, NDList labels, ArrayBatch batch) {}

  /** {@link UserBlocks#withBatchNorm}: 4 → Linear 6 → BatchNorm → tanh → Linear 3. */
  private UserCase userMlp(DataType type) {
    SequentialBlock block = UserBlocks.withBatchNorm(manager, type);
    ModelSpec spec = new ModelSpec(new int[] {4},
        List.of(new LayerSpec.Dense(4, 6, true),
            new LayerSpec.BatchNorm(6, DJL_EPS, 0.1, Mode.TRAIN),
            new LayerSpec.Activation(ActivationKind.TANH),
            new LayerSpec.Dense(6, 3, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
    NDList[] d = UserBlocks.data(manager, type, 9, 51);
    return userCase("user-bn-mlp", block, spec, d[0], d[1], new int[] {9, 4});
  }

  /** [1, 5, 5] → Conv2d 3×3 (2 filters) → BatchNorm (2-d) → tanh → flatten → Linear 3. */
  private UserCase userCnn(DataType type) {
    SequentialBlock block = new SequentialBlock()
        .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).setFilters(2).build())
        .add(BatchNorm.builder().build())
        .add(Activation.tanhBlock())
        .add(Blocks.batchFlattenBlock())
        .add(Linear.builder().setUnits(3).build());
    block.initialize(manager, type, new Shape(1, 1, 5, 5));
    ModelSpec spec = new ModelSpec(new int[] {1, 5, 5},
        List.of(new LayerSpec.Conv2d(1, 2, 3, 3, 1, 1, 0, 0, true),
            new LayerSpec.BatchNorm(2, DJL_EPS, 0.1, Mode.TRAIN),
            new LayerSpec.Activation(ActivationKind.TANH),
            new LayerSpec.Flatten(),
            new LayerSpec.Dense(18, 3, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
    SplittableRandom r = new SplittableRandom(52);
    int n = 6;
    double[] x = new double[n * 25];
    double[] y = new double[n];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextGaussian();
    }
    for (int i = 0; i < n; i++) {
      y[i] = r.nextInt(3);
    }
    NDList data = new NDList(manager.create(x, new Shape(n, 1, 5, 5)).toType(type, false));
    NDList labels = new NDList(manager.create(y, new Shape(n)).toType(type, false));
    return userCase("user-bn-cnn", block, spec, data, labels, new int[] {n, 1, 5, 5});
  }

  /** Randomises the block's trainable values and copies them into the spec's entries. */
  private UserCase userCase(String name, Block block, ModelSpec spec, NDList data, NDList labels,
      int[] xShape) {
    SplittableRandom r = new SplittableRandom(name.hashCode());
    List<NDArray> trainable = new ArrayList<>();
    for (Pair<String, Parameter> p : block.getParameters()) {
      Parameter.Type t = p.getValue().getType();
      if (t != Parameter.Type.RUNNING_MEAN && t != Parameter.Type.RUNNING_VAR) {
        NDArray a = p.getValue().getArray();
        double[] v = new double[Math.toIntExact(a.size())];
        for (int i = 0; i < v.length; i++) {
          v[i] = (t == Parameter.Type.GAMMA ? 1 : 0) + 0.6 * r.nextGaussian();
        }
        a.muli(0).addi(manager.create(v, a.getShape()).toType(a.getDataType(), false));
        trainable.add(a);
      }
    }
    List<NamedArray> values = new ArrayList<>();
    int k = 0;
    for (ModelSpec.Entry e : spec.entries()) {
      // a train-mode batch norm of the spec has no running statistics: trainable entries only
      values.add(new NamedArray(e.name(), e.shape(), DjlTensor.toHost(trainable.get(k++))));
    }
    ArrayBatch batch = new ArrayBatch(DjlTensor.toHost(data.get(0)), xShape,
        DjlTensor.toHost(labels.get(0)), new int[] {xShape[0]});
    return new UserCase(name, block, spec, values, data, labels, batch);
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void aUserBlocksPerTermGradientsAndVjpAgreeWithTheReference(DType dtype) {
    DataType type = dtype == DType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
    for (UserCase uc : List.of(userMlp(type), userCnn(type))) {
      for (GradientGraph graph : GradientGraph.values()) {
        String what = uc.name() + " " + dtype.jsonName() + " " + graph;
        try (BlockCurvatureModel m = BlockCurvatureModel.builder(uc.block())
                .loss(Loss.softmaxCrossEntropyLoss()).gradientGraph(graph).build();
            SpecModel rm =
                new ReferenceBackend().build(uc.spec(), uc.values(), DType.FLOAT64);
            Curvature cur = m.objective(uc.data(), uc.labels()).curvature();
            Curvature rc = rm.objective(uc.batch()).curvature();
            ParameterVector g = cur.gradient()) {
          assertEquals(uc.spec().layout().dimension(), m.layout().dimension(), what);
          assertEquals(rc.loss(), cur.loss(), tolReference(dtype) * Math.abs(rc.loss()), what);
          List<ParameterVector> per = cur.perTermGradients();
          List<ParameterVector> ref = rc.perTermGradients();
          try {
            double meanErr = relErr(mean(per), g.toDoubleArray());
            assertTrue(meanErr <= tolMean(dtype), what + ": (1/n) Σ g_i vs ∇L: " + meanErr);
            double err = termsErr(per, ref);
            assertTrue(err <= tolReference(dtype), what + ": vs reference " + err);
          } finally {
            closeAll(per);
            closeAll(ref);
          }
          int[] outShape = {uc.batch().size(), 3};
          double[] uh = new double[outShape[0] * 3];
          SplittableRandom r = new SplittableRandom(53);
          for (int i = 0; i < uh.length; i++) {
            uh[i] = r.nextGaussian();
          }
          try (Tensor u = m.algebra().fromArray(uh, outShape);
              Tensor ru = rm.algebra().fromArray(uh, outShape);
              ParameterVector jtu = cur.vjp(u);
              ParameterVector rjtu = rc.vjp(ru);
              ParameterVector v = ParameterVector.randomNormal(m.algebra(), m.layout(),
                  new SplittableRandom(54));
              Tensor jv = cur.jvp(v);
              Tensor dz = cur.outputGradient();
              Tensor rdz = rc.outputGradient()) {
            double e = relErr(jtu.toDoubleArray(), rjtu.toDoubleArray());
            assertTrue(e <= tolReference(dtype), what + ": Jᵀu vs reference " + e);
            e = relErr(dz.toDoubleArray(), rdz.toDoubleArray());
            assertTrue(e <= tolReference(dtype), what + ": ∂L/∂z vs reference " + e);
            double left = u.dot(jv);
            double right = jtu.dot(v);
            double scale = u.norm() * jv.norm() + jtu.norm() * v.norm();
            assertTrue(Math.abs(left - right) <= (dtype == DType.FLOAT64 ? 1e-13 : 1e-5) * scale,
                what + ": uᵀ(Jv) = " + left + " but (Jᵀu)ᵀv = " + right);
          }
        }
      }
    }
  }

  @Test
  void isolatedSampleGradientsRefuseAOneDimensionalBatchNormEarlyAndNameThemselves() {
    UserCase uc = userMlp(DataType.FLOAT64);
    try (BlockCurvatureModel m = BlockCurvatureModel.builder(uc.block())
        .loss(Loss.softmaxCrossEntropyLoss()).build()) {
      DjlObjective o = m.objective(uc.data(), uc.labels());
      UnsupportedOperationException e =
          assertThrows(UnsupportedOperationException.class, o::isolatedSampleGradients);
      assertTrue(e.getMessage().startsWith("isolatedSampleGradients: "), e.getMessage());
      assertTrue(e.getMessage().contains("train-mode batch norm")
          && e.getMessage().contains("one sample"), e.getMessage());
      // the per-term gradients of the same batch are fine
      List<ParameterVector> per = o.perTermGradients();
      assertEquals(uc.batch().size(), per.size());
      closeAll(per);
    }
  }

  @Test
  void isolatedSampleGradientsOfATwoDimensionalBatchNormNormaliseOverSpace() {
    // PyTorch accepts one sample when a channel has several spatial values: like the reference
    UserCase uc = userCnn(DataType.FLOAT64);
    try (BlockCurvatureModel m = BlockCurvatureModel.builder(uc.block())
            .loss(Loss.softmaxCrossEntropyLoss()).build();
        SpecModel rm = new ReferenceBackend().build(uc.spec(), uc.values(), DType.FLOAT64)) {
      List<ParameterVector> alone = m.objective(uc.data(), uc.labels()).isolatedSampleGradients();
      List<ParameterVector> ref = rm.objective(uc.batch()).isolatedSampleGradients();
      try {
        double err = termsErr(alone, ref);
        assertTrue(err <= 1e-10, "isolated vs reference " + err);
      } finally {
        closeAll(alone);
        closeAll(ref);
      }
    }
  }

  /**
   * {@code h = tanh(x Wᵀ)}, then two heads: class logits {@code [n, 3]} and a regression
   * {@code [n, 2]}. Samples do not interact.
   */
  static final class TwoHeads extends AbstractBlock {
    private final Linear trunk = Linear.builder().setUnits(5).build();
    private final Linear logits = Linear.builder().setUnits(3).build();
    private final Linear regression = Linear.builder().setUnits(2).build();

    TwoHeads() {
      addChildBlock("trunk", trunk);
      addChildBlock("logits", logits);
      addChildBlock("regression", regression);
    }

    @Override
    protected NDList forwardInternal(
        ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
      NDList h = new NDList(
          trunk.forward(ps, inputs, training, params).singletonOrThrow().tanh());
      return new NDList(logits.forward(ps, h, training, params).singletonOrThrow(),
          regression.forward(ps, h, training, params).singletonOrThrow());
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
      long n = inputShapes[0].get(0);
      return new Shape[] {new Shape(n, 3), new Shape(n, 2)};
    }

    @Override
    protected void initializeChildBlocks(
        NDManager manager, DataType dataType, Shape... inputShapes) {
      trunk.initialize(manager, dataType, inputShapes);
      Shape h = new Shape(inputShapes[0].get(0), 5);
      logits.initialize(manager, dataType, h);
      regression.initialize(manager, dataType, h);
    }
  }

  @Test
  void aBlockWithTwoOutputsHasPerTermGradientsButNoSingleOutputGradient() {
    TwoHeads block = new TwoHeads();
    block.initialize(manager, DataType.FLOAT64, new Shape(1, 4));
    NDList[] d = UserBlocks.data(manager, DataType.FLOAT64, 6, 61);
    // cross-entropy of the logits plus the mean square of the regression: one term per sample
    OutputLoss loss = OutputLoss.of("two heads", (labels, preds) ->
        Loss.softmaxCrossEntropyLoss().evaluate(labels, new NDList(preds.get(0)))
            .add(preds.get(1).square().mean()));
    try (BlockCurvatureModel m = BlockCurvatureModel.builder(block).loss(loss).build()) {
      DjlObjective o = m.objective(d[0], d[1]);
      List<ParameterVector> per = o.perTermGradients();
      List<ParameterVector> alone = o.isolatedSampleGradients();
      try (Curvature c = o.curvature(); ParameterVector g = c.gradient()) {
        // without interacting samples a term is the sample's own batch of one
        double err = termsErr(per, alone);
        assertTrue(err <= 1e-13, "per-term vs isolated: " + err);
        assertTrue(relErr(mean(per), g.toDoubleArray()) <= 1e-13, "mean vs gradient");
        IllegalStateException e = assertThrows(IllegalStateException.class, c::outputGradient);
        assertTrue(e.getMessage().startsWith("outputGradient: "), e.getMessage());
        try (Tensor u = m.algebra().zeros(6, 3)) {
          e = assertThrows(IllegalStateException.class, () -> c.vjp(u));
          assertTrue(e.getMessage().startsWith("vjp: "), e.getMessage());
        }
      } finally {
        closeAll(per);
        closeAll(alone);
      }
    }
  }
}
