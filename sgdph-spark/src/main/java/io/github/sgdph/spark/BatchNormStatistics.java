package io.github.sgdph.spark;

/**
 * Which batch statistics a train-mode batch norm normalises with when the batch is spread over
 * partitions. Irrelevant for models without train-mode batch norm: their samples do not interact,
 * and the distributed objective is the single-machine one.
 */
public enum BatchNormStatistics {
  /**
   * Each partition normalises its share of the batch with that share's own mean and variance, as
   * PyTorch's {@code DistributedDataParallel} without {@code SyncBatchNorm}: the objective is
   * {@code L = Σ_p (n_p/N) L_p(θ)} with {@code L_p} the mean loss of partition {@code p}'s share
   * under its own statistics, and every gradient and product is that function's (exact, not an
   * approximation of the single-machine one). The running statistics follow DDP's default
   * ({@code broadcast_buffers}: rank 0's): they are updated with the statistics of the
   * lowest-numbered partition holding samples of the batch.
   */
  PER_PARTITION,
  /**
   * Statistics over the whole batch, as PyTorch's {@code SyncBatchNorm}: equal to the
   * single-machine run on the same global batch (to rounding: 1e-12 relative over whole SGN,
   * block-diagonal HF and SGD-PH trajectories in float64), running statistics included. Every
   * job is a Spark barrier stage ({@code RDD.barrier()}): the replicas' batch norms form their
   * batch sums through {@link io.github.sgdph.model.BatchStatisticsReducer}, one {@code
   * BarrierTaskContext.allGather} round per reduction (per train-mode layer: forward 2, backward
   * 1, R-forward 1, Gauss-Newton R-backward 1, Hessian R-backward 2), added in partition order.
   * Needs a backend with that seam (the reference backend; DJL's, TensorFlow's and DL4J's fused
   * batch norms have none and are refused by name), a cluster with a task slot per partition,
   * and gives up per-task retries (Spark re-runs the whole stage). {@code perTermGradients()}
   * is refused (each term's backward pass would span every partition).
   */
  SYNCHRONIZED;

  /**
   * The mode of a command-line value.
   *
   * @param option the option, for the message
   * @param value {@code per-partition} or {@code synchronized} (case-insensitive; {@code _} for
   *     {@code -} accepted)
   * @return the mode
   * @throws IllegalArgumentException naming {@code option} for another value
   */
  public static BatchNormStatistics parse(String option, String value) {
    String v = value == null ? ""
        : value.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_');
    for (BatchNormStatistics m : values()) {
      if (m.name().equals(v)) {
        return m;
      }
    }
    throw new IllegalArgumentException(option + ": per-partition or synchronized, not '" + value
        + "'");
  }
}
