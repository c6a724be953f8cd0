package io.github.sgdph.dl4j;

import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.RandomBatches;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.Sgn;
import io.github.sgdph.tensor.DType;
import java.util.SplittableRandom;

/**
 * A stress harness (not a test) for the garbage-collection race of ND4J's legacy ops
 * ({@link Nd4jArrays#exec}): SGN steps on the leak check's model while another thread allocates
 * garbage without pause, so that young collections happen hundreds of times a second, some of
 * them while an op's arguments are built or its native call runs. Before the fix the JVM died
 * with a SIGSEGV in {@code sd::DataBuffer::primary()} within seconds to a minute. {@link GcRaceTest}
 * runs it; by hand, on the test class path with a small young generation:
 * {@code java -Xmx512m -XX:+UseSerialGC -Xmn1m -cp ... io.github.sgdph.dl4j.GcRaceStress FLOAT64
 * 1000000 600} (dtype, steps, seconds at most); it prints {@code OK} and the steps it made.
 */
public final class GcRaceStress {
  private GcRaceStress() {}

  /** The garbage the churn thread keeps making (read so that it is not optimised away). */
  static volatile Object sink;

  public static void main(String[] args) {
    DType dtype = DType.valueOf(args[0]);
    int steps = Integer.parseInt(args[1]);
    long seconds = Long.parseLong(args[2]);
    Thread churn = new Thread(() -> {
      while (true) {
        for (int i = 0; i < 1000; i++) {
          sink = new byte[1024];
        }
        Thread.onSpinWait();
      }
    }, "gc-churn");
    churn.setDaemon(true);
    churn.start();
    ModelSpec spec = io.github.sgdph.conformance.LeakCheck.mlp();
    SplittableRandom rnd = new SplittableRandom(7);
    long t0 = System.nanoTime();
    int done = 0;
    try (SpecModel model =
        new Dl4jBackend().build(spec, DefaultInitializer.initialize(spec, rnd), dtype)) {
      Optimizer opt = Sgn.builder().rho(1).maxCgIters(10).cgTol(0).build();
      for (; done < steps && System.nanoTime() - t0 < seconds * 1_000_000_000L; done++) {
        opt.step(model.objective(RandomBatches.forSpec(spec, 8, rnd)));
      }
    }
    System.out.printf("OK %d steps in %.0f s%n", done, (System.nanoTime() - t0) / 1e9);
  }
}
