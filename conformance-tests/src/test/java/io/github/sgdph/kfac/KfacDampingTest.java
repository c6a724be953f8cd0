package io.github.sgdph.kfac;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Kfac;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.OptimizerState;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.ReferenceAlgebra;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * KFAC's Levenberg–Marquardt damping adaptation (Martens and Grosse 2015, §6.5) on the reference
 * backend: the rule computed by hand on a one-unit network, the interval, and a bit-identical
 * resume.
 */
class KfacDampingTest {

  private static final double[] X = {1, 2};
  private static final double Y = 0.5;
  private static final double[] AT = {1, 2, 1};
  private static final double NORM2 = 6;

  /**
   * {@code a = tanh(w·x + b)}, MSE {@code L = (a − y)²}, one sample, empirical Fisher, t_cov =
   * t_inv = 1, no momentum or KL clipping, adaptation every step with ω = 0.9: by hand, {@code δ =
   * 2(a − y)(1 − a²)}, {@code g = δ ã}, {@code A = ã ãᵀ}, {@code G = δ²}, the step {@code Δ = −lr
   * δ ã / ((G + √λ/π)(|ã|² + π√λ))} (Sherman–Morrison, as in {@link KfacOptimizerTest}), the model {@code q = gᵀΔ + ½ · 2
   * ((1 − a²) ãᵀΔ)²} (the GGN is {@code Jᵀ 2 J}, {@code J = (1 − a²) ãᵀ}), {@code ρ = ((tanh(z
   * + ãᵀΔ) − y)² − L) / q} (NaN when {@code q ≥ 0}, as at the overshooting rates) and the rule on
   * it; the second step uses the adapted λ and the running
   * factor {@code G = (δ₁² + δ₂²)/2} (the second update's weight 1/2). Learning rates
   * from cautious to overshooting cover the three branches (asserted). Tolerances: ρ to 1e-9
   * (the loss difference cancels about two digits at the smallest rate), λ and θ to 1e-13
   * relative (a few roundings of O(1) numbers).
   */
  @Test
  void adaptationFollowsTheRuleByHand() {
    ModelSpec spec = new ModelSpec(new int[] {2}, List.of(new LayerSpec.Dense(2, 1, true),
        new LayerSpec.Activation(ActivationKind.TANH)), LossKind.MSE);
    double lambda0 = 0.01;
    double omega = 0.9;
    Set<String> branches = new HashSet<>();
    // at θ = (1, 0.5, 0), z = 2 on tanh's shoulder: ρ ≈ 1.30, 0.60, −7.1 and q > 0 (NaN)
    for (double lr : new double[] {0.05, 0.35, 0.5, 2.5}) {
      try (SpecModel model = KfacFixtures.build(spec, 1)) {
        double[] theta = {1, 0.5, 0};
        set(model, theta);
        ArrayBatch batch =
            new ArrayBatch(X, new int[] {1, 2}, new double[] {Y}, new int[] {1, 1});
        Kfac opt = Kfac.builder().lr(lr).momentum(0).damping(lambda0).klClip(0)
            .fisher(FisherType.EMPIRICAL).tCov(1).tInv(1).adaptDamping(true)
            .dampingInterval(1).dampingDecay(omega).build();
        double[] rho = new double[1];
        double delta1 = delta(theta);
        double lambda1 = handStep(theta, lr, lambda0, omega, delta1 * delta1, rho);
        opt.step(model.objective(batch));
        assertParameters(model, theta, "lr " + lr + " step 1");
        assertEquals(rho[0], opt.lastReductionRatio(), 1e-9, "ρ, lr " + lr);
        assertEquals(lambda1, opt.currentDamping(), 1e-13 * lambda1, "λ, lr " + lr);
        branches.add(lambda1 > lambda0 ? "up" : lambda1 < lambda0 ? "down" : "kept");
        double delta2 = delta(theta);
        handStep(theta, lr, lambda1, omega, (delta1 * delta1 + delta2 * delta2) / 2, rho);
        opt.step(model.objective(batch));
        assertParameters(model, theta, "lr " + lr + " step 2");
      }
    }
    assertEquals(Set.of("up", "down", "kept"), branches);
  }

