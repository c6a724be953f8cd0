package io.github.sgdph.tensorflow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LayerSpec.Mode;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Per-term gradients {@code g_i = ∂ℓ_i/∂θ} of the batch loss on spec models with train-mode
 * batch norm (issue 12): an MLP with 1-d batch norm (the network of {@code
 * cases/mlp-batchnorm-sgdph.json}, also with MSE and sigmoid BCE) and a CNN with 2-d batch norm
 * (that of {@code cases/cnn-batchnorm-avgpool-adam.json}), in float64 and float32.
 *
 * <ul>
 *   <li>{@code (1/n) Σ g_i} is the batch gradient: 1e-12 relative in float64, 1e-5 in float32;
 *   <li>each {@code g_i} is the reference backend's (float64) to 1e-10 (float64) and 1e-4
 *       (float32) of the largest term's norm (the reference checks its own terms against
 *       central differences of each term's loss in the whole batch);
 *   <li>{@code ∂L/∂z} and {@code Jᵀu} are the reference's to 1e-12 (float64) / 1e-5 (float32);
 *   <li>the chunked graph gives the interface's default (one {@link Curvature#vjp} per term) for
 *       every chunk size, including a last, shorter chunk and a chunk longer than the batch;
 *   <li>{@link io.github.sgdph.curvature.Objective#isolatedSampleGradients()} (each sample as a
 *       one-sample batch) works with train-mode batch norm and is the reference's quantity, not
 *       the per-term gradient.
 * </ul>
 */
class TfPerTermGradientsTest {

  /** {@code cases/mlp-batchnorm-sgdph.json}'s network with another loss. */
  static ModelSpec mlp(LossKind loss) {
    return new ModelSpec(new int[] {10},
        List.of(new LayerSpec.Dense(10, 16, false),
            new LayerSpec.BatchNorm(16, 1e-5, 0.1, Mode.TRAIN),
            new LayerSpec.Activation(ActivationKind.TANH),
            new LayerSpec.Dense(16, 3, true)),
        loss);
  }

