package io.github.sgdph.reference;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A manual timing harness (not a test): median wall time of one gradient and of one
 * gradient + Hessian-vector product for a 784-256-256-10 MLP, batch 128, softmax
 * cross-entropy. Run with the test classpath: {@code java -cp ... ReferenceTiming [reps]}.
 */
public final class ReferenceTiming {
  private ReferenceTiming() {}

  static double median(double[] t) {
    double[] s = t.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
  }

  public static void main(String[] args) {
    int reps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    for (ActivationKind act : List.of(ActivationKind.TANH, ActivationKind.RELU)) {
      ModelSpec spec =
          new ModelSpec(
              new int[] {784},
              List.of(
                  new LayerSpec.Dense(784, 256, true), new LayerSpec.Activation(act),
                  new LayerSpec.Dense(256, 256, true), new LayerSpec.Activation(act),
                  new LayerSpec.Dense(256, 10, true)),
              LossKind.SOFTMAX_CROSS_ENTROPY);
      ReferenceModel m =
          new ReferenceBackend()
              .build(spec, DefaultInitializer.initialize(spec, new SplittableRandom(1)),
                  DType.FLOAT64);
      ArrayBatch b = RandomBatches.forSpec(spec, 128, new SplittableRandom(2));
      ReferenceObjective o = m.objective(b);
      ParameterVector v =
          ParameterVector.randomNormal(ReferenceAlgebra.INSTANCE, m.layout(), new SplittableRandom(3));
      double[] grad = new double[reps];
      double[] gradHvp = new double[reps];
      double[] hvpOnly = new double[reps];
      double[] ggnOnly = new double[reps];
      double sink = 0;
      for (int r = -5; r < reps; r++) { // 5 warm-up rounds
        long t0 = System.nanoTime();
        try (ReferenceCurvature c = o.curvature()) {
          sink += c.gradient().norm();
        }
        long t1 = System.nanoTime();
        long t3;
        long t4;
        try (ReferenceCurvature c = o.curvature()) {
          sink += c.gradient().norm();
          sink += c.hvp(v).norm();
          t3 = System.nanoTime();
          sink += c.hvp(v).norm();
          t4 = System.nanoTime();
          sink += c.ggnvp(v).norm();
        }
        long t5 = System.nanoTime();
        if (r >= 0) {
          grad[r] = (t1 - t0) / 1e6;
          gradHvp[r] = (t3 - t1) / 1e6;
          hvpOnly[r] = (t4 - t3) / 1e6;
          ggnOnly[r] = (t5 - t4) / 1e6;
        }
      }
      System.out.printf(
          "784-256-256-10 %s, batch 128, CE, %d reps: gradient (forward+backward) %.1f ms;"
              + " gradient+HVP %.1f ms; one more HVP %.1f ms; one GGNVP %.1f ms (check %.3e)%n",
          act.jsonName(), reps, median(grad), median(gradHvp), median(hvpOnly), median(ggnOnly),
          sink);
    }
  }
}
