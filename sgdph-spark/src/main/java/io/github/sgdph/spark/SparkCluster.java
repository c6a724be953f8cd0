package io.github.sgdph.spark;

import io.github.sgdph.data.Dataset;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.train.Training;
import io.github.sgdph.train.TrainingCluster;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Apache Spark as a {@link TrainingCluster} (registered with {@link java.util.ServiceLoader}):
 * what {@code sgdph train --master URL} runs on. {@link #open} connects to the master (a new
 * {@code SparkContext}, or the JVM's running one, e.g. under {@code spark-submit}), {@linkplain
 * SparkDataset#distribute distributes} the training set in the given number of partitions and
 * builds a {@link SparkModel}; the session's {@link Session#training()} is {@link
 * SparkTraining#builder(SparkModel)}.
 *
 * <p>The context's configuration comes from Spark's usual places ({@code spark.*} system
 * properties, {@code spark-defaults.conf} under {@code spark-submit}) with the master set and
 * the console progress bar off. For a non-local master, the jar holding this class (the {@code
 * sgdph-spark-app.jar} the launcher runs) is added to {@code spark.jars}, so the executors load
 * the same classes.
 */
public final class SparkCluster implements TrainingCluster {
  private static final Logger LOG = LoggerFactory.getLogger(SparkCluster.class);
  private static final String TOKEN = "spark.sgdph.session";

  /** For {@link java.util.ServiceLoader}. */
  public SparkCluster() {}

  @Override
  public String name() {
    return "spark";
  }

  @Override
  public TrainingCluster.Session open(String master, int partitions, Dataset train,
      ModelSpec spec, List<NamedArray> initial, String backend, DType dtype) {
    return open(master, partitions, train, spec, initial, backend, dtype, "per-partition");
  }

  /** With {@code batchNormStatistics} {@link BatchNormStatistics#parse parsed}. */
  @Override
  public TrainingCluster.Session open(String master, int partitions, Dataset train,
      ModelSpec spec, List<NamedArray> initial, String backend, DType dtype,
      String batchNormStatistics) {
    BatchNormStatistics bn = BatchNormStatistics.parse("--batch-norm-statistics",
        batchNormStatistics);
    if (master == null || master.isBlank()) {
      throw new IllegalArgumentException("master: a Spark master URL is required, e.g. local[2]"
          + " or spark://HOST:7077");
    }
    if (partitions < 0) {
      throw new IllegalArgumentException("partitions: must be >= 0 but was " + partitions);
    }
    SparkConf conf = new SparkConf().setAppName("sgdph train").setMaster(master);
    conf.setIfMissing("spark.ui.showConsoleProgress", "false");
    if (!master.startsWith("local")) {
      Path jar = ownJar();
      if (jar != null) {
        String jars = conf.get("spark.jars", "");
        conf.set("spark.jars", jars.isEmpty() ? jar.toString() : jars + "," + jar);
      }
    }
    // getOrCreate returns the JVM's running context if there is one (spark-submit's, a
    // test's): the token tells whether this call created it (and so stops it at the end)
    String token = UUID.randomUUID().toString();
    conf.set(TOKEN, token);
    JavaSparkContext sc;
    try {
      sc = JavaSparkContext.fromSparkContext(SparkContext.getOrCreate(conf));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("master: cannot start Spark on '" + master + "': "
          + e.getMessage(), e);
    }
    boolean running = !token.equals(sc.getConf().get(TOKEN, ""));
    if (running) {
      LOG.debug("using the running Spark context at {} (master {} not applied)", sc.master(),
          master);
    }
    JavaSparkContext context = sc;
    SparkDataset data = null;
    try {
      int p = partitions > 0 ? partitions : sc.defaultParallelism();
      data = SparkDataset.distribute(sc, train, p);
      SparkModel model = SparkModel.builder().dataset(data).spec(spec).parameters(initial)
          .backend(backend).dtype(dtype).batchNorm(bn).build();
      return new SparkSession(context, running, data, model);
    } catch (RuntimeException e) {
      if (data != null) {
        data.close();
      }
      if (!running) {
        sc.stop();
      }
      throw e;
    }
  }

  /** The jar this class was loaded from, if it was (not a classes directory). */
  private static Path ownJar() {
    CodeSource cs = SparkCluster.class.getProtectionDomain().getCodeSource();
    if (cs == null || cs.getLocation() == null) {
      return null;
    }
    try {
      Path p = Path.of(cs.getLocation().toURI());
      return Files.isRegularFile(p) && p.toString().endsWith(".jar") ? p : null;
    } catch (URISyntaxException | IllegalArgumentException e) {
      return null;
    }
  }

  /** An open run on Spark: the context (stopped at the end if opened here), data and model. */
  private static final class SparkSession implements TrainingCluster.Session {
    private final JavaSparkContext sc;
    private final boolean shared;
    private final SparkDataset data;
    private final SparkModel model;

    SparkSession(JavaSparkContext sc, boolean shared, SparkDataset data, SparkModel model) {
      this.sc = sc;
      this.shared = shared;
      this.data = data;
      this.model = model;
    }

    @Override
    public Training.Builder training() {
      return SparkTraining.builder(model);
    }

    @Override
    public String description() {
      return String.format(Locale.ROOT, "spark %s, %d partitions%s", sc.master(),
          data.partitionCount(), model.synchronizedStatistics()
              ? ", synchronized batch-norm statistics" : "");
    }

    @Override
    public String communication() {
      CommunicationStats s = model.stats();
      return String.format(Locale.ROOT, "%d Spark jobs, %d broadcasts (%.1f MB), results %.1f MB,"
          + " %.1f s in Spark jobs", s.jobs(), s.broadcasts(), s.broadcastBytes() / 1e6,
          s.resultBytes() / 1e6, s.seconds());
    }

    @Override
    public void close() {
      try {
        model.close();
        data.close();
      } finally {
        if (!shared) {
          sc.stop();
        }
      }
    }
  }
}
