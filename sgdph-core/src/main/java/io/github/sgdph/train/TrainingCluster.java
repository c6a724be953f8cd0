package io.github.sgdph.train;

import io.github.sgdph.data.Dataset;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.ServiceLoader;

/**
 * A compute cluster that runs a {@link Training} data-parallel: the training set is partitioned
 * over its workers, each holding a model replica, and every mini-batch's loss, gradient and
 * curvature products are sums of the workers' shares ({@link Training.Builder#trainingObjectives}).
 * Found with {@link ServiceLoader}: {@code sgdph-spark} provides one for Apache Spark masters
 * ({@code local[N]}, {@code spark://…}, {@code yarn}, {@code k8s://…}); {@code sgdph train
 * --master} uses it when it is on the classpath. The core itself has no cluster.
 */
public interface TrainingCluster {
  /**
   * The cluster engine's name, for messages.
   *
   * @return e.g. {@code spark}
   */
  String name();

  /**
   * Connects to the cluster and distributes the training set.
   *
   * @param master the cluster's master URL (the engine's own syntax)
   * @param partitions the number of partitions of the training set; 0 for the cluster's default
   * @param train the training set, shipped to the workers
   * @param spec the model
   * @param initial the initial values of every entry of {@code spec}
   * @param backend the name of the replicas' {@link io.github.sgdph.model.SpecBackend}
   * @param dtype the replicas' precision
   * @return the open session; the caller closes it
   * @throws IllegalArgumentException naming the parameter for a bad master URL or partition
   *     count, or a training set that cannot be partitioned so
   */
  Session open(String master, int partitions, Dataset train, ModelSpec spec,
      List<NamedArray> initial, String backend, DType dtype);

  /**
   * As {@link #open(String, int, Dataset, ModelSpec, List, String, DType)}, choosing how a
   * train-mode batch norm normalises a batch spread over partitions: {@code per-partition}
   * (each partition's share with its own statistics, the default) or {@code synchronized}
   * (statistics of the whole batch, equal to one machine). The default implementation offers
   * {@code per-partition} only.
   *
   * @param master the cluster's master URL
   * @param partitions the number of partitions, 0 for the cluster's default
   * @param train the training set
   * @param spec the model
   * @param initial the initial values of every entry of {@code spec}
   * @param backend the replicas' backend
   * @param dtype the replicas' precision
   * @param batchNormStatistics {@code per-partition} or {@code synchronized}
   * @return the open session; the caller closes it
   * @throws IllegalArgumentException naming {@code --batch-norm-statistics} for another value
   * @throws UnsupportedOperationException naming it if the cluster or backend cannot
   *     synchronise
   */
  default Session open(String master, int partitions, Dataset train, ModelSpec spec,
      List<NamedArray> initial, String backend, DType dtype, String batchNormStatistics) {
    if (!"per-partition".equals(batchNormStatistics)) {
      throw new UnsupportedOperationException("--batch-norm-statistics: " + name()
          + " offers per-partition only, not '" + batchNormStatistics + "'");
    }
    return open(master, partitions, train, spec, initial, backend, dtype);
  }

  /**
   * The cluster provider on the classpath.
   *
   * @param option the option that asked for a cluster, for the message
   * @return the first provider found
   * @throws IllegalArgumentException naming {@code option} if there is none
   */
  static TrainingCluster find(String option) {
    for (TrainingCluster c : ServiceLoader.load(TrainingCluster.class)) {
      return c;
    }
    throw new IllegalArgumentException(option + ": no cluster support on the classpath (the"
        + " sgdph-spark module provides Apache Spark's; ./sgdph puts it there for train"
        + " --master once built: ./mvnw -B -q -DskipTests -pl cli,sgdph-spark -am package)");
  }

  /** A training set distributed over a cluster, and the model replicas that evaluate it. */
  interface Session extends AutoCloseable {
    /**
     * A training builder whose model (the driver's replica: parameters, running statistics,
     * evaluation, checkpoints) and mini-batches (on the workers) are set; set the rest.
     *
     * @return a new builder
     */
    Training.Builder training();

    /**
     * Where the run is, for a report line.
     *
     * @return e.g. {@code spark local[2], 2 partitions}
     */
    String description();

    /**
     * What has been moved so far, for a report line.
     *
     * @return e.g. the number of jobs and bytes
     */
    String communication();

    /** Releases the replicas, the distributed data and the connection. */
    @Override
    void close();
  }
}
