package io.github.sgdph.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Sgd;
import io.github.sgdph.tensor.DType;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The baseline of {@code sgdph bench} is the same computation as sgdph's SGD step: on each
 * framework, two native steps and two sgdph SGD steps (momentum 0.9, so that the momentum
 * buffers' semantics are compared too) from the same parameters on the same batch move every
 * parameter tensor alike, to rounding, in float32 and float64. Untimed; a batch of 16 keeps it
 * short.
 */
class NativeEquivalenceTest {
  private static final double LR = 0.05;
  private static final double MOMENTUM = 0.9;

  @ParameterizedTest(name = "{0} {1} {2}")
  @CsvSource({"djl, MLP, float32", "djl, CNN, float32", "djl, MLP, float64",
      "djl, CNN, float64", "tensorflow, MLP, float32", "tensorflow, CNN, float32",
      "tensorflow, MLP, float64", "tensorflow, CNN, float64", "dl4j, MLP, float32",
      "dl4j, CNN, float32", "dl4j, MLP, float64", "dl4j, CNN, float64"})
  void nativeSgdStepsEqualSgdphSgdSteps(String backend, BenchModels which, String dtypeName) {
    DType dtype = DType.parse(dtypeName);
    ModelSpec spec = which.spec();
    SplittableRandom rnd = new SplittableRandom(7);
    List<NamedArray> init = DefaultInitializer.initialize(spec, rnd);
    ArrayBatch batch = RandomBatches.forSpec(spec, 16, rnd);
    Map<String, double[]> before = new HashMap<>();
    init.forEach(a -> before.put(a.name(), a.values()));

    Map<String, double[]> nat;
    boolean nesterov;
    try (NativeStep n = NativeStep.create(backend, spec, init, batch, dtype, LR,
        MOMENTUM)) {
      n.step();
      n.step();
      nat = n.trainableParameters();
      nesterov = n.nesterov();
    }
    Map<String, double[]> ours = new HashMap<>();
    try (SpecModel m = SpecBackend.find(backend).build(spec, init, dtype)) {
      Sgd sgd = Sgd.builder().lr(LR).momentum(MOMENTUM).nesterov(nesterov).build();
      var objective = m.objective(batch);
      sgd.step(objective);
      sgd.step(objective);
      m.exportParameters().stream().filter(NamedArray::trainable)
          .forEach(a -> ours.put(a.name(), a.values()));
    }

    assertEquals(ours.keySet(), nat.keySet(), "the same trainable tensors");
    double scale = 0;
    for (Map.Entry<String, double[]> e : ours.entrySet()) {
      double[] b = before.get(e.getKey());
      for (int i = 0; i < b.length; i++) {
        scale = Math.max(scale, Math.abs(e.getValue()[i] - b[i]));
      }
    }
    assertTrue(scale > 1e-4, "the steps move the parameters: " + scale);
    for (Map.Entry<String, double[]> e : ours.entrySet()) {
      double[] b = before.get(e.getKey());
      double[] o = e.getValue();
      double[] t = nat.get(e.getKey());
      assertEquals(o.length, t.length, e.getKey());
      double err = 0;
      for (int i = 0; i < o.length; i++) {
        err = Math.max(err, Math.abs((t[i] - b[i]) - (o[i] - b[i])));
      }
      // the updates agree to rounding: a small fraction of the largest update (seen: float32
      // 3e-6, float64 1e-8 — DJL and TensorFlow round batch norm's ε differently)
      double tolerance = dtype == DType.FLOAT32 ? 1e-4 : 1e-6;
      assertTrue(err <= tolerance * scale, backend + " " + which + " " + dtype + " " + e.getKey()
          + ": the native update differs from sgdph's by " + err + " (largest update " + scale
          + ")");
    }
  }
}
