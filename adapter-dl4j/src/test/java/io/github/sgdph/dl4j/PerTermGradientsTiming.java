package io.github.sgdph.dl4j;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A manual timing harness (not a test): the per-term gradients of a batch-norm MLP
 * 784-256-BN-relu-10 (softmax cross-entropy, train-mode batch norm, batch 32; then
 * 784-256-BN-relu-1000, batch 128) against one gradient, in one JVM, interleaved round by
 * round, medians over rounds:
 * <ul>
 *   <li>{@code gradient}: a curvature (forward pass) and its gradient (backward pass), what one
 *       gradient costs a caller;
 *   <li>{@code vjp}: one {@code Jᵀu} on a kept curvature (a backward pass alone);
 *   <li>{@code per-term}: {@link Dl4jCurvature#perTermGradients()} on a kept curvature, per term;
 *   <li>{@code default}: the interface's default (host seeds, one {@code vjp} per term) on the
 *       same curvature, per term.
 * </ul>
 * Run with the test classpath and {@code OMP_WAIT_POLICY=PASSIVE}:
 * {@code java -cp ... io.github.sgdph.dl4j.PerTermGradientsTiming [rounds] [float32|float64]}.
 *
 * <p>Measured on the 2-core build machine (shared, so medians of interleaved rounds), float32:
 * with 10 classes and batch 32, a gradient 2.26 ms, a backward pass 0.68 ms, a term 0.72 ms
 * (0.32 of a gradient, 1.05 of a backward pass) and the same by the default (1.01×); with 1000
 * classes and batch 128, a term 0.36-0.41 of a gradient and the default 1.6× slower per term
 * (its dense host seeds). float64, 10 classes: a term 0.34 of a gradient, the default 1.11×.
 */
public final class PerTermGradientsTiming {
  private PerTermGradientsTiming() {}

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    DType dtype = args.length > 1 ? DType.parse(args[1]) : DType.FLOAT32;
    run(dtype, 10, 32, rounds);
    // many classes and samples: the default's dense host seeds cost O(n k) per term
    run(dtype, 1000, 128, Math.max(5, rounds / 10));
  }

  private static void run(DType dtype, int classes, int n, int rounds) {
    ModelSpec spec = new ModelSpec(new int[] {784}, List.of(
        new LayerSpec.Dense(784, 256, true),
        new LayerSpec.BatchNorm(256, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
        new LayerSpec.Activation(LayerSpec.ActivationKind.RELU),
        new LayerSpec.Dense(256, classes, true)), LossKind.SOFTMAX_CROSS_ENTROPY);
    SplittableRandom rnd = new SplittableRandom(1);
    try (SpecModel m = new Dl4jBackend()
        .build(spec, DefaultInitializer.initialize(spec, rnd), dtype)) {
      Objective o = m.objective(RandomBatches.forSpec(spec, n, rnd));
      List<Double> gradient = new ArrayList<>();
      List<Double> vjp = new ArrayList<>();
      List<Double> perTerm = new ArrayList<>();
      List<Double> byDefault = new ArrayList<>();
      try (Curvature kept = o.curvature(); Tensor u = kept.outputGradient()) {
        for (int r = -Math.max(2, rounds / 5); r < rounds; r++) {
          long t0 = System.nanoTime();
          Curvature c = o.curvature();
          ParameterVector g = c.gradient();
          long t1 = System.nanoTime();
          ParameterVector back = kept.vjp(u);
          long t2 = System.nanoTime();
          List<ParameterVector> a = kept.perTermGradients();
          long t3 = System.nanoTime();
          List<ParameterVector> b = Curvature.perTermGradientsByVjp(kept);
          long t4 = System.nanoTime();
          check(g);
          check(back);
          check(a.get(n - 1));
          check(b.get(n - 1));
          g.close();
          c.close();
          back.close();
          a.forEach(ParameterVector::close);
          b.forEach(ParameterVector::close);
          if (r >= 0) {
            gradient.add((t1 - t0) / 1e3);
            vjp.add((t2 - t1) / 1e3);
            perTerm.add((t3 - t2) / 1e3 / n);
            byDefault.add((t4 - t3) / 1e3 / n);
          }
        }
      }
      System.out.printf(
          "%s 784-256-BN-relu-%d, batch %d, %d rounds (medians): gradient (forward + backward)"
              + " %.0f µs, vjp (backward) %.0f µs, per term %.0f µs, per term by the default"
              + " %.0f µs%n", dtype.jsonName(), classes, n, rounds, median(gradient),
          median(vjp), median(perTerm), median(byDefault));
      System.out.printf("  per term / gradient %.2f, per term / vjp %.2f, default / per term"
              + " %.2f%n", median(perTerm) / median(gradient), median(perTerm) / median(vjp),
          median(byDefault) / median(perTerm));
    }
  }

  private static void check(ParameterVector g) {
    if (!g.allFinite()) {
      throw new AssertionError("non-finite gradient");
    }
  }

  private static double median(List<Double> v) {
    double[] s = v.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
  }
}
