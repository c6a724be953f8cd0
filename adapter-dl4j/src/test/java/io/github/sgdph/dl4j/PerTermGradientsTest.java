package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Per-term gradients {@code g_i = ∂ℓ_i/∂θ} of the batch loss {@code L = (1/n) Σ ℓ_i} in one
 * forward pass of the whole batch (issue 12), with {@code outputGradient} and {@code vjp}, on
 * networks with train-mode batch norm, where every term depends on the batch statistics.
 *
 * <p>Spec models (the networks of the bundled {@code mlp-batchnorm-sgdph} and
 * {@code cnn-batchnorm-avgpool-adam} cases, with their cross-entropy and with a per-element
 * loss) are checked against the reference backend's per-term gradients, which its own tests
 * check against central differences of each term: to 1e-10 of the largest term's norm in
 * float64 and 1e-4 in float32. Wrapped {@code MultiLayerNetwork}s are checked against DL4J's own
 * backpropagation of each term (the batch with a labels mask selecting one sample).
 */
class PerTermGradientsTest {
  private static final SpecBackend REFERENCE = SpecBackend.find("reference");
  private static final Dl4jBackend DL4J = new Dl4jBackend();

  /** A spec network, its batch size and seeds. */
  private record Subject(String name, ModelSpec spec, int batch) {}

  private static LayerSpec bn(int features) {
    return new LayerSpec.BatchNorm(features, 1e-5, 0.1, Mode.TRAIN);
  }

  private static LayerSpec tanh() {
    return new LayerSpec.Activation(ActivationKind.TANH);
  }

  /** {@code mlp-batchnorm-sgdph}'s network: dense (no bias), 1-d batch norm, tanh, dense. */
  static ModelSpec mlp(LossKind loss) {
    return new ModelSpec(new int[] {10}, List.of(
        new LayerSpec.Dense(10, 16, false), bn(16), tanh(), new LayerSpec.Dense(16, 3, true)),
        loss);
  }

  /**
   * {@code cnn-batchnorm-avgpool-adam}'s network: conv 3x3 stride 2 padding 1 (no bias), 2-d
   * batch norm, tanh, average pooling, flatten, dense.
   */
  static ModelSpec cnn(LossKind loss) {
    return new ModelSpec(new int[] {2, 7, 7}, List.of(
        new LayerSpec.Conv2d(2, 4, 3, 3, 2, 2, 1, 1, false), bn(4), tanh(),
        new LayerSpec.Pool2d(PoolKind.AVG, 2, 2, 2, 2), new LayerSpec.Flatten(),
        new LayerSpec.Dense(16, 3, true)), loss);
  }

  private static List<Subject> subjects() {
    return List.of(
        new Subject("mlp 1-d batch norm, softmax CE", mlp(LossKind.SOFTMAX_CROSS_ENTROPY), 8),
        new Subject("mlp 1-d batch norm, sigmoid BCE (mean over elements)",
            mlp(LossKind.SIGMOID_BINARY_CROSS_ENTROPY), 7),
        new Subject("cnn 2-d batch norm, softmax CE", cnn(LossKind.SOFTMAX_CROSS_ENTROPY), 6),
        new Subject("cnn 2-d batch norm, MSE (mean over elements)", cnn(LossKind.MSE), 5));
  }

  /**
   * Default-initialised parameters, batch-norm scale and shift moved away from 1 and 0 so that
   * no term vanishes by accident.
   */
  static List<NamedArray> parameters(ModelSpec spec, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<NamedArray> out = new ArrayList<>();
    List<NamedArray> p = DefaultInitializer.initialize(spec, r);
    for (int i = 0; i < p.size(); i++) {
      NamedArray a = p.get(i);
      double[] v = a.values();
      if (spec.layers().get(spec.entries().get(i).layerIndex()) instanceof LayerSpec.BatchNorm) {
        for (int j = 0; j < v.length; j++) {
          v[j] += 0.3 * r.nextGaussian();
        }
      }
      out.add(new NamedArray(a.name(), a.shape(), v, a.trainable()));
    }
    return out;
  }

