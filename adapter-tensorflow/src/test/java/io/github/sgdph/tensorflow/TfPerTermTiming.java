package io.github.sgdph.tensorflow;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LayerSpec.Mode;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * A manual timing harness (not a test): what {@link TfCurvature#perTermGradients()} costs per
 * term against one gradient (one forward and one backward pass, one {@code Session.run}; timed
 * as {@value #N} gradients in a row, as the terms are) on train-mode batch-norm networks in
 * float32, batch {@value #N}, on the CPU: the interface's default (one
 * {@link Curvature#vjp} per term, each its own run) and the chunked graph with several chunk
 * sizes, all on one curvature in one JVM, interleaved round by round, medians over rounds. The
 * forward pass alone ({@code Objective.loss()}, which also uploads the batch) is timed too, so
 * that the backward pass is the difference. The first call of each chunk size (adding its
 * backward passes to the graph and TensorFlow's first run of them) is timed separately. Run
 * with the test classpath: {@code java -cp ... io.github.sgdph.tensorflow.TfPerTermTiming
 * [rounds]}.
 */
public final class TfPerTermTiming {
  private static final int N = 32;
  private static final int[] CHUNKS = {1, 4, 8, 16, 32};

  private TfPerTermTiming() {}

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 40;
    time("MLP 784-256-BN-ReLU-10", new ModelSpec(new int[] {784},
        List.of(new LayerSpec.Dense(784, 256, false),
            new LayerSpec.BatchNorm(256, 1e-5, 0.1, Mode.TRAIN),
            new LayerSpec.Activation(ActivationKind.RELU),
            new LayerSpec.Dense(256, 10, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY), rounds);
    time("CNN 1x28x28 conv8-BN-ReLU-max2-conv16-BN-ReLU-avg2-10", new ModelSpec(
        new int[] {1, 28, 28},
        List.of(new LayerSpec.Conv2d(1, 8, 3, 3, 1, 1, 1, 1, false),
            new LayerSpec.BatchNorm(8, 1e-5, 0.1, Mode.TRAIN),
            new LayerSpec.Activation(ActivationKind.RELU),
            new LayerSpec.Pool2d(LayerSpec.PoolKind.MAX, 2, 2, 2, 2),
            new LayerSpec.Conv2d(8, 16, 3, 3, 1, 1, 1, 1, false),
            new LayerSpec.BatchNorm(16, 1e-5, 0.1, Mode.TRAIN),
            new LayerSpec.Activation(ActivationKind.RELU),
            new LayerSpec.Pool2d(LayerSpec.PoolKind.AVG, 2, 2, 2, 2),
            new LayerSpec.Flatten(),
            new LayerSpec.Dense(16 * 7 * 7, 10, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY), rounds);
  }

  private static void time(String name, ModelSpec spec, int rounds) {
    SplittableRandom r = new SplittableRandom(5);
    try (SpecModel m = new TfBackend(TfDevice.CPU)
            .build(spec, DefaultInitializer.initialize(spec, r), DType.FLOAT32)) {
      ArrayBatch batch = RandomBatches.forSpec(spec, N, r);
      var objective = m.objective(batch);
      try (TfCurvature c = (TfCurvature) objective.curvature()) {
        Map<String, Supplier<List<ParameterVector>>> variants = new LinkedHashMap<>();
        variants.put("gradient (fwd+bwd)", () -> {
          List<ParameterVector> g = new ArrayList<>(N);
          for (int i = 0; i < N; i++) {
            g.add(c.gradient());
          }
          return g;
        });
        variants.put("forward only (loss)", () -> {
          for (int i = 0; i < N; i++) {
            objective.loss();
          }
          return List.of();
        });
        variants.put("default: one vjp per term",
            () -> TfPerTermGradientsTest.defaultPerTerm(c));
        System.out.printf("%n%s, %d parameters, float32, batch %d%n", name,
            m.layout().dimension(), N);
        for (int chunk : CHUNKS) {
          long t0 = System.nanoTime();
          run(() -> c.perTermGradients(chunk));
          System.out.printf("  chunk %2d: first call (graph + first run) %8.1f ms%n", chunk,
              (System.nanoTime() - t0) / 1e6);
          variants.put("chunk " + chunk, () -> c.perTermGradients(chunk));
        }
        Map<String, List<Double>> times = new LinkedHashMap<>();
        variants.keySet().forEach(k -> times.put(k, new ArrayList<>()));
        for (int round = -Math.max(3, rounds / 5); round < rounds; round++) {
          for (Map.Entry<String, Supplier<List<ParameterVector>>> v : variants.entrySet()) {
            long t0 = System.nanoTime();
            run(v.getValue());
            double ms = (System.nanoTime() - t0) / 1e6;
            if (round >= 0) {
              times.get(v.getKey()).add(ms);
            }
          }
        }
        double gradient = median(times.get("gradient (fwd+bwd)"));
        System.out.printf("  %-28s %10s %14s %14s%n", "variant (x" + N + ")", "median ms",
            "ms per term", "per term / grad");
        for (Map.Entry<String, List<Double>> e : times.entrySet()) {
          double ms = median(e.getValue());
          System.out.printf("  %-28s %10.3f %14.4f %14.3f%n", e.getKey(), ms, ms / N,
              ms / gradient);
        }
      }
    }
  }

  private static void run(Supplier<List<ParameterVector>> s) {
    s.get().forEach(ParameterVector::close);
  }

  private static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    s.sort(null);
    int k = s.size();
    return k % 2 == 1 ? s.get(k / 2) : (s.get(k / 2 - 1) + s.get(k / 2)) / 2;
  }
}
