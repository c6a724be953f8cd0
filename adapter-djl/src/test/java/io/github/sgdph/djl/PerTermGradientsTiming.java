package io.github.sgdph.djl;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A manual timing harness (not a test): what a per-term gradient costs against one gradient
 * backward pass, on the spec model {@code 784 → 256 → batch norm (train) → relu → 10}, softmax
 * cross-entropy, float32, batch 32 (by default), in one JVM, variants interleaved round by
 * round, medians over rounds. Every variant starts from a fresh curvature (its forward pass not
 * timed, except in "forward pass"):
 *
 * <ul>
 *   <li>forward pass: making the curvature ({@link GradientGraph#PLAIN});
 *   <li>gradient backward: {@link Curvature#gradient()} (loss and network backward);
 *   <li>one vjp: {@link Curvature#vjp} of a random {@code u} (network backward);
 *   <li>n vjps, each closed: {@code n} of them, each result closed at once, divided by {@code n}
 *       (what a term would cost if its result did not have to stay alive);
 *   <li>per term: {@link DjlCurvature#perTermGradients()} divided by the batch size;
 *   <li>per term, default: the interface's default construction over the same {@code
 *       outputGradient} and {@code vjp} (seeds made on the host), divided by the batch size.
 * </ul>
 *
 * Run with the test classpath, on one thread (PyTorch's spinning OpenMP threads on a shared
 * machine inflate every time tenfold): {@code OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE java -cp
 * ... io.github.sgdph.djl.PerTermGradientsTiming [rounds [batch]]}.
 */
public final class PerTermGradientsTiming {
  private PerTermGradientsTiming() {}

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    int n = args.length > 1 ? Integer.parseInt(args[1]) : 32;
    ModelSpec spec = new ModelSpec(new int[] {784},
        List.of(new LayerSpec.Dense(784, 256, true),
            new LayerSpec.BatchNorm(256, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
            new LayerSpec.Activation(LayerSpec.ActivationKind.RELU),
            new LayerSpec.Dense(256, 10, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
    SplittableRandom r = new SplittableRandom(1);
    DjlBackend backend = new DjlBackend(
        DjlOptions.builder().gradientGraph(GradientGraph.PLAIN).build());
    try (DjlSpecModel m = backend.build(spec, DefaultInitializer.initialize(spec, r),
        DType.FLOAT32)) {
      ArrayBatch batch = RandomBatches.forSpec(spec, n, r);
      DjlObjective o = m.objective(batch);
      double[] uh = new double[n * 10];
      for (int i = 0; i < uh.length; i++) {
        uh[i] = r.nextGaussian();
      }
      Map<String, List<Double>> times = new LinkedHashMap<>();
      for (String k : List.of("forward pass", "gradient backward", "one vjp",
          "n vjps, each closed", "per term", "per term, default")) {
        times.put(k, new ArrayList<>());
      }
      try (Tensor u = m.algebra().fromArray(uh, n, 10)) {
        for (int round = -rounds / 5; round < rounds; round++) {
          boolean keep = round >= 0;
          long t0 = System.nanoTime();
          try (DjlCurvature c = o.curvature()) {
            record(times, "forward pass", t0, 1, keep);
            t0 = System.nanoTime();
            c.gradient().close();
            record(times, "gradient backward", t0, 1, keep);
          }
          try (DjlCurvature c = o.curvature()) {
            t0 = System.nanoTime();
            c.vjp(u).close();
            record(times, "one vjp", t0, 1, keep);
          }
          try (DjlCurvature c = o.curvature()) {
            t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
              c.vjp(u).close();
            }
            record(times, "n vjps, each closed", t0, n, keep);
          }
          try (DjlCurvature c = o.curvature()) {
            t0 = System.nanoTime();
            List<ParameterVector> per = c.perTermGradients();
            record(times, "per term", t0, n, keep);
            per.forEach(ParameterVector::close);
          }
          try (DjlCurvature c = o.curvature()) {
            t0 = System.nanoTime();
            List<ParameterVector> per = PerTermGradientsTest.viaDefault(c);
            record(times, "per term, default", t0, n, keep);
            per.forEach(ParameterVector::close);
          }
        }
      }
      System.out.printf("784-256-BN-10, float32, batch %d, %d rounds%n", n, rounds);
      System.out.printf("%-22s %10s%n", "variant", "median ms");
      for (Map.Entry<String, List<Double>> e : times.entrySet()) {
        System.out.printf("%-22s %10.4f%n", e.getKey(), median(e.getValue()));
      }
      double g = median(times.get("gradient backward"));
      System.out.printf("per term / gradient backward: %.3f; default per term / gradient"
              + " backward: %.3f; one vjp / gradient backward: %.3f%n",
          median(times.get("per term")) / g, median(times.get("per term, default")) / g,
          median(times.get("one vjp")) / g);
    }
  }

  private static void record(
      Map<String, List<Double>> times, String key, long t0, int per, boolean keep) {
    double ms = (System.nanoTime() - t0) / 1e6 / per;
    if (keep) {
      times.get(key).add(ms);
    }
  }

  private static double median(List<Double> v) {
    double[] s = v.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
  }
}
