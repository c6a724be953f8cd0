package io.github.sgdph.spark;

import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.data.Normalization;
import io.github.sgdph.io.FashionMnist;
import io.github.sgdph.model.BuiltInModels;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.train.EpochResult;
import io.github.sgdph.train.TrainingListener;
import io.github.sgdph.train.TrainingReport;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Trains a built-in model on Fashion-MNIST with the training set partitioned over a Spark cluster
 * (SGN by default): the {@code spark-submit} entry point of this module (docs/SPARK.md).
 *
 * <pre>
 * spark-submit --class io.github.sgdph.spark.SparkTrain sgdph-spark-app.jar \
 *     [--master URL] [--partitions P] [--model mlp|cnn|autoencoder] [--optimizer sgn|...]
 *     [--hp KEY=VALUE ...] [--epochs E] [--batch B] [--curvature-batch N] [--seed S]
 *     [--backend reference|djl|tensorflow|dl4j] [--dtype float32|float64] [--fan-in F]
 *     [--batch-norm-statistics per-partition|synchronized]
 *     [--data-dir DIR] [--limit N] [--test-limit N] [--verbose]
 * </pre>
 *
 * One line per epoch on standard output (train loss, test loss and accuracy, seconds) and the
 * communication totals. Exit codes: 0 done, 1 stopped on a non-finite step, 2 bad options.
 */
public final class SparkTrain {
  private SparkTrain() {}

  /**
   * Runs the program and exits with its code.
   *
   * @param args the options above
   */
  public static void main(String[] args) {
    // quiet by default: unless Log4j 2 (Spark's logging) is configured, or --verbose, only
    // warnings (spark-submit configures logging before this runs: conf/log4j2.properties)
    if (!java.util.Arrays.asList(args).contains("--verbose")
        && System.getProperty("log4j2.configurationFile") == null) {
      System.setProperty("log4j2.configurationFile",
          "classpath:io/github/sgdph/spark/log4j2-quiet.properties");
    }
    int code = run(args, null, System.out, System.err);
    if (code != 0) {
      System.exit(code);
    }
  }

  /** The options. */
  static final class Options {
    String master;
    int partitions = 0;
    String model = "mlp";
    String optimizer = "sgn";
    final Map<String, Object> hp = new LinkedHashMap<>();
    int epochs = 1;
    int batch = 1024;
    int curvatureBatch = 0;
    long seed = 0;
    String backend = "reference";
    DType dtype = null;
    int fanIn = 16;
    BatchNormStatistics batchNorm = BatchNormStatistics.PER_PARTITION;
    Path dataDir;
    int limit = 0;
    int testLimit = 0;
    boolean verbose;
  }

