package io.github.sgdph.model;

/**
 * The seam where a train-mode batch norm's per-channel sums over the batch are formed: the hook
 * that lets one batch be spread over several model replicas (data-parallel training with
 * synchronised batch statistics, PyTorch's {@code SyncBatchNorm}) and still give the
 * single-machine numbers.
 *
 * <p>Batch normalisation (Ioffe and Szegedy 2015, Algorithm 1) couples the samples of a batch
 * only through per-channel sums: the forward pass's {@code Σ x} and {@code Σ (x − μ)²}, the
 * backward pass's {@code Σ g} and {@code Σ g x̂}, and in Pearlmutter's R-passes (Neural
 * Computation 6(1), 1994) their directional derivatives. A backend that supports this hook
 * computes each such sum over its own samples (a <em>partial sum</em>) and hands it to {@link
 * #sum}, which returns the sum over the whole batch; it normalises by {@link #samples}, the whole
 * batch's sample count, instead of its own. {@link #LOCAL} (the identity) is the single-machine
 * case: with it a backend computes exactly what it computes without the hook.
 *
 * <p>Every replica of a batch must call {@link #sum} the same number of times, in the same
 * order, with arrays of the same length: the passes run in lockstep. Implementations add the
 * replicas' partial sums in a fixed order, so results do not depend on timing.
 */
public interface BatchStatisticsReducer {
  /** What a partial sum is linear in, which decides how replicas' sums combine. */
  enum Kind {
    /**
     * Sums of forward quantities (activations {@code x}, their R-derivatives {@code Rx}, and
     * products of them): the batch's sum is the replicas' sum.
     */
    ACTIVATIONS,
    /**
     * Sums linear in the derivative of the replica's loss ({@code g = ∂L/∂y}, {@code R g}): a
     * replica's loss is the mean over its own samples, so each replica's partial sum is
     * weighted by its loss's share of the batch loss ({@code n_p/N} for the mean loss, 1 for a
     * transposed-Jacobian product whose seed rows are the batch's own), and the result is
     * expressed on the calling replica's scale again (divided by its weight).
     */
    LOSS_DERIVATIVES
  }

  /** The identity: a single replica holds the whole batch. Costs one virtual call per sum. */
  BatchStatisticsReducer LOCAL =
      new BatchStatisticsReducer() {
        @Override
        public double[] sum(double[] partial, Kind kind) {
          return partial;
        }

        @Override
        public int samples(int local) {
          return local;
        }

        @Override
        public String toString() {
          return "BatchStatisticsReducer.LOCAL";
        }
      };

  /**
   * The sum over the whole batch of one reduction point's per-channel partial sums.
   *
   * @param partial this replica's partial sums (one per channel, or several per channel
   *     concatenated); the reducer may return it or modify it in place
   * @param kind how the replicas' partial sums combine
   * @return the batch's sums, of the same length ({@code partial} itself for {@link #LOCAL})
   */
  double[] sum(double[] partial, Kind kind);

  /**
   * The number of samples of the whole batch.
   *
   * @param local the number of samples this replica holds
   * @return the batch's sample count ({@code local} for {@link #LOCAL})
   */
  int samples(int local);
}
