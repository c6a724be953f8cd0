package io.github.sgdph.spark;

import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.param.ParameterVector;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The one Spark context of the test JVM and small fixtures. The master is {@code local[4,2]}: four
 * executor threads (a barrier stage of synchronised batch norm needs a slot per partition, and
 * the tests use up to 4), and a task may fail once and be retried (Spark's {@code local[N,F]};
 * plain {@code local[4]} never retries), which the fault tests need.
 */
final class SparkTests {
  private SparkTests() {}

  private static JavaSparkContext sc;

  static synchronized JavaSparkContext context() {
    if (sc == null) {
      SparkConf conf = new SparkConf()
          .setMaster("local[4,2]")
          .setAppName("sgdph-spark-tests")
          .set("spark.ui.enabled", "false")
          .set("spark.driver.bindAddress", "127.0.0.1")
          .set("spark.driver.host", "127.0.0.1")
          .set("spark.ui.showConsoleProgress", "false");
      sc = new JavaSparkContext(conf);
      sc.setLogLevel("WARN");
      Runtime.getRuntime().addShutdownHook(new Thread(sc::stop));
    }
    return sc;
  }

  static LayerSpec dense(int in, int out) {
    return new LayerSpec.Dense(in, out, true);
  }

  /** 6 → 8 tanh → 4 softmax cross-entropy: 92 parameters, no batch norm. */
  static ModelSpec mlp() {
    return new ModelSpec(new int[] {6},
        List.of(dense(6, 8), new LayerSpec.Activation(LayerSpec.ActivationKind.TANH),
            dense(8, 4)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  /** 6 → 8 → train-mode batch norm → relu → 3, MSE. */
  static ModelSpec batchNormMlp() {
    return new ModelSpec(new int[] {6},
        List.of(dense(6, 8), new LayerSpec.BatchNorm(8, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
            new LayerSpec.Activation(LayerSpec.ActivationKind.RELU), dense(8, 3)),
        LossKind.MSE);
  }

  /** {@code n} Gaussian inputs of 6 features, class labels in [0, 4) (or 3 targets for MSE). */
  static ArrayDataset data(int n, long seed, boolean regression) {
    SplittableRandom r = new SplittableRandom(seed);
    double[] x = new double[n * 6];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextGaussian();
    }
    if (regression) {
      double[] y = new double[n * 3];
      for (int i = 0; i < y.length; i++) {
        y[i] = r.nextGaussian();
      }
      return new ArrayDataset("gaussian", x, new int[] {6}, y, new int[] {3});
    }
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      y[i] = r.nextInt(4);
    }
    return new ArrayDataset("gaussian", x, new int[] {6}, y, new int[0]);
  }

  static int[] range(int n) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    return p;
  }

  /** {@code max|a − b| / max|b|} (0 for equal zero vectors). */
  static double relative(double[] a, double[] b) {
    if (a.length != b.length) {
      throw new AssertionError("lengths " + a.length + " and " + b.length);
    }
    double d = 0;
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
      m = Math.max(m, Math.abs(b[i]));
    }
    return m == 0 ? d : d / m;
  }

  static double relative(ParameterVector a, ParameterVector b) {
    return relative(a.toDoubleArray(), b.toDoubleArray());
  }

  static double relative(double a, double b) {
    return Math.abs(a - b) / Math.max(Math.abs(b), Double.MIN_NORMAL);
  }
}
