package io.github.sgdph.spark;

import io.github.sgdph.cases.json.CaseJson;
import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.curvature.CurvatureModel;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.model.BatchStatisticsReducer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * A model whose loss, gradient and curvature products are evaluated data-parallel on the
 * partitions of a {@link SparkDataset}: the curvature SPI ({@link CurvatureModel}) over a cluster,
 * so that SGN (Gargiani et al. 2020, whose case is large mini-batches), block-diagonal and full
 * Hessian-free, SGD-PH and the Hessian analysis run on it unchanged. Its batches are sets of
 * global sample indices ({@link #objective(int...)}) or the whole dataset ({@link #objective()}).
 *
 * <p>Every quantity is a sum over samples, so over partitions: for a batch {@code B} of {@code
 * N} samples with {@code n_p} of them on partition {@code p},
 *
 * <pre>
 *   L = (1/N) Σ_p n_p L_p,   ∇L = (1/N) Σ_p n_p ∇L_p,   Gv = (1/N) Σ_p n_p G_p v,
 *   Hv = (1/N) Σ_p n_p H_p v,   Jv = [J_p v]_p (rows in batch order),   Jᵀu = Σ_p J_pᵀ u_p
 * </pre>
 *
 * where {@code L_p}, {@code G_p = J_pᵀ H_{L,p} J_p} (the SGN paper's generalized Gauss-Newton
 * matrix, its eq. (7)) and {@code H_p} are those of partition {@code p}'s share, computed by that
 * partition's <em>model replica</em> (any {@link SpecBackend}, built on the executor from the
 * spec, the backend's name and the dtype, and kept there). The partial sums {@code n_p·(…)} are
 * added in partition order ({@code TreeSum}: a deterministic {@code treeAggregate}), then
 * divided by {@code N} on the driver: the result does not depend on task timing or retries.
 *
 * <p>Per product, the driver broadcasts the vector; per parameter change, the parameters (the
 * driver's own replica, {@link #driverModel()}, holds them: optimizers update it through {@link
 * Objective#applyUpdate}). Each {@link io.github.sgdph.curvature.Curvature} is opened on the
 * executors once and kept by the replicas for the products of one CG loop, so the forward pass
 * is not repeated where the backend keeps it (reference, DJL, DL4J; TensorFlow's graph mode
 * recomputes it per product anyway). A task that fails drops its replica; Spark's retry rebuilds
 * it from the broadcasts, with the same result.
 *
 * <p>Train-mode batch norm: see {@link BatchNormStatistics}. With {@link
 * BatchNormStatistics#SYNCHRONIZED} every job is a Spark <em>barrier</em> stage whose tasks
 * exchange the batch norms' partial sums inside each pass ({@link
 * io.github.sgdph.model.BatchStatisticsReducer}, one {@code allGather} round per reduction), so
 * each quantity is the single-machine one of the whole batch.
 */
public final class SparkModel implements CurvatureModel<int[]> {
  private static final Logger LOG = LoggerFactory.getLogger(SparkModel.class);

  private final SparkDataset data;
  private final JavaSparkContext sc;
  private final SpecModel driver;
  private final String key = UUID.randomUUID().toString();
  private final Broadcast<Payloads.ReplicaSpec> spec;
  private final int fanIn;
  private final BatchNormStatistics batchNorm;
  /** Whether jobs are barrier stages: SYNCHRONIZED and the model has a train-mode batch norm. */
  private final boolean synchronizedStatistics;
  private final int outputsPerSample;
  private long version;
  private Broadcast<double[]> parameters;
  private long parametersVersion = -1;
  private long nextId = 1;
  private boolean closed;

  private long jobs;
  private long broadcasts;
  private long broadcastBytes;
  private long resultBytes;
  private long nanos;

  private SparkModel(Builder b) {
    this.data = b.data;
    this.sc = b.data.context();
    this.fanIn = b.fanIn;
    this.batchNorm = b.batchNorm;
    this.synchronizedStatistics = b.batchNorm == BatchNormStatistics.SYNCHRONIZED
        && !b.spec.runningStatistics().isEmpty();
    this.driver = SpecBackend.find(b.backend).build(b.spec, b.parameters, b.dtype);
    try {
      if (synchronizedStatistics) {
        try {
          driver.setBatchStatisticsReducer(BatchStatisticsReducer.LOCAL);
        } catch (UnsupportedOperationException e) {
          throw new UnsupportedOperationException("batchNorm: SYNCHRONIZED statistics need a"
              + " backend whose batch norms reduce through a BatchStatisticsReducer (the"
              + " reference backend); backend '" + b.backend + "' has fused batch norms: "
              + e.getMessage() + "; use PER_PARTITION", e);
        }
      }
      Payloads.ReplicaSpec rs = new Payloads.ReplicaSpec(key, CaseJson.toJson(b.spec), b.backend,
          b.dtype, Payloads.Entry.of(driver.exportParameters()));
      this.spec = broadcast(rs, rs.bytes());
      int k = 1;
      for (int d : b.spec.outputShape()) {
        k *= d;
      }
      this.outputsPerSample = k;
    } catch (RuntimeException e) {
      driver.close();
      throw e;
    }
  }

  /**
   * A builder; the dataset, spec and initial parameters are required.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /** Configures a {@link SparkModel}. */
  public static final class Builder {
    private SparkDataset data;
    private ModelSpec spec;
    private List<NamedArray> parameters;
    private String backend = "reference";
    private DType dtype = DType.FLOAT64;
    private BatchNormStatistics batchNorm = BatchNormStatistics.PER_PARTITION;
    private int fanIn = 16;

    private Builder() {}

    /**
     * The partitioned samples.
     *
     * @param data the dataset, open
     * @return this builder
     */
    public Builder dataset(SparkDataset data) {
      this.data = Objects.requireNonNull(data, "dataset");
      return this;
    }

    /**
     * The network and loss.
     *
     * @param spec the model spec
     * @return this builder
     */
    public Builder spec(ModelSpec spec) {
      this.spec = Objects.requireNonNull(spec, "spec");
      return this;
    }

    /**
     * The initial values of every entry of the spec ({@link ModelSpec#entries()} order).
     *
     * @param parameters the entries, e.g. {@code DefaultInitializer.initialize(spec, rng)}
     * @return this builder
     */
    public Builder parameters(List<NamedArray> parameters) {
      this.parameters = List.copyOf(Objects.requireNonNull(parameters, "parameters"));
      return this;
    }

    /**
     * The backend of the driver's and the executors' replicas ({@link SpecBackend#name()}); it
     * must be on the executors' classpath too. Default {@code reference}.
     *
     * @param backend the backend's registered name
     * @return this builder
     */
    public Builder backend(String backend) {
      this.backend = Objects.requireNonNull(backend, "backend");
      return this;
    }

    /**
     * The replicas' precision. Default float64.
     *
     * @param dtype the dtype, one the backend supports
     * @return this builder
     */
    public Builder dtype(DType dtype) {
      this.dtype = Objects.requireNonNull(dtype, "dtype");
      return this;
    }

    /**
     * The batch statistics of train-mode batch norms. Default {@link
     * BatchNormStatistics#PER_PARTITION}.
     *
     * @param mode the semantics
     * @return this builder
     */
    public Builder batchNorm(BatchNormStatistics mode) {
      this.batchNorm = Objects.requireNonNull(mode, "batchNorm");
      return this;
    }

    /**
     * The number of partial sums added per tree level (as {@code treeAggregate}'s fan-in);
     * with at most this many partitions the driver adds them all. Default 16.
     *
     * @param fanIn at least 2
     * @return this builder
     */
    public Builder fanIn(int fanIn) {
      if (fanIn < 2) {
        throw new IllegalArgumentException("fanIn: must be at least 2 but was " + fanIn);
      }
      this.fanIn = fanIn;
      return this;
    }

    /**
     * Builds the driver's replica and broadcasts the recipe of the executors' (built on their
     * first task).
     *
     * @return the model; the caller closes it
     * @throws IllegalArgumentException naming the missing setting, or from the backend for
     *     parameters that do not fit the spec, or for a dataset whose samples do not fit it
     * @throws UnsupportedOperationException naming {@code batchNorm} for {@link
     *     BatchNormStatistics#SYNCHRONIZED} with a train-mode batch norm on a backend without the
     *     seam ({@link SpecModel#setBatchStatisticsReducer}: DJL, TensorFlow, DL4J)
     * @throws IllegalArgumentException naming {@code batchNorm} for {@link
     *     BatchNormStatistics#SYNCHRONIZED} with a train-mode batch norm when the cluster has fewer
     *     task slots than the dataset has partitions (a barrier stage runs all its tasks at once)
     */
    public SparkModel build() {
      if (data == null) {
        throw new IllegalArgumentException("dataset: not set");
      }
      if (spec == null) {
        throw new IllegalArgumentException("spec: not set");
      }
      if (parameters == null) {
        throw new IllegalArgumentException("parameters: not set");
      }
      if (!Arrays.equals(data.sampleShape(), spec.inputShape())) {
        throw new IllegalArgumentException("dataset: samples of shape "
            + Arrays.toString(data.sampleShape()) + " but the spec's input is "
            + Arrays.toString(spec.inputShape()));
      }
      if (batchNorm == BatchNormStatistics.SYNCHRONIZED && !spec.runningStatistics().isEmpty()) {
        int slots = taskSlots(data.context());
        if (data.partitionCount() > slots) {
          throw new IllegalArgumentException("batchNorm: SYNCHRONIZED statistics run every"
              + " product as a barrier stage of all " + data.partitionCount() + " partitions at"
              + " once, but the cluster (" + data.context().master() + ") has " + slots
              + " task slots; use at most " + slots + " partitions, or more executors/cores"
              + " (local[" + data.partitionCount() + "] or more)");
        }
      }
      return new SparkModel(this);
    }
  }

  /** The tasks the cluster runs at once (what a barrier stage needs per partition). */
  static int taskSlots(JavaSparkContext sc) {
    org.apache.spark.SparkContext c = sc.sc();
    return c.maxNumConcurrentTasks(c.resourceProfileManager().defaultResourceProfile());
  }

  /**
   * The driver's replica: it holds the current parameters and running statistics (evaluate,
   * predict, export or checkpoint through it). Changing its parameters directly bypasses this
   * model's bookkeeping: use {@link #setParameters} and {@link #applyUpdate}.
   *
   * @return the driver's model
   */
  public SpecModel driverModel() {
    return driver;
  }

  /**
   * The partitioned samples.
   *
   * @return the dataset given to the builder
   */
  public SparkDataset dataset() {
    return data;
  }

  /**
   * The batch-norm semantics.
   *
   * @return the mode given to the builder
   */
  public BatchNormStatistics batchNorm() {
    return batchNorm;
  }

  @Override
  public ParameterLayout layout() {
    return driver.layout();
  }

  @Override
  public TensorAlgebra algebra() {
    return driver.algebra();
  }

  @Override
  public Capabilities capabilities() {
    return driver.capabilities();
  }

  /**
   * The mean loss over the samples at these global indices.
   *
   * @param batch distinct global sample indices in {@code [0, dataset().size())}, in batch order
   * @return the distributed objective
   * @throws IllegalArgumentException naming {@code indices} for an empty, out-of-range or
   *     duplicated index list
   */
  @Override
  public Objective objective(int[] batch) {
    requireOpen();
    int[] sel = io.github.sgdph.curvature.SpiChecks.subBatchIndices(batch, data.size());
    int parts = data.partitionCount();
    int[] shares = new int[parts];
    for (int g : sel) {
      shares[data.partitionOf(g)]++;
    }
    int[][] local = new int[parts][];
    int[][] positions = new int[parts][];
    for (int p = 0; p < parts; p++) {
      local[p] = new int[shares[p]];
      positions[p] = new int[shares[p]];
    }
    int[] fill = new int[parts];
    for (int i = 0; i < sel.length; i++) {
      int p = data.partitionOf(sel[i]);
      local[p][fill[p]] = sel[i] - data.partitionOffset(p);
      positions[p][fill[p]++] = i;
    }
    return new SparkObjective(this, sel, shares, new Payloads.Selection(local, positions,
        offsets()));
  }

  /**
   * The mean loss over the whole dataset (the data set of a Hessian analysis).
   *
   * @return the distributed objective over every sample, in global-index order
   */
  public Objective objective() {
    requireOpen();
    int parts = data.partitionCount();
    int[] shares = new int[parts];
    for (int p = 0; p < parts; p++) {
      shares[p] = data.partitionSize(p);
    }
    return new SparkObjective(this, null, shares, new Payloads.Selection(null, null, offsets()));
  }

  private int[] offsets() {
    int[] o = new int[data.partitionCount()];
    for (int p = 0; p < o.length; p++) {
      o[p] = data.partitionOffset(p);
    }
    return o;
  }

  @Override
  public ParameterVector parameters() {
    return driver.parameters();
  }

  @Override
  public void setParameters(ParameterVector values) {
    requireOpen();
    driver.setParameters(values);
    version++;
  }

  @Override
  public void applyUpdate(ParameterVector delta, double alpha) {
    requireOpen();
    driver.applyUpdate(delta, alpha);
    version++;
  }

  /**
   * What this model has moved so far.
   *
   * @return a snapshot of the counters
   */
  public synchronized CommunicationStats stats() {
    return new CommunicationStats(jobs, broadcasts, broadcastBytes, resultBytes, nanos * 1e-9);
  }

  long version() {
    return version;
  }

  long newId() {
    return nextId++;
  }

  int outputsPerSample() {
    return outputsPerSample;
  }

  int[] outputShape() {
    return driver.spec().outputShape();
  }

  synchronized <T> Broadcast<T> broadcast(T value, long bytes) {
    broadcasts++;
    broadcastBytes += bytes;
    return sc.broadcast(value);
  }

  private Broadcast<double[]> parameterBroadcast() {
    if (parametersVersion != version || parameters == null) {
      if (parameters != null) {
        parameters.destroy();
      }
      double[] p;
      try (ParameterVector v = driver.parameters()) {
        p = v.toDoubleArray();
      }
      parameters = broadcast(p, 8L * p.length);
      parametersVersion = version;
    }
    return parameters;
  }

  /**
   * The job's tasks: a barrier stage for synchronised statistics, whose loss-derivative sums are
   * weighted by the shares when {@code lossWeighted} ({@link Barrier}).
   */
  private JavaRDD<Tuple2<Integer, double[]>> parts(SparkObjective o, long curvatureId, Work w,
      boolean lossWeighted) {
    requireOpen();
    Job job = new Job(key, spec, version, parameterBroadcast(), o.id, o.selection(),
        o.shares, curvatureId, w, synchronizedStatistics, lossWeighted);
    if (!synchronizedStatistics) {
      return data.shards().mapPartitionsWithIndex(Replicas.task(job), true);
    }
    @SuppressWarnings("unchecked")
    ClassTag<Tuple2<Integer, double[]>> tag =
        (ClassTag<Tuple2<Integer, double[]>>) (ClassTag<?>) ClassTag$.MODULE$.apply(Tuple2.class);
    JavaRDD<Tuple2<Integer, double[]>> barrier = JavaRDD.fromRDD(
        data.shards().rdd().barrier().mapPartitions(new Replicas.BarrierTask(job), true, tag),
        tag);
    // Spark re-runs a failed barrier stage only if it is a shuffle-map stage ("Could not
    // recover from a failed barrier ResultStage"): the partition results go through a shuffle
    // into one partition, so the barrier stage is one, and the driver collects from there
    return JavaRDD.fromRDD(JavaPairRDD.fromJavaRDD(barrier).partitionBy(new HashPartitioner(1))
        .rdd(), tag);
  }

  /** Whether every job is a barrier stage with synchronised batch statistics. */
  boolean synchronizedStatistics() {
    return synchronizedStatistics;
  }

  /** {@code Σ_p run(p)} in partition order. */
  double[] sum(SparkObjective o, long curvatureId, Work w) {
    return sum(o, curvatureId, w, true);
  }

  /**
   * {@code Σ_p run(p)} in partition order; {@code lossWeighted} false for work whose backward
   * pass is seeded by the batch's own rows ({@code Jᵀu}), not by each partition's mean loss.
   */
  double[] sum(SparkObjective o, long curvatureId, Work w, boolean lossWeighted) {
    long t0 = System.nanoTime();
    try {
      double[] s = TreeSum.sum(parts(o, curvatureId, w, lossWeighted), data.partitionCount(),
          fanIn);
      count(t0, 8L * s.length * o.contributing());
      return s;
    } catch (Exception e) { // Spark's Scala code throws the checked SparkException undeclared
      throw Failures.unwrap(e);
    }
  }

  /** Every partition's result, indexed by partition (null without a share). */
  double[][] perPartition(SparkObjective o, long curvatureId, Work w) {
    long t0 = System.nanoTime();
    try {
      List<Tuple2<Integer, double[]>> l = parts(o, curvatureId, w, true).collect();
      double[][] out = new double[data.partitionCount()][];
      long bytes = 0;
      for (Tuple2<Integer, double[]> t : l) {
        out[t._1()] = t._2();
        bytes += 8L * t._2().length;
      }
      count(t0, bytes);
      return out;
    } catch (Exception e) {
      throw Failures.unwrap(e);
    }
  }

  private synchronized void count(long t0, long bytes) {
    jobs++;
    resultBytes += bytes;
    nanos += System.nanoTime() - t0;
  }

  /**
   * Folds the batch statistics into the running statistics. {@link
   * BatchNormStatistics#PER_PARTITION}: partition {@code p0}'s share updates them; {@link
   * BatchNormStatistics#SYNCHRONIZED}: every partition with samples updates its replica's with
   * the whole batch's statistics (the same on all), and the driver takes {@code p0}'s.
   */
  void updateRunningStatistics(SparkObjective o) {
    requireOpen();
    List<NamedArray> current = driver.runningStatistics();
    if (current.isEmpty()) {
      return;
    }
    int p0 = 0;
    while (o.shares[p0] == 0) {
      p0++;
    }
    double[] flat = flatten(current);
    Broadcast<double[]> stats = broadcast(flat, 8L * flat.length);
    int first = p0;
    boolean everyPartition = synchronizedStatistics; // all take part in the batch's reductions
    try {
      double[][] r = perPartition(o, 0, ctx -> {
        if (ctx.partition != first && !everyPartition) {
          return null;
        }
        SpecModel m = ctx.replica.model;
        m.setRunningStatistics(unflatten(m.runningStatistics(), stats.value()));
        ctx.objective.updateRunningStatistics();
        return flatten(m.runningStatistics());
      });
      driver.setRunningStatistics(unflatten(current, r[first]));
    } finally {
      stats.destroy();
    }
  }

  static double[] flatten(List<NamedArray> arrays) {
    int n = 0;
    for (NamedArray a : arrays) {
      n += a.valuesView().length;
    }
    double[] out = new double[n];
    int off = 0;
    for (NamedArray a : arrays) {
      double[] v = a.valuesView();
      System.arraycopy(v, 0, out, off, v.length);
      off += v.length;
    }
    return out;
  }

  static List<NamedArray> unflatten(List<NamedArray> template, double[] flat) {
    List<NamedArray> out = new ArrayList<>(template.size());
    int off = 0;
    for (NamedArray a : template) {
      int len = a.valuesView().length;
      out.add(new NamedArray(a.name(), a.shape(), Arrays.copyOfRange(flat, off, off + len),
          a.trainable()));
      off += len;
    }
    return out;
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("SparkModel: closed");
    }
  }

  /**
   * Drops the executors' replicas (a best-effort job), the broadcasts and the driver's replica.
   * The dataset stays open. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    String k = key;
    try {
      data.shards().foreachPartition(it -> Replicas.evictModel(k));
    } catch (RuntimeException e) {
      LOG.debug("could not drop the executors' replicas of {}", key, e);
    }
    Replicas.evictModel(key);
    if (parameters != null) {
      parameters.destroy();
    }
    spec.destroy();
    driver.close();
  }

  @Override
  public String toString() {
    return "SparkModel[" + driver.algebra().backendName() + " " + driver.algebra().dtype() + ", "
        + data + "]";
  }
}
