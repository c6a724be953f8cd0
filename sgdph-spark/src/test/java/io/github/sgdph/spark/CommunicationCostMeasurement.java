package io.github.sgdph.spark;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.Optimizer;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.ReferenceBackend;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * BENCHMARKS.md, "Data-parallel curvature on Spark": bytes moved and time per CG iteration (one
 * GGN-vector product) and per SGN step against the model size, on {@code local[4,2]}, next to
 * the same products on one machine. Minutes of work on a 2-core machine: runs only with {@code
 * -Dsgdph.spark.bench=true} (skipped, saying so, otherwise).
 *
 * <pre>
 * ./mvnw -B -o -pl sgdph-spark -am test -Dtest=CommunicationCostMeasurement \
 *     -Dsurefire.failIfNoSpecifiedTests=false -Dsgdph.spark.bench=true
 * </pre>
 */
class CommunicationCostMeasurement {
  private static final Logger LOG = LoggerFactory.getLogger(CommunicationCostMeasurement.class);
  static final int N = 128;
  static final int PRODUCTS = 5;

  static ModelSpec mlp(int width) {
    return new ModelSpec(new int[] {784},
        List.of(new LayerSpec.Dense(784, width, true),
            new LayerSpec.Activation(LayerSpec.ActivationKind.TANH),
            new LayerSpec.Dense(width, 10, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  static ArrayDataset data() {
    SplittableRandom r = new SplittableRandom(1);
    double[] x = new double[N * 784];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextGaussian();
    }
    double[] y = new double[N];
    for (int i = 0; i < N; i++) {
      y[i] = r.nextInt(10);
    }
    return new ArrayDataset("gaussian", x, new int[] {784}, y, new int[0]);
  }

  /** Seconds per GGN product at the curvature {@code c} (after two warm-up products). */
  static double perProduct(Curvature c, ParameterVector v) {
    for (int i = 0; i < 2; i++) {
      c.ggnvp(v).close();
    }
    long t0 = System.nanoTime();
    for (int i = 0; i < PRODUCTS; i++) {
      c.ggnvp(v).close();
    }
    return (System.nanoTime() - t0) * 1e-9 / PRODUCTS;
  }

  static double sgnStep(Objective o) {
    Optimizer opt = Optimizers.create(new OptimizerSpec("sgn", Map.of("max_cg_iters", 10)));
    long t0 = System.nanoTime();
    opt.step(o);
    return (System.nanoTime() - t0) * 1e-9;
  }

  @Test
  void measure() {
    assumeTrue(Boolean.getBoolean("sgdph.spark.bench"),
        "a measurement of minutes: run with -Dsgdph.spark.bench=true");
    ArrayDataset data = data();
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
        "%n| parameters | partitions | one machine: s per product | Spark: s per product |"
            + " bytes per product (bcast + results) | one machine: s per SGN step |"
            + " Spark: s per SGN step | jobs per step | bytes per step |%n"
            + "|---|---|---|---|---|---|---|---|---|%n"));
    for (int width : new int[] {16, 128, 512, 2048}) {
      ModelSpec spec = mlp(width);
      List<NamedArray> init = DefaultInitializer.initialize(spec, new SplittableRandom(0));
      double oneProduct;
      double oneStep;
      long d;
      try (SpecModel one = new ReferenceBackend().build(spec, init, DType.FLOAT64)) {
        d = one.layout().dimension();
        Objective o = one.objective(data.batch(SparkTests.range(N)));
        try (Curvature c = o.curvature();
            ParameterVector v = ParameterVector.randomNormal(one.algebra(), one.layout(),
                new SplittableRandom(2))) {
          oneProduct = perProduct(c, v);
        }
        oneStep = sgnStep(o);
      }
      for (int partitions : new int[] {2, 4}) {
        try (SparkDataset ds = SparkDataset.distribute(SparkTests.context(), data, partitions);
            SparkModel m = SparkModel.builder().dataset(ds).spec(spec).parameters(init)
                .build()) {
          Objective o = m.objective();
          double product;
          CommunicationStats before;
          CommunicationStats afterProducts;
          try (Curvature c = o.curvature();
              ParameterVector v = ParameterVector.randomNormal(m.algebra(), m.layout(),
                  new SplittableRandom(2))) {
            c.ggnvp(v).close();
            before = m.stats();
            product = perProduct(c, v);
            afterProducts = m.stats();
          }
          CommunicationStats p = afterProducts.minus(before);
          long bytesPerProduct = (p.broadcastBytes() + p.resultBytes()) / (PRODUCTS + 2);
          CommunicationStats s0 = m.stats();
          double step = sgnStep(o);
          CommunicationStats s = m.stats().minus(s0);
          table.append(String.format(Locale.ROOT,
              "| %,d | %d | %.4f | %.4f | %,d | %.3f | %.3f | %d | %,d |%n", d, partitions,
              oneProduct, product, bytesPerProduct, oneStep, step, s.jobs(),
              s.broadcastBytes() + s.resultBytes()));
        }
      }
      LOG.info("width {} done", width);
    }
    LOG.info("communication cost on {} ({} samples):{}", SparkTests.context().master(), N,
        table);
  }

  /** 784 → width → train-mode batch norm → tanh → 10, softmax cross-entropy. */
  static ModelSpec batchNormMlp(int width) {
    return new ModelSpec(new int[] {784},
        List.of(new LayerSpec.Dense(784, width, true),
            new LayerSpec.BatchNorm(width, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
            new LayerSpec.Activation(LayerSpec.ActivationKind.TANH),
            new LayerSpec.Dense(width, 10, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  /**
   * BENCHMARKS.md, synchronised batch norm: per GGN and Hessian product, the barrier rounds and
   * the bytes the tasks send in them, and the time against per-partition statistics.
   */
  @Test
  void measureSynchronizedBatchNorm() {
    assumeTrue(Boolean.getBoolean("sgdph.spark.bench"),
        "a measurement of minutes: run with -Dsgdph.spark.bench=true");
    ArrayDataset data = data();
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
        "%n| BN channels | partitions | statistics | s per Gv | s per Hv | rounds per Gv |"
            + " rounds per Hv | bytes sent per Gv (all tasks) | bytes sent per Hv |%n"
            + "|---|---|---|---|---|---|---|---|---|%n"));
    for (int width : new int[] {64, 512}) {
      ModelSpec spec = batchNormMlp(width);
      List<NamedArray> init = DefaultInitializer.initialize(spec, new SplittableRandom(0));
      for (int partitions : new int[] {2, 4}) {
        for (BatchNormStatistics mode : BatchNormStatistics.values()) {
          try (SparkDataset ds = SparkDataset.distribute(SparkTests.context(), data, partitions);
              SparkModel m = SparkModel.builder().dataset(ds).spec(spec).parameters(init)
                  .batchNorm(mode).build();
              Curvature c = m.objective().curvature();
              ParameterVector v = ParameterVector.randomNormal(m.algebra(), m.layout(),
                  new SplittableRandom(2))) {
            double[] sec = new double[2];
            long[] rounds = new long[2];
            long[] bytes = new long[2];
            for (int k = 0; k < 2; k++) {
              boolean hv = k == 1;
              (hv ? c.hvp(v) : c.ggnvp(v)).close(); // warm-up (and the backward pass for Hv)
              long r0 = Barrier.ROUNDS.get();
              long b0 = Barrier.BYTES_SENT.get();
              long t0 = System.nanoTime();
              for (int i = 0; i < PRODUCTS; i++) {
                (hv ? c.hvp(v) : c.ggnvp(v)).close();
              }
              sec[k] = (System.nanoTime() - t0) * 1e-9 / PRODUCTS;
              rounds[k] = (Barrier.ROUNDS.get() - r0) / PRODUCTS / partitions;
              bytes[k] = (Barrier.BYTES_SENT.get() - b0) / PRODUCTS;
            }
            table.append(String.format(Locale.ROOT,
                "| %d | %d | %s | %.4f | %.4f | %d | %d | %,d | %,d |%n", width, partitions,
                mode.name().toLowerCase(Locale.ROOT), sec[0], sec[1], rounds[0], rounds[1],
                bytes[0], bytes[1]));
          }
        }
      }
    }
    LOG.info("synchronised batch norm on {} ({} samples):{}", SparkTests.context().master(), N,
        table);
  }
}