  /** {@code cases/cnn-batchnorm-avgpool-adam.json}'s network. */
  static ModelSpec cnn() {
    return new ModelSpec(new int[] {2, 7, 7},
        List.of(new LayerSpec.Conv2d(2, 4, 3, 3, 2, 2, 1, 1, false),
            new LayerSpec.BatchNorm(4, 1e-5, 0.1, Mode.TRAIN),
            new LayerSpec.Activation(ActivationKind.TANH),
            new LayerSpec.Pool2d(LayerSpec.PoolKind.AVG, 2, 2, 2, 2),
            new LayerSpec.Flatten(),
            new LayerSpec.Dense(16, 3, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  /** A model under test: its spec, parameters (batch-norm affine ones away from 1 and 0), batch. */
  record Setup(String name, ModelSpec spec, List<NamedArray> parameters, ArrayBatch batch) {
    static Setup of(String name, ModelSpec spec, int n, long seed) {
      SplittableRandom r = new SplittableRandom(seed);
      List<NamedArray> p = new ArrayList<>();
      for (NamedArray a : DefaultInitializer.initialize(spec, r)) {
        double[] v = a.valuesView().clone();
        if (a.trainable() && (a.name().endsWith("1.weight") || a.name().endsWith("1.bias"))) {
          for (int i = 0; i < v.length; i++) {
            v[i] += 0.3 * r.nextGaussian(); // batch-norm γ and β (layer 1 in both networks)
          }
        }
        p.add(new NamedArray(a.name(), a.shape(), v, a.trainable()));
      }
      return new Setup(name, spec, p, RandomBatches.forSpec(spec, n, r));
    }
  }

  /** Batch 20 for the MLPs: one full chunk of 16 and a shorter one of 4. */
  static List<Setup> setups() {
    return List.of(
        Setup.of("bn-mlp-ce", mlp(LossKind.SOFTMAX_CROSS_ENTROPY), 20, 1),
        Setup.of("bn-mlp-mse", mlp(LossKind.MSE), 20, 2),
        Setup.of("bn-mlp-bce", mlp(LossKind.SIGMOID_BINARY_CROSS_ENTROPY), 20, 3),
        Setup.of("bn-cnn-ce", cnn(), 7, 4));
  }

  static SpecModel tf(Setup s, DType dtype) {
    return new TfBackend(TfDevice.CPU).build(s.spec(), s.parameters(), dtype);
  }

  static SpecModel reference(Setup s) {
    return SpecBackend.find("reference").build(s.spec(), s.parameters(), DType.FLOAT64);
  }

  /** {@code ‖a − b‖ / scale}. */
  static double distance(double[] a, double[] b, double scale) {
    assertEquals(b.length, a.length, "length");
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      d += (a[i] - b[i]) * (a[i] - b[i]);
    }
    return Math.sqrt(d) / scale;
  }

  static double norm(double[] a) {
    return distance(a, new double[a.length], 1);
  }

  static double largestNorm(List<ParameterVector> terms) {
    double largest = 0;
    for (ParameterVector t : terms) {
      largest = Math.max(largest, t.norm());
    }
    return largest;
  }

  static void closeAll(List<ParameterVector> vs) {
    vs.forEach(ParameterVector::close);
  }

  /** {@code max_i ‖a_i − b_i‖ / (largest ‖b_i‖)}. */
  static double termwise(List<ParameterVector> a, List<ParameterVector> b) {
    assertEquals(b.size(), a.size(), "number of terms");
    double largest = largestNorm(b);
    double worst = 0;
    for (int i = 0; i < a.size(); i++) {
      assertTrue(a.get(i).layout().sameBlocksAs(b.get(i).layout()), "term " + i + " layout");
      worst = Math.max(worst,
          distance(a.get(i).toDoubleArray(), b.get(i).toDoubleArray(), largest));
    }
    return worst;
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT64", "FLOAT32"})
  void required_perTermGradientsAverageToTheGradient(DType dtype) {
    double tol = dtype == DType.FLOAT64 ? 1e-12 : 1e-5;
    for (Setup s : setups()) {
      try (SpecModel m = tf(s, dtype); Curvature c = m.objective(s.batch()).curvature();
          ParameterVector g = c.gradient()) {
        List<ParameterVector> per = c.perTermGradients();
        try {
          assertEquals(s.batch().size(), per.size(), s.name() + ": number of terms");
          double[] mean = new double[(int) g.dimension()];
          for (ParameterVector p : per) {
            assertTrue(p.layout().sameBlocksAs(m.layout()), s.name() + ": layout");
            assertTrue(p.algebra() == m.algebra(), s.name() + ": algebra");
            double[] v = p.toDoubleArray();
            for (int j = 0; j < v.length; j++) {
              mean[j] += v[j] / per.size();
            }
          }
          double[] gh = g.toDoubleArray();
          double err = distance(mean, gh, norm(gh));
          assertTrue(err <= tol, s.name() + " " + dtype + ": mean of terms vs gradient " + err);
        } finally {
          closeAll(per);
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT64", "FLOAT32"})
  void required_perTermGradientsMatchTheReference(DType dtype) {
    double tol = dtype == DType.FLOAT64 ? 1e-10 : 1e-4;
    for (Setup s : setups()) {
      try (SpecModel m = tf(s, dtype); SpecModel ref = reference(s)) {
        List<ParameterVector> per = m.objective(s.batch()).perTermGradients();
        List<ParameterVector> expected = ref.objective(s.batch()).perTermGradients();
        try {
          double err = termwise(per, expected);
          assertTrue(err <= tol, s.name() + " " + dtype + ": terms vs reference " + err);
          // the terms are not all alike (the batch coupling is exercised, not a trivial case)
          assertTrue(distance(expected.get(0).toDoubleArray(), expected.get(1).toDoubleArray(),
              largestNorm(expected)) > 1e-2, s.name() + ": terms 0 and 1 nearly equal");
        } finally {
          closeAll(per);
          closeAll(expected);
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT64", "FLOAT32"})
  void required_outputGradientAndVjpMatchTheReference(DType dtype) {
    double tol = dtype == DType.FLOAT64 ? 1e-12 : 1e-5;
    for (Setup s : setups()) {
      try (SpecModel m = tf(s, dtype); SpecModel ref = reference(s);
          Curvature c = m.objective(s.batch()).curvature();
          Curvature rc = ref.objective(s.batch()).curvature();
          Tensor dz = c.outputGradient(); Tensor rdz = rc.outputGradient()) {
        assertArrayEquals(rdz.shape(), dz.shape(), s.name() + ": ∂L/∂z shape");
        double[] e = rdz.toDoubleArray();
        double err = distance(dz.toDoubleArray(), e, norm(e));
        assertTrue(err <= tol, s.name() + " " + dtype + ": ∂L/∂z vs reference " + err);
        assertEquals(rc.loss(), c.loss(), tol * 10 * Math.abs(rc.loss()), s.name() + ": loss");

        SplittableRandom r = new SplittableRandom(7);
        double[] uh = new double[e.length];
        for (int i = 0; i < uh.length; i++) {
          uh[i] = r.nextDouble(-1, 1);
        }
        try (Tensor u = m.algebra().fromArray(uh, dz.shape());
            Tensor ru = ref.algebra().fromArray(uh, dz.shape());
            ParameterVector jtu = c.vjp(u); ParameterVector rjtu = rc.vjp(ru)) {
          assertTrue(jtu.layout().sameBlocksAs(m.layout()), s.name() + ": Jᵀu layout");
          double[] je = rjtu.toDoubleArray();
          double jerr = distance(jtu.toDoubleArray(), je, norm(je));
          assertTrue(jerr <= tol, s.name() + " " + dtype + ": Jᵀu vs reference " + jerr);
          assertArrayEquals(uh, u.toDoubleArray(), dtype == DType.FLOAT64 ? 0 : 1e-7,
              "u is not modified");
        }
      }
    }
  }

  /**
   * A one-sample batch is a legitimate, different function: train-mode batch norm normalises the
   * sample by its own statistics. TensorFlow computes it as the reference does (no error, no
   * NaN: the variance is 0 and {@code ε} keeps {@code 1/sqrt(σ² + ε)} finite); with 1-d batch
   * norm every feature is centred to exactly 0, so the layer before it gets a zero gradient.
   */
  @ParameterizedTest
  @EnumSource(names = {"FLOAT64", "FLOAT32"})
  void required_isolatedSampleGradientsWithTrainModeBatchNormAreTheReferences(DType dtype) {
    double tol = dtype == DType.FLOAT64 ? 1e-12 : 1e-4;
    for (Setup s : setups()) {
      try (SpecModel m = tf(s, dtype); SpecModel ref = reference(s)) {
        List<ParameterVector> alone = m.objective(s.batch()).isolatedSampleGradients();
        List<ParameterVector> expected = ref.objective(s.batch()).isolatedSampleGradients();
        List<ParameterVector> per = m.objective(s.batch()).perTermGradients();
        try {
          double err = termwise(alone, expected);
          assertTrue(err <= tol, s.name() + " " + dtype + ": isolated vs reference " + err);
          assertTrue(termwise(alone, per) > 1e-2, s.name() + ": isolated equals per-term");
          for (ParameterVector a : alone) {
            assertTrue(a.allFinite(), s.name() + ": non-finite isolated gradient");
            if (s.spec().inputShape().length == 1) {
              assertEquals(0.0, a.block("0.weight").maxAbs(), s.name() + ": 0.weight");
            }
          }
        } finally {
          closeAll(alone);
          closeAll(expected);
          closeAll(per);
        }
      }
    }
  }

  /** The chunked graph computes what the default (one vjp per term) does, for any chunk. */
  @ParameterizedTest
  @EnumSource(names = {"FLOAT64", "FLOAT32"})
  void required_chunksAgreeWithOneVjpPerTerm(DType dtype) {
    double tol = dtype == DType.FLOAT64 ? 1e-13 : 1e-6;
    Setup s = setups().get(0);
    try (SpecModel m = tf(s, dtype); TfCurvature c = (TfCurvature) m.objective(s.batch())
        .curvature()) {
      List<ParameterVector> one = defaultPerTerm(c);
      try {
        for (int chunk : new int[] {1, 3, 16, 25}) {
          List<ParameterVector> per = c.perTermGradients(chunk);
          try {
            double err = termwise(per, one);
            assertTrue(err <= tol, dtype + " chunk " + chunk + ": vs one vjp per term " + err);
          } finally {
            closeAll(per);
          }
        }
      } finally {
        closeAll(one);
      }
    }
  }

  /** The interface's default per-term gradients: one {@link Curvature#vjp} per term. */
  static List<ParameterVector> defaultPerTerm(Curvature c) {
    return Curvature.perTermGradientsByVjp(c);
  }

  @Test
  void required_vjpRejectsAWrongSeedNamingU() {
    Setup s = setups().get(0);
    try (SpecModel m = tf(s, DType.FLOAT64); SpecModel ref = reference(s);
        Curvature c = m.objective(s.batch()).curvature()) {
      int n = s.batch().size();
      for (Tensor bad : List.of(m.algebra().zeros(n + 1, 3), m.algebra().zeros(n, 4),
          m.algebra().zeros(n * 3), TfAlgebra.FLOAT32.zeros(n, 3), ref.algebra().zeros(n, 3))) {
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> c.vjp(bad).close());
        assertTrue(e.getMessage().startsWith("u:"), e.getMessage());
        bad.close();
      }
      NullPointerException npe = assertThrows(NullPointerException.class, () -> c.vjp(null));
      assertEquals("u", npe.getMessage());
    }
  }

  @Test
  void required_closedOrStaleCurvatureRefusesPerTermGradients() {
    Setup s = setups().get(3);
    try (SpecModel m = tf(s, DType.FLOAT64); ParameterVector p = m.parameters()) {
      Curvature c = m.objective(s.batch()).curvature();
      c.close();
      assertThrows(IllegalStateException.class, c::perTermGradients);
      assertThrows(IllegalStateException.class, c::outputGradient);
      Curvature stale = m.objective(s.batch()).curvature();
      m.setParameters(p);
      assertThrows(IllegalStateException.class, stale::perTermGradients);
      try (Tensor u = m.algebra().zeros(s.batch().size(), 3)) {
        assertThrows(IllegalStateException.class, () -> stale.vjp(u));
      }
      stale.close();
    }
  }
}
