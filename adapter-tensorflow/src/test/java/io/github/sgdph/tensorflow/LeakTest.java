package io.github.sgdph.tensorflow;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.data.RandomBatches;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every {@code Result}, fed tensor and product is released: the process's resident memory
 * (VmRSS) stays within 50 MB over 1000 products on a 784-64-10 network (51,000 parameters:
 * leaking the products alone would add 200 MB), after a warm-up; and within 150 MB over 300
 * rounds of per-term gradients, {@code ∂L/∂z} and {@code Jᵀu} on a 784-64-BN-10 network at
 * batch 32, after 300 rounds of warm-up (leaking the per-term gradients alone would add 2 GB;
 * without a leak, the resident memory of these rounds wanders within about 50 MB, the native
 * allocator keeping freed pages, and does not grow over 4000 rounds).
 */
class LeakTest {
  private static final Logger LOG = LoggerFactory.getLogger(LeakTest.class);

  static long rssKb() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }

  @Test
  void required_memoryStaysFlatOver1000Products() throws IOException {
    ModelSpec spec = new ModelSpec(new int[] {784},
        List.of(new LayerSpec.Dense(784, 64, true),
            new LayerSpec.Activation(LayerSpec.ActivationKind.TANH),
            new LayerSpec.Dense(64, 10, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
    SplittableRandom rnd = new SplittableRandom(3);
    try (SpecModel model = new TfBackend(TfDevice.CPU)
        .build(spec, DefaultInitializer.initialize(spec, rnd), DType.FLOAT32)) {
      ArrayBatch batch = RandomBatches.forSpec(spec, 32, rnd);
      Objective objective = model.objective(batch);
      ParameterVector v = ParameterVector.randomNormal(model.algebra(), model.layout(), rnd);
      v.scale(1e-3 / v.norm());
      run(objective, v, 200);
      System.gc();
      long before = rssKb();
      long t0 = System.nanoTime();
      run(objective, v, 1000);
      System.gc();
      long after = rssKb();
      double seconds = (System.nanoTime() - t0) / 1e9;
      LOG.info("VmRSS {} MB -> {} MB over 1000 products ({} s)", before / 1024, after / 1024,
          String.format("%.1f", seconds));
      assertTrue(after - before < 50 * 1024,
          "resident memory grew by " + (after - before) / 1024 + " MB over 1000 products");
      v.close();
    }
  }

  @Test
  void required_memoryStaysFlatOverPerTermGradients() throws IOException {
    ModelSpec spec = new ModelSpec(new int[] {784},
        List.of(new LayerSpec.Dense(784, 64, false),
            new LayerSpec.BatchNorm(64, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
            new LayerSpec.Activation(LayerSpec.ActivationKind.TANH),
            new LayerSpec.Dense(64, 10, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
    SplittableRandom rnd = new SplittableRandom(4);
    try (SpecModel model = new TfBackend(TfDevice.CPU)
        .build(spec, DefaultInitializer.initialize(spec, rnd), DType.FLOAT32)) {
      ArrayBatch batch = RandomBatches.forSpec(spec, 32, rnd);
      Objective objective = model.objective(batch);
      ParameterVector v = ParameterVector.randomNormal(model.algebra(), model.layout(), rnd);
      v.scale(1e-3 / v.norm());
      runPerTerm(objective, v, 300);
      System.gc();
      long before = rssKb();
      long t0 = System.nanoTime();
      runPerTerm(objective, v, 300);
      System.gc();
      long after = rssKb();
      double seconds = (System.nanoTime() - t0) / 1e9;
      LOG.info("VmRSS {} MB -> {} MB over 300 rounds of per-term gradients ({} s)",
          before / 1024, after / 1024, String.format("%.1f", seconds));
      assertTrue(after - before < 150 * 1024,
          "resident memory grew by " + (after - before) / 1024 + " MB over 300 rounds");
      v.close();
    }
  }

  /**
   * {@code n} rounds of per-term gradients, {@code ∂L/∂z} and {@code Jᵀu}, a new curvature
   * and an update every 20.
   */
  private static void runPerTerm(Objective objective, ParameterVector v, int n) {
    Curvature c = objective.curvature();
    for (int i = 0; i < n; i++) {
      if (i % 20 == 19) {
        c.close();
        objective.applyUpdate(v, (i % 40 == 19) ? 1.0 : -1.0);
        c = objective.curvature();
      }
      c.perTermGradients().forEach(ParameterVector::close);
      try (Tensor dz = c.outputGradient()) {
        c.vjp(dz).close();
      }
    }
    c.close();
  }

  /** {@code n} products (HVP, GGN, JVP, gradient in turn), a new curvature every 50, updates. */
  private static void run(Objective objective, ParameterVector v, int n) {
    Curvature c = objective.curvature();
    for (int i = 0; i < n; i++) {
      if (i % 50 == 49) {
        c.close();
        objective.applyUpdate(v, (i % 100 == 49) ? 1.0 : -1.0);
        objective.lossAt(v, 0.5);
        c = objective.curvature();
      }
      switch (i % 4) {
        case 0 -> c.hvp(v).close();
        case 1 -> c.ggnvp(v).close();
        case 2 -> {
          Tensor jv = c.jvp(v);
          jv.close();
        }
        default -> c.gradient().close();
      }
    }
    c.close();
  }
}