  /** A DL4J model and the reference model with the same parameters, and one batch. */
  private record Pair(SpecModel dl4j, SpecModel reference, ArrayBatch batch, DType dtype)
      implements AutoCloseable {
    static Pair of(Subject s, DType dtype) {
      List<NamedArray> p = parameters(s.spec(), 5);
      ArrayBatch b = RandomBatches.forSpec(s.spec(), s.batch(), new SplittableRandom(6));
      return new Pair(DL4J.build(s.spec(), p, dtype), REFERENCE.build(s.spec(), p, DType.FLOAT64),
          b, dtype);
    }

    /** The tolerance against the float64 reference: float64 rounding or float32's. */
    double tolerance() {
      return dtype == DType.FLOAT64 ? 1e-10 : 1e-4;
    }

    @Override
    public void close() {
      dl4j.close();
      reference.close();
    }
  }

  private static Stream<DynamicTest> each(Consumer<Pair> body) {
    List<DynamicTest> tests = new ArrayList<>();
    for (DType dtype : List.of(DType.FLOAT64, DType.FLOAT32)) {
      for (Subject s : subjects()) {
        tests.add(DynamicTest.dynamicTest(s.name() + ", " + dtype.jsonName(), () -> {
          try (Pair p = Pair.of(s, dtype)) {
            body.accept(p);
          }
        }));
      }
    }
    return tests.stream();
  }

  private static List<double[]> hostCopies(List<ParameterVector> vs) {
    List<double[]> out = new ArrayList<>();
    for (ParameterVector v : vs) {
      out.add(v.toDoubleArray());
      v.close();
    }
    return out;
  }

  private static double norm(double[] a) {
    double s = 0;
    for (double x : a) {
      s += x * x;
    }
    return Math.sqrt(s);
  }

