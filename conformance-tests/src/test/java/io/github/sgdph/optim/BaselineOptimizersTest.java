package io.github.sgdph.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * SGD and Adam against steps computed by hand on {@code f(x) = w·x} with MSE on
 * {@code x = (1, 2), y = (1, 3)}: {@code L(w) = ½[(w − 1)² + (2w − 3)²]}, {@code ∇L = 5w − 7}.
 */
class BaselineOptimizersTest {

  static final ModelSpec SCALAR =
      new ModelSpec(new int[] {1}, List.of(new LayerSpec.Dense(1, 1, false)), LossKind.MSE);
  static final ArrayBatch BATCH =
      new ArrayBatch(new double[] {1, 2}, new int[] {2, 1}, new double[] {1, 3}, new int[] {2, 1});

  static SpecModel model(double w) {
    return SpecBackend.find("reference")
        .build(SCALAR, List.of(new NamedArray("0.weight", new int[] {1, 1}, new double[] {w})),
            DType.FLOAT64);
  }

  static double w(SpecModel m) {
    return m.exportParameters().get(0).valuesView()[0];
  }

  @Test
  void sgdWithMomentumAndWeightDecayMatchesTwoHandComputedSteps() {
    try (SpecModel m = model(0.5)) {
      Optimizer sgd = Sgd.builder().lr(0.1).momentum(0.9).weightDecay(0.01).build();
      StepReport r1 = sgd.step(m.objective(BATCH));
      // g = 5·0.5 − 7 = −4.5; g + wd·w = −4.495 = buf; w = 0.5 + 0.1·4.495
      assertEquals(0.5 * (0.25 + 4), r1.loss(), 1e-15, "loss before step 1: ½[(−.5)² + (−2)²]");
      assertEquals(0.9495, w(m), 1e-15);
      sgd.step(m.objective(BATCH));
      // g = 5·0.9495 − 7 = −2.2525; + 0.01·0.9495 = −2.243005; buf = 0.9·(−4.495) − 2.243005
      assertEquals(0.9495 + 0.1 * 6.288505, w(m), 1e-14);
    }
  }

  @Test
  void nesterovAndDampeningFollowTorch() {
    try (SpecModel m = model(0.5)) {
      Sgd.builder().lr(0.1).momentum(0.9).nesterov(true).weightDecay(0.01).build()
          .step(m.objective(BATCH));
      // d = g + μ·buf = −4.495 + 0.9·(−4.495)
      assertEquals(0.5 + 0.1 * 4.495 * 1.9, w(m), 1e-14);
    }
    try (SpecModel m = model(0.5)) {
      Optimizer sgd = Sgd.builder().lr(0.1).momentum(0.9).dampening(0.5).build();
      sgd.step(m.objective(BATCH)); // first step: buf = g (no dampening), w = 0.95
      assertEquals(0.95, w(m), 1e-15);
      sgd.step(m.objective(BATCH)); // g = −2.25; buf = 0.9·(−4.5) + 0.5·(−2.25) = −5.175
      assertEquals(0.95 + 0.5175, w(m), 1e-14);
    }
  }

  @Test
  void adamMatchesTwoHandComputedSteps() {
    try (SpecModel m = model(0.5)) {
      Optimizer adam = Adam.builder().lr(0.1).build();
      adam.step(m.objective(BATCH));
      // m = −0.45, v = 0.02025, m̂ = −4.5, sqrt(v̂) = 4.5: w = 0.5 + 0.1·4.5/(4.5 + 1e-8)
      assertEquals(0.5 + 0.1 * 4.5 / (4.5 + 1e-8), w(m), 1e-15);
      double w1 = w(m);
      adam.step(m.objective(BATCH));
      double g = 5 * w1 - 7;
      double mm = 0.9 * -0.45 + 0.1 * g;
      double vv = 0.999 * 0.02025 + 0.001 * g * g;
      double denom = Math.sqrt(vv) / Math.sqrt(1 - 0.999 * 0.999) + 1e-8;
      assertEquals(w1 - 0.1 / (1 - 0.81) * mm / denom, w(m), 1e-14);
    }
  }

  @Test
  void builderRejectsBadValuesNamingTheParameter() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Sgd.builder().lr(-1));
    assertTrue(e.getMessage().startsWith("lr:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Sgd.builder().momentum(1.5));
    assertTrue(e.getMessage().startsWith("momentum:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Sgd.builder().nesterov(true).build());
    assertTrue(e.getMessage().startsWith("nesterov:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Adam.builder().beta2(1.0));
    assertTrue(e.getMessage().startsWith("beta2:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Optimizers.create(new OptimizerSpec("sgd", Map.of("lr", -0.1))));
    assertTrue(e.getMessage().startsWith("optimizer.lr:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Optimizers.create(new OptimizerSpec("sgd", Map.of("learning_rate", 0.1))));
    assertTrue(e.getMessage().startsWith("optimizer.learning_rate:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Optimizers.create(OptimizerSpec.of("lbfgs")));
    assertTrue(e.getMessage().startsWith("optimizer.name:"), e.getMessage());
  }

  @Test
  void aNonFiniteGradientLeavesParametersAndStateUntouched() {
    try (SpecModel m = model(1e200)) {
      Optimizer sgd = Sgd.builder().lr(0.1).momentum(0.9).build();
      OptimizerState before = sgd.saveState();
      assertThrows(NonFiniteException.class, () -> sgd.step(m.objective(BATCH)));
      assertEquals(1e200, w(m));
      assertEquals(before, sgd.saveState());
    }
  }

  @Test
  void saveAndRestoreMidRunReproducesTheTrajectoryBitForBit() {
    for (String name : List.of("sgd", "adam")) {
      CaseFile c =
          BundledCases.load(name.equals("sgd") ? "mlp-tanh-sgd.json" : "mlp-batchnorm-adam.json");
      List<double[]> straight = new ArrayList<>();
      try (SpecModel m = SpecBackend.find("reference").build(c.model(), c.parameters(), c.dtype())) {
        Optimizer o = Optimizers.create(c.optimizer());
        for (int t = 0; t < 8; t++) {
          o.step(m.objective(c.batchForStep(t)));
          straight.add(m.parameters().toDoubleArray());
        }
      }
      try (SpecModel m = SpecBackend.find("reference").build(c.model(), c.parameters(), c.dtype())) {
        Optimizer o = Optimizers.create(c.optimizer());
        for (int t = 0; t < 4; t++) {
          o.step(m.objective(c.batchForStep(t)));
        }
        OptimizerState saved = o.saveState();
        Optimizer fresh = Optimizers.create(c.optimizer());
        fresh.restoreState(saved);
        assertEquals(saved, fresh.saveState(), "state survives a round trip before any step");
        for (int t = 4; t < 8; t++) {
          fresh.step(m.objective(c.batchForStep(t)));
          assertArrayEquals(straight.get(t), m.parameters().toDoubleArray(), name + " step " + t);
        }
      }
    }
  }
}