  /** {@code dL/dz} at {@code theta}. */
  private static double delta(double[] theta) {
    double a = Math.tanh(theta[0] * X[0] + theta[1] * X[1] + theta[2]);
    return 2 * (a - Y) * (1 - a * a);
  }

  /**
   * One step by hand with the running gradient factor {@code gFactor}; updates {@code theta},
   * returns the next λ and stores ρ.
   */
  private static double handStep(double[] theta, double lr, double lambda, double omega,
      double gFactor, double[] rhoOut) {
    double z = theta[0] * X[0] + theta[1] * X[1] + theta[2];
    double a = Math.tanh(z);
    double loss = (a - Y) * (a - Y);
    double delta = 2 * (a - Y) * (1 - a * a);
    double pi = Math.sqrt((NORM2 / 3) / gFactor);
    double scale = 1 / ((gFactor + Math.sqrt(lambda) / pi)
        * (NORM2 + pi * Math.sqrt(lambda)));
    double gd = 0;
    double ad = 0;
    for (int j = 0; j < 3; j++) {
      double step = -lr * scale * delta * AT[j];
      gd += delta * AT[j] * step;
      ad += AT[j] * step;
      theta[j] += step;
    }
    double q = gd + (1 - a * a) * ad * (1 - a * a) * ad;
    double after = (Math.tanh(z + ad) - Y) * (Math.tanh(z + ad) - Y);
    // q >= 0: the model predicts no decrease, ρ is NaN and counts as bad
    double rho = q < 0 ? (after - loss) / q : Double.NaN;
    rhoOut[0] = rho;
    return rho > 0.75 ? omega * lambda : rho >= 0.25 ? lambda : lambda / omega;
  }

  /**
   * With damping_interval 3 the rule runs at steps 3, 6, ... only (ω₁ = 0.9³); damping_min and
   * damping_max bound it; the λ of a step (its report) is the one of its inverse.
   */
  @Test
  void intervalAndBounds() {
    ModelSpec spec = new ModelSpec(new int[] {2}, List.of(new LayerSpec.Dense(2, 1, true),
        new LayerSpec.Activation(ActivationKind.TANH)), LossKind.MSE);
    try (SpecModel model = KfacFixtures.build(spec, 1)) {
      set(model, new double[] {0.5, -0.5, 0.1});
      ArrayBatch batch = new ArrayBatch(X, new int[] {1, 2}, new double[] {Y}, new int[] {1, 1});
      Kfac opt = Kfac.builder().lr(6).momentum(0).damping(0.01).klClip(0)
          .fisher(FisherType.EMPIRICAL).tCov(1).tInv(1).adaptDamping(true)
          .dampingInterval(3).dampingDecay(0.9).dampingMin(0.008).dampingMax(0.012).build();
      opt.step(model.objective(batch));
      opt.step(model.objective(batch));
      assertEquals(0.01, opt.currentDamping(), 0.0);
      assertTrue(Double.isNaN(opt.lastReductionRatio()));
      assertEquals(0.01, opt.step(model.objective(batch)).damping(), 0.0);
      double rho = opt.lastReductionRatio();
      // 0.01 · 0.729 and 0.01 / 0.729 are clamped to damping_min 0.008 and damping_max 0.012
      double want = rho > 0.75 ? 0.008 : rho >= 0.25 ? 0.01 : 0.012;
      assertEquals(want, opt.currentDamping(), 0.0, "ρ " + rho);
      assertEquals(want, opt.step(model.objective(batch)).damping(), 0.0);
    }
  }

