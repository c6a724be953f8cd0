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
   * Statistics over the whole batch, as PyTorch's {@code SyncBatchNorm}: one more reduction per
   * batch-norm layer in every forward and R-forward pass, and equal to the single-machine run.
   * <b>Not implemented yet</b>: {@link SparkModel.Builder#build()} refuses it for a model with a
   * train-mode batch norm (it needs the backends' forward passes split at every batch norm).
   */
  SYNCHRONIZED
}