  static Options parse(String[] args) {
    Options o = new Options();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--verbose")) {
        o.verbose = true;
        continue;
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(a + ": a value is missing");
      }
      String v = args[++i];
      switch (a) {
        case "--master" -> o.master = v;
        case "--partitions" -> o.partitions = positive(a, v);
        case "--model" -> o.model = v;
        case "--optimizer" -> o.optimizer = v;
        case "--hp" -> OptimizerSpec.putParameter(o.hp, v);
        case "--epochs" -> o.epochs = positive(a, v);
        case "--batch" -> o.batch = positive(a, v);
        case "--curvature-batch" -> o.curvatureBatch = positive(a, v);
        case "--seed" -> o.seed = Long.parseLong(v);
        case "--backend" -> o.backend = v;
        case "--dtype" -> o.dtype = DType.valueOf(v.toUpperCase(Locale.ROOT));
        case "--fan-in" -> o.fanIn = positive(a, v);
        case "--batch-norm-statistics" -> o.batchNorm = BatchNormStatistics.parse(a, v);
        case "--data-dir" -> o.dataDir = Path.of(v);
        case "--limit" -> o.limit = positive(a, v);
        case "--test-limit" -> o.testLimit = positive(a, v);
        default -> throw new IllegalArgumentException(a + ": unknown option");
      }
    }
    return o;
  }

  private static int positive(String option, String v) {
    int n;
    try {
      n = Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + ": not an integer: '" + v + "'");
    }
    if (n < 1) {
      throw new IllegalArgumentException(option + ": must be >= 1 but was " + n);
    }
    return n;
  }

  /**
   * Runs the program.
   *
   * @param args the options
   * @param context a Spark context to use (tests), or null to make one from {@code --master} or
   *     spark-submit's configuration ({@code local[*]} without either)
   * @param out where the epochs' lines go
   * @param err where errors go
   * @return the exit code
   */
  static int run(String[] args, JavaSparkContext context, PrintStream out, PrintStream err) {
    Options o;
    try {
      o = parse(args);
    } catch (IllegalArgumentException e) {
      err.println("sgdph-spark train: " + e.getMessage());
      return 2;
    }
    JavaSparkContext sc = context;
    if (sc == null) {
      SparkConf conf = new SparkConf().setAppName("sgdph-train");
      if (o.master != null) {
        conf.setMaster(o.master);
      } else if (!conf.contains("spark.master")) {
        conf.setMaster("local[*]");
      }
      conf.setIfMissing("spark.ui.showConsoleProgress", "false");
      sc = new JavaSparkContext(conf);
      if (!o.verbose) {
        sc.setLogLevel("WARN");
      }
    }
    try {
      return train(o, sc, out);
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      err.println("sgdph-spark train: " + e.getMessage());
      return 2;
    } finally {
      if (context == null) {
        sc.stop();
      }
    }
  }

  private static int train(Options o, JavaSparkContext sc, PrintStream out) {
    ModelSpec spec = BuiltInModels.parse(o.model).spec();
    Path dir = o.dataDir != null ? o.dataDir : FashionMnist.defaultDirectory();
    ArrayDataset train = FashionMnist.load(dir, FashionMnist.Split.TRAIN);
    ArrayDataset test = FashionMnist.load(dir, FashionMnist.Split.TEST);
    if (o.limit > 0) {
      train = train.head(Math.min(o.limit, train.size()));
    }
    if (o.testLimit > 0) {
      test = test.head(Math.min(o.testLimit, test.size()));
    }
    int[] in = spec.inputShape();
    if (spec.loss() == LossKind.SOFTMAX_CROSS_ENTROPY) {
      Normalization n = Normalization.fit(train);
      train = train.normalized(n).reshaped(in);
      test = test.normalized(n).reshaped(in);
    } else {
      train = train.autoencoding().reshaped(in);
      test = test.autoencoding().reshaped(in);
    }
    int partitions = o.partitions > 0 ? o.partitions : sc.defaultParallelism();
    DType dtype = o.dtype != null ? o.dtype
        : o.backend.equals("reference") ? DType.FLOAT64 : DType.FLOAT32;
    out.printf(Locale.ROOT, "%s on %s: %d training samples in %d partitions, %s %s, %s%n",
        o.model, sc.master(), train.size(), partitions, o.backend, dtype.name().toLowerCase(
            Locale.ROOT), o.optimizer);
    try (SparkDataset data = SparkDataset.distribute(sc, train, partitions);
        SparkModel model = SparkModel.builder().dataset(data).spec(spec)
            .parameters(DefaultInitializer.initialize(spec, new SplittableRandom(o.seed)))
            .backend(o.backend).dtype(dtype).fanIn(o.fanIn).batchNorm(o.batchNorm).build()) {
      TrainingReport r = SparkTraining.builder(model)
          .optimizer(Optimizers.create(new OptimizerSpec(o.optimizer, o.hp)))
          .testData(test).epochs(o.epochs).batchSize(o.batch).seed(o.seed)
          .curvatureBatchSize(o.curvatureBatch)
          .listener(new TrainingListener() {
            @Override
            public void epochEnded(EpochResult e) {
              out.printf(Locale.ROOT,
                  "epoch %d: step %d, train loss %.4f, test loss %.4f, test accuracy %.4f, %.1f s%n",
                  e.epoch() + 1, e.step(), e.trainLoss(), e.test().loss(), e.test().accuracy(),
                  e.seconds());
            }
          })
          .build().run();
      CommunicationStats s = model.stats();
      out.printf(Locale.ROOT, "communication: %d jobs, %d broadcasts (%.1f MB), results %.1f MB,"
          + " %.1f s in Spark jobs%n", s.jobs(), s.broadcasts(), s.broadcastBytes() / 1e6,
          s.resultBytes() / 1e6, s.seconds());
      if (!r.completed()) {
        out.println("stopped: " + r.stopReason());
        return 1;
      }
      return 0;
    }
  }
}