  /**
   * A BN MLP trained 6 steps with adaptation every 2 steps and t_inv 3, saved, restored into a
   * fresh optimizer on a copy of the parameters: the next 6 steps are bit-identical to the
   * uninterrupted run's, and λ moved (so the saved λ matters).
   */
  @Test
  void resumeIsBitIdentical() {
    ModelSpec spec = new ModelSpec(new int[] {6}, List.of(
        new LayerSpec.Dense(6, 8, true),
        new LayerSpec.BatchNorm(8, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
        new LayerSpec.Activation(ActivationKind.TANH),
        new LayerSpec.Dense(8, 3, true)), LossKind.SOFTMAX_CROSS_ENTROPY);
    List<ArrayBatch> batches = new ArrayList<>();
    SplittableRandom rnd = new SplittableRandom(5);
    for (int i = 0; i < 12; i++) {
      batches.add(RandomBatches.forSpec(spec, 16, rnd));
    }
    Map<String, Object> hp = Map.of("lr", 0.3, "momentum", 0.5, "damping", 0.05, "t_cov", 2,
        "t_inv", 3, "adapt_damping", true, "damping_interval", 2, "fisher", "mc");
    try (SpecModel a = KfacFixtures.build(spec, 3); SpecModel b = KfacFixtures.build(spec, 4)) {
      Kfac first = (Kfac) Optimizers.create(new OptimizerSpec("kfac", hp));
      for (int i = 0; i < 6; i++) {
        first.step(a.objective(batches.get(i)));
      }
      assertNotEquals(0.05, first.currentDamping(), "λ adapted in the first 6 steps");
      try (ParameterVector p = a.parameters()) {
        b.setParameters(p);
      }
      b.setRunningStatistics(a.runningStatistics());
      OptimizerState saved = first.saveState();
      Kfac second = (Kfac) Optimizers.create(new OptimizerSpec("kfac", hp));
      second.restoreState(saved);
      for (int i = 6; i < 12; i++) {
        first.step(a.objective(batches.get(i)));
        second.step(b.objective(batches.get(i)));
        try (ParameterVector pa = a.parameters(); ParameterVector pb = b.parameters()) {
          assertArrayEquals(pa.toDoubleArray(), pb.toDoubleArray(), "step " + (i + 1));
        }
        assertEquals(first.currentDamping(), second.currentDamping(), 0.0);
      }
      assertEquals(first.saveState(), second.saveState());
    }
  }

  @Test
  void badAdaptationSettingsAreRefusedByName() {
    for (Map.Entry<String, Object> bad : List.of(Map.entry("damping_interval", (Object) 0),
        Map.entry("damping_decay", (Object) 1.0), Map.entry("damping_decay", (Object) 0.0),
        Map.entry("damping_min", (Object) 0.0), Map.entry("damping_max", (Object) (-1.0)))) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Optimizers.create(new OptimizerSpec("kfac", Map.of(bad.getKey(), bad.getValue(),
              "adapt_damping", true))));
      assertTrue(e.getMessage().startsWith("optimizer." + bad.getKey() + ":"), e.getMessage());
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Optimizers.create(new OptimizerSpec("kfac", Map.of("damping_min", 1.0,
            "damping_max", 0.5))));
    assertTrue(e.getMessage().startsWith("optimizer.damping_min:"), e.getMessage());
  }

  private static void set(SpecModel model, double[] theta) {
    try (ParameterVector p = ParameterVector.fromArray(ReferenceAlgebra.INSTANCE,
        model.layout(), theta)) {
      model.setParameters(p);
    }
  }

  private static void assertParameters(SpecModel model, double[] want, String what) {
    try (ParameterVector p = model.parameters()) {
      double[] got = p.toDoubleArray();
      for (int j = 0; j < want.length; j++) {
        assertEquals(want[j], got[j], 1e-13 * Math.max(1, Math.abs(want[j])),
            what + ": θ[" + j + "]");
      }
    }
  }
}