  private static double distance(double[] a, double[] b) {
    assertEquals(b.length, a.length, "entry count");
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (a[i] - b[i]) * (a[i] - b[i]);
    }
    return Math.sqrt(s);
  }

  /**
   * The largest deviation of a term from its expected value relative to the largest expected
   * term's norm (a term that is nearly zero holds only rounding noise).
   */
  private static double termError(List<double[]> actual, List<double[]> expected) {
    assertEquals(expected.size(), actual.size(), "number of terms");
    double largest = 0;
    for (double[] e : expected) {
      largest = Math.max(largest, norm(e));
    }
    assertTrue(largest > 0, "all terms are zero: the check would be vacuous");
    double worst = 0;
    for (int i = 0; i < actual.size(); i++) {
      worst = Math.max(worst, distance(actual.get(i), expected.get(i)) / largest);
    }
    return worst;
  }

  private static double[] mean(List<double[]> terms) {
    double[] m = new double[terms.get(0).length];
    for (double[] t : terms) {
      for (int j = 0; j < m.length; j++) {
        m[j] += t[j] / terms.size();
      }
    }
    return m;
  }

  // ------------------------------------------------------------------ spec models

  @TestFactory
  Stream<DynamicTest> perTermGradientsAverageToTheGradient() {
    return each(p -> {
      Objective o = p.dl4j().objective(p.batch());
      List<double[]> per = hostCopies(o.perTermGradients());
      assertEquals(p.batch().size(), per.size());
      double[] g;
      try (Curvature c = o.curvature(); ParameterVector gv = c.gradient()) {
        g = gv.toDoubleArray();
      }
      double err = distance(mean(per), g) / norm(g);
      // float64: rounding only; float32: each term and the gradient are rounded separately
      double tol = p.dtype() == DType.FLOAT64 ? 1e-12 : 1e-5;
      assertTrue(err <= tol, "mean of the terms vs the gradient: " + err + " > " + tol);
    });
  }

  @TestFactory
  Stream<DynamicTest> perTermGradientsAgreeWithTheReference() {
    return each(p -> {
      List<double[]> mine = hostCopies(p.dl4j().objective(p.batch()).perTermGradients());
      List<double[]> ref = hostCopies(p.reference().objective(p.batch()).perTermGradients());
      double err = termError(mine, ref);
      assertTrue(err <= p.tolerance(), "vs reference: " + err + " > " + p.tolerance());
    });
  }

  /** The terms are not the gradient repeated: with batch norm no two are alike. */
  @TestFactory
  Stream<DynamicTest> termsDifferFromOneAnother() {
    return each(p -> {
      List<double[]> per = hostCopies(p.dl4j().objective(p.batch()).perTermGradients());
      for (int i = 1; i < per.size(); i++) {
        double d =
            distance(per.get(i), per.get(0)) / Math.max(norm(per.get(0)), norm(per.get(i)));
        assertTrue(d > 1e-2, "terms 0 and " + i + " nearly equal: " + d);
      }
    });
  }

  @TestFactory
  Stream<DynamicTest> outputGradientAndVjpAgreeWithTheReference() {
    return each(p -> {
      try (Curvature c = p.dl4j().objective(p.batch()).curvature();
          Curvature rc = p.reference().objective(p.batch()).curvature();
          Tensor dz = c.outputGradient(); Tensor rdz = rc.outputGradient()) {
        assertEquals(List.of(p.batch().size(), p.dl4j().spec().outputShape()[0]),
            List.of(dz.shape()[0], dz.shape()[1]), "[n, k]");
        double[] a = dz.toDoubleArray();
        double[] e = rdz.toDoubleArray();
        double err = distance(a, e) / norm(e);
        assertTrue(err <= p.tolerance(), "∂L/∂z vs reference: " + err);
        // Jᵀu for a random u, and for u = ∂L/∂z (the gradient)
        double[] uh = new double[a.length];
        SplittableRandom r = new SplittableRandom(17);
        for (int i = 0; i < uh.length; i++) {
          uh[i] = r.nextDouble(-1, 1);
        }
        try (Tensor u = p.dl4j().algebra().fromArray(uh, dz.shape());
            Tensor ru = p.reference().algebra().fromArray(uh, dz.shape())) {
          double[] before = u.toDoubleArray();
          try (ParameterVector jtu = c.vjp(u); ParameterVector rjtu = rc.vjp(ru);
              ParameterVector viaSeed = c.vjp(dz); ParameterVector g = c.gradient()) {
            assertTrue(jtu.layout().sameBlocksAs(p.dl4j().layout()), "Jᵀu layout");
            double[] ref = rjtu.toDoubleArray();
            double vjpErr = distance(jtu.toDoubleArray(), ref) / norm(ref);
            assertTrue(vjpErr <= p.tolerance(), "Jᵀu vs reference: " + vjpErr);
            // the same backward pass as the gradient's, from a copy of its seed
            double[] gh = g.toDoubleArray();
            double seedErr = distance(viaSeed.toDoubleArray(), gh) / norm(gh);
            assertTrue(seedErr <= 1e-14, "Jᵀ(∂L/∂z) vs gradient: " + seedErr);
          }
          assertArrayEquals(before, u.toDoubleArray(), "u is not modified");
        }
      }
    });
  }

  /** The override computes the interface's definition (its default, by {@code vjp}). */
  @TestFactory
  Stream<DynamicTest> perTermGradientsAreTheInterfacesDefinition() {
    return each(p -> {
      try (Curvature c = p.dl4j().objective(p.batch()).curvature()) {
        List<double[]> fast = hostCopies(c.perTermGradients());
        List<double[]> byDefault = hostCopies(Curvature.perTermGradientsByVjp(c));
        double err = termError(fast, byDefault);
        // float32: the default scales the seed by n in float64, the override in float32
        double tol = p.dtype() == DType.FLOAT64 ? 1e-14 : 1e-6;
        assertTrue(err <= tol, "override vs default: " + err);
      }
    });
  }

  @Test
  void vjpRejectsTensorsOfAnotherShapeDtypeOrBackendNamingU() {
    Subject s = subjects().get(0);
    try (Pair p = Pair.of(s, DType.FLOAT64);
        Curvature c = p.dl4j().objective(p.batch()).curvature()) {
      int n = p.batch().size();
      try (Tensor wrongShape = p.dl4j().algebra().zeros(n, 4)) {
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> c.vjp(wrongShape));
        assertTrue(e.getMessage().startsWith("u: shape [" + n + ", 4] is not the outputs' ["
            + n + ", 3]"), e.getMessage());
      }
      try (Tensor transposed = p.dl4j().algebra().zeros(3, n)) {
        assertThrows(IllegalArgumentException.class, () -> c.vjp(transposed));
      }
      try (Tensor f32 = Nd4jAlgebra.of(DType.FLOAT32).zeros(n, 3)) {
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> c.vjp(f32));
        assertTrue(e.getMessage().startsWith("u: dtype float32"), e.getMessage());
      }
      try (Tensor ref = p.reference().algebra().zeros(n, 3)) {
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> c.vjp(ref));
        assertTrue(e.getMessage().startsWith("u: a tensor of backend 'reference'"),
            e.getMessage());
      }
      NullPointerException npe = assertThrows(NullPointerException.class, () -> c.vjp(null));
      assertEquals("u", npe.getMessage());
    }
  }

  /** A column-major or strided {@code u} gives the same {@code Jᵀu} as a row-major copy. */
  @Test
  void vjpReadsAnyLayoutOfU() {
    Subject s = subjects().get(2);
    try (Pair p = Pair.of(s, DType.FLOAT64);
        Curvature c = p.dl4j().objective(p.batch()).curvature();
        Tensor dz = c.outputGradient()) {
      INDArray rowMajor = ((Nd4jTensor) dz).array();
      INDArray colMajor = rowMajor.dup('f');
      INDArray wide = Nd4j.zeros(DataType.DOUBLE, rowMajor.size(0), 2 * rowMajor.size(1));
      INDArray strided = wide.get(NDArrayIndex.all(),
          NDArrayIndex.interval(0, 2, 2 * rowMajor.size(1)));
      strided.assign(rowMajor);
      try (ParameterVector a = c.vjp(dz);
          ParameterVector b = c.vjp(Nd4jAlgebra.of(DType.FLOAT64).wrap(colMajor));
          ParameterVector d = c.vjp(Nd4jAlgebra.of(DType.FLOAT64).wrap(strided))) {
        double[] e = a.toDoubleArray();
        assertEquals(0, distance(b.toDoubleArray(), e) / norm(e), 1e-15, "column-major u");
        assertEquals(0, distance(d.toDoubleArray(), e) / norm(e), 1e-15, "strided u");
      }
    }
  }

  @Test
  void staleOrClosedCurvaturesRefuse() {
    try (Pair p = Pair.of(subjects().get(0), DType.FLOAT64)) {
      Objective o = p.dl4j().objective(p.batch());
      Curvature c = o.curvature();
      Tensor u = c.outputGradient();
      try (ParameterVector g = c.gradient()) {
        o.applyUpdate(g, -0.01);
      }
      assertThrows(IllegalStateException.class, c::perTermGradients);
      assertThrows(IllegalStateException.class, c::outputGradient);
      assertThrows(IllegalStateException.class, () -> c.vjp(u));
      c.close();
      Curvature fresh = o.curvature();
      fresh.close();
      assertThrows(IllegalStateException.class, fresh::perTermGradients);
      assertThrows(IllegalStateException.class, () -> fresh.vjp(u));
      u.close();
    }
  }

  /**
   * {@code isolatedSampleGradients} on train-mode batch norm computes the one-sample-batch
   * quantity, as the reference does: finite, a different function from the per-term gradients,
   * and with a 1-d batch norm the normalised value of a lone sample is 0, so every parameter
   * before the batch norm (and its scale) gets exactly zero.
   */
  @TestFactory
  Stream<DynamicTest> isolatedSampleGradientsAreTheOneSampleBatchQuantity() {
    return each(p -> {
      Objective o = p.dl4j().objective(p.batch());
      List<double[]> alone = hostCopies(o.isolatedSampleGradients());
      List<double[]> ref =
          hostCopies(p.reference().objective(p.batch()).isolatedSampleGradients());
      double err = termError(alone, ref);
      assertTrue(err <= p.tolerance(), "one-sample gradients vs reference: " + err);
      List<double[]> per = hostCopies(o.perTermGradients());
      double[] a = alone.get(0);
      double gap = distance(a, per.get(0)) / norm(per.get(0));
      assertTrue(gap > 1e-2, "a one-sample batch equals the term in the batch: " + gap);
      for (double[] t : alone) {
        for (double x : t) {
          assertTrue(Double.isFinite(x), "non-finite one-sample gradient");
        }
      }
      if (p.dl4j().spec().inputShape().length == 1) {
        ParameterLayout layout = p.dl4j().layout();
        for (String block : List.of("0.weight", "1.weight")) {
          int off = 0;
          int b = layout.indexOf(block);
          for (int i = 0; i < b; i++) {
            off += layout.block(i).size();
          }
          for (double[] t : alone) {
            for (int j = off; j < off + layout.block(b).size(); j++) {
              assertEquals(0.0, Math.abs(t[j]), block + " in a one-sample batch");
            }
          }
        }
      }
    });
  }

  // ------------------------------------------------------------------ wrapped networks

  private record UserSubject(String name, Nets.Case c) {}

  private static List<UserSubject> userNetworks(DataType dt) {
    return List.of(
        new UserSubject("Dense + BatchNormalization + tanh + softmax/MCXENT", Nets.batchNorm(dt)),
        new UserSubject("ConvolutionLayer + 4-D BatchNormalization + AVG pool + tanh/MSE",
            Nets.convSameAvgPool(dt)));
  }

  /** DL4J's own backpropagation of term {@code i}: the batch with only row {@code i} unmasked. */
  private static double[] dl4jTerm(MultiLayerNetwork net, Dl4jObjective o, ParameterLayout l,
      int i) {
    INDArray mask = Nd4j.zeros(o.labels().dataType(), o.batchSize(), 1);
    mask.putScalar(i, 0, 1.0);
    net.setInput(o.features());
    net.setLabels(o.labels());
    net.setLayerMaskArrays(null, mask);
    try {
      net.computeGradientAndScore();
      double[] out = new double[(int) l.dimension()];
      int off = 0;
      for (int b = 0; b < l.blockCount(); b++) {
        double[] t = Nd4jArrays.toDoubles(net.gradient().getGradientFor(l.block(b).name()));
        System.arraycopy(t, 0, out, off, t.length);
        off += t.length;
      }
      assertEquals(out.length, off, "entry count");
      return out;
    } finally {
      net.clearLayerMaskArrays();
    }
  }

  @TestFactory
  Stream<DynamicTest> perTermGradientsOfAUsersNetworkAreDl4jsBackpropagationOfEachTerm() {
    List<DynamicTest> tests = new ArrayList<>();
    for (DataType dt : List.of(DataType.DOUBLE, DataType.FLOAT)) {
      for (UserSubject s : userNetworks(dt)) {
        tests.add(DynamicTest.dynamicTest(s.name() + ", " + dt, () -> {
          MultiLayerNetwork net = s.c().net();
          Dl4jNetworkModel m = Dl4jNetworkModel.of(net);
          Dl4jObjective o = m.objective(s.c().batch());
          List<double[]> mine = hostCopies(o.perTermGradients());
          List<double[]> theirs = new ArrayList<>();
          for (int i = 0; i < o.batchSize(); i++) {
            theirs.add(dl4jTerm(net, o, m.layout(), i));
          }
          double tol = dt == DataType.DOUBLE ? 1e-9 : 1e-4;
          double err = termError(mine, theirs);
          assertTrue(err <= tol, "vs DL4J's masked backpropagation: " + err + " > " + tol);
          double[] g;
          try (Curvature c = o.curvature(); ParameterVector gv = c.gradient()) {
            g = gv.toDoubleArray();
          }
          double avg = distance(mean(mine), g) / norm(g);
          double avgTol = dt == DataType.DOUBLE ? 1e-12 : 1e-5;
          assertTrue(avg <= avgTol, "mean of the terms vs the gradient: " + avg);
        }));
      }
    }
    return tests.stream();
  }
}
