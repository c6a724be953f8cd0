package io.github.sgdph.tensorflow;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Native memory stays flat over optimizer steps, and over curvature products.
 *
 * <p><b>Optimizer steps</b> ({@link StepLeakCheck}): 2000 steps of SGD-PH and 2000 of SGN with 10
 * CG iterations a step (10 Gauss-Newton products and the line search's loss), in float32 and
 * float64, on a 16-32-batch-norm(train)-tanh-4 MLP of the neutral spec with a fresh batch of 8 each
 * step, after a warm-up (1000 SGD-PH or 200 SGN steps). Two child JVMs with Native Memory Tracking
 * run them at once, one per dtype. The frameworks' native memory ({@link NativeMemory}: resident
 * memory outside the Java heap minus the JVM's own; MB = 2^20 bytes) is read every 250 steps, 9
 * readings.
 *
 * <p><b>The limits</b>: the steady growth over the 2000 steps — the Theil–Sen slope of the readings
 * (the median of the slopes between every two of them) times 2000, which a leak sets and a
 * transient excursion barely moves — may be at most {@value #STEP_LIMIT_MB} MB; and no reading may
 * exceed the first by more than {@value #FLAT_MB} MB, the "flat within 20 MB". That 20 MB
 * alone would not catch a 10 MB leak: a leak of 5 KB a step (one 1280-value float32 tensor left
 * open each step) leaves 2000 × 5 KB = 9.8 MB after the 2000 steps, under 20 MB. Measured on a
 * 2-core machine shared with other builds, steady growth over 2000 steps, MB:
 *
 * <table>
 *   <caption>TensorFlow Java: steady growth over 2000 steps, MB</caption>
 *   <tr><th></th><th>SGD-PH f32</th><th>SGN f32</th><th>SGD-PH f64</th><th>SGN f64</th></tr>
 *   <tr><td>no leak, two runs</td>
 *       <td>0.1, 0.0</td><td>0.3, 0.1</td><td>0.3, 0.3</td><td>0.1, 0.2</td></tr>
 *   <tr><td>5 KB leaked a step (injected once)</td>
 *       <td>10.2</td><td>10.2</td><td>10.2</td><td>15.9</td></tr>
 * </table>
 *
 * <p>The step limit sits 4.7 MB above the largest clean growth and 5.2 MB below the smallest leaky
 * one; it catches a steady leak from about 3 KB a step. {@link
 * #theMeasureSeesTenMegabytesOfTensorFlowTensors()} checks in every run that the measure sees 9.8
 * MB held as 2000 TensorFlow tensors of 5 KB (measured 8.4–8.8 MB), so that it cannot go blind
 * unnoticed.
 *
 * <p>Cost: the two child JVMs take ~27 s (per dtype: SGN ~14 s, SGD-PH ~11 s, warm-up and readings
 * included; the log also gives the process CPU time).
 *
 * <p><b>Products</b>: every {@code Result}, fed tensor and product is released: the process's
 * resident memory (VmRSS) stays within 50 MB over 1000 products on a 784-64-10 network (51,000
 * parameters: leaking the products alone would add 200 MB), after a warm-up; and within 150 MB
 * over 300 rounds of per-term gradients, {@code ∂L/∂z} and {@code Jᵀu} on a 784-64-BN-10 network
 * at batch 32, after 300 rounds of warm-up (leaking the per-term gradients alone would add 2 GB;
 * without a leak, the resident memory of these rounds wanders within about 50 MB, the native
 * allocator keeping freed pages, and does not grow over 4000 rounds).
 */
class LeakTest {
  private static final Logger LOG = LoggerFactory.getLogger(LeakTest.class);
  /** The most the frameworks' native memory may grow steadily over 2000 optimizer steps, MB. */
  static final long STEP_LIMIT_MB = 5;
  /** The most any reading may exceed the first, MB (the "flat within 20 MB"). */
  static final long FLAT_MB = 20;

  private static Map<String, StepLeakCheck.Result> stepResults;
  private static RuntimeException stepFailure;

  /** The child JVMs' results, run once for all tests of this class. */
  private static synchronized Map<String, StepLeakCheck.Result> stepResults() {
    assumeTrue(NativeMemory.linux(), "the native-memory measure needs Linux's /proc/self/smaps");
    if (stepResults == null && stepFailure == null) {
      long t0 = System.nanoTime();
      try {
        stepResults = StepLeakCheck.fork(StepLeakCheck.allGroups());
      } catch (Exception e) {
        stepFailure = new IllegalStateException("the leak check's child JVMs failed", e);
      }
      LOG.info("child JVMs with every optimizer configuration and the calibration: {} s",
          Math.round((System.nanoTime() - t0) / 1e9));
    }
    if (stepFailure != null) {
      throw stepFailure;
    }
    return stepResults;
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"FLOAT32, SGD_PH", "FLOAT32, SGN", "FLOAT64, SGD_PH", "FLOAT64, SGN"})
  void optimizerStepsDoNotAccumulateNativeMemory(DType dtype, StepLeakCheck.Method method) {
    StepLeakCheck.Result r = stepResults().get(StepLeakCheck.key(dtype, method));
    LOG.info("{} {}: native memory over {} steps {}", dtype, method, StepLeakCheck.STEPS,
        r.describe());
    if (method == StepLeakCheck.Method.SGN) {
      assertTrue(r.cgIterations() >= 9.9 * StepLeakCheck.STEPS,
          "SGN steps make 10 CG iterations (a rare step stops early in float32 on a zero "
              + "residual or non-positive curvature) but made " + r.cgIterations());
    }
    assertTrue(r.steadyGrowth() <= STEP_LIMIT_MB << 20, dtype + " " + method + ": native memory "
        + r.describe() + " over " + StepLeakCheck.STEPS + " steps: steady growth above "
        + STEP_LIMIT_MB + " MB");
    assertTrue(r.excursion() <= FLAT_MB << 20, dtype + " " + method + ": native memory "
        + r.describe() + " over " + StepLeakCheck.STEPS + " steps: a reading more than "
        + FLAT_MB + " MB above the first");
    if (StepLeakCheck.COUNTER != null) {
      // an exact count (no noise): what it counts may not grow by more than 1 MB either
      assertTrue(r.counterGrowth() <= 1 << 20, dtype + " " + method + ": " + r.describe());
    }
  }

  /**
   * The measure is not blind: 2000 TensorFlow tensors of 5 KB held (9.8 MB, what a leak of 5 KB a
   * step leaves after 2000 steps) read as at least the limit plus 2 MB, so that such a leak,
   * read the same way, fails {@link #optimizerStepsDoNotAccumulateNativeMemory} even if the
   * run's own growth were -2 MB (measured: -0.2 MB at the least).
   */
  @Test
  void theMeasureSeesTenMegabytesOfTensorFlowTensors() {
    StepLeakCheck.Result r = stepResults().get(StepLeakCheck.CALIBRATION);
    LOG.info("calibration, 2000 TensorFlow tensors of 5 KB held: {}", r.describe());
    assertTrue(r.growth() >= (STEP_LIMIT_MB + 2) << 20,
        "2000 TensorFlow tensors of 5 KB: " + r.describe());
  }

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
