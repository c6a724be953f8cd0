package io.github.sgdph.benchmarks;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The standard curvature benchmark: a 784-256-256-10 ReLU MLP with softmax cross-entropy at
 * batch 128; per backend, the median of a gradient, a gradient plus a Hessian-vector product
 * (fresh forward pass each), and a gradient plus a GGN-vector product, with ratios to the
 * gradient.
 *
 * <p>Usage: {@code CurvatureBenchmark [backend [dtype [rounds]]]}, default
 * {@code reference float64 20}.
 */
public final class CurvatureBenchmark {
  private CurvatureBenchmark() {}

  /** The benchmark's model. */
  public static ModelSpec mlp() {
    return new ModelSpec(new int[] {784},
        List.of(new LayerSpec.Dense(784, 256, true), new LayerSpec.Activation(LayerSpec.ActivationKind.RELU),
            new LayerSpec.Dense(256, 256, true), new LayerSpec.Activation(LayerSpec.ActivationKind.RELU),
            new LayerSpec.Dense(256, 10, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  /** Runs the benchmark on a backend and returns the Markdown table. */
  public static String run(SpecBackend backend, DType dtype, int rounds) {
    ModelSpec spec = mlp();
    SplittableRandom rnd = new SplittableRandom(42);
    try (SpecModel model = backend.build(spec, DefaultInitializer.initialize(spec, rnd), dtype)) {
      ArrayBatch batch = RandomBatches.forSpec(spec, 128, rnd);
      Objective objective = model.objective(batch);
      ParameterVector v = ParameterVector.randomNormal(model.algebra(), model.layout(), rnd);
      RatioHarness h = new RatioHarness();
      h.add("gradient", () -> {
        try (Curvature c = objective.curvature(); ParameterVector g = c.gradient()) {
          sink(g.maxAbs());
        }
      });
      h.add("gradient + HVP", () -> {
        try (Curvature c = objective.curvature(); ParameterVector g = c.gradient();
            ParameterVector hv = c.hvp(v)) {
          sink(g.maxAbs() + hv.maxAbs());
        }
      });
      h.add("gradient + GGN-vector", () -> {
        try (Curvature c = objective.curvature(); ParameterVector g = c.gradient();
            ParameterVector gv = c.ggnvp(v)) {
          sink(g.maxAbs() + gv.maxAbs());
        }
      });
      String title = backend.name() + " " + dtype.jsonName() + ", 784-256-256-10 ReLU, batch 128";
      return RatioHarness.table(title, h.run(Math.max(3, rounds / 4), rounds));
    }
  }

  private static volatile double blackhole;

  private static void sink(double x) {
    blackhole = x;
  }

  /** Entry point. */
  public static void main(String[] args) {
    String name = args.length > 0 ? args[0] : "reference";
    DType dtype = args.length > 1 ? DType.parse(args[1]) : DType.FLOAT64;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
    System.out.println(run(SpecBackend.find(name), dtype, rounds));
  }
}
