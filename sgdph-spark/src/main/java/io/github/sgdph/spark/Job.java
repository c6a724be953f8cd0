package io.github.sgdph.spark;

import java.io.Serializable;
import org.apache.spark.broadcast.Broadcast;

/**
 * Everything a partition task needs, serializable: the replica's recipe, the parameters of one
 * version, the objective's selection, the curvature the products belong to and the work; for
 * {@link BatchNormStatistics#SYNCHRONIZED}, that the job is a barrier stage ({@code
 * synchronizedStatistics}) and whether its loss-derivative sums are weighted by the shares
 * ({@link Barrier}).
 */
record Job(String modelKey, Broadcast<Payloads.ReplicaSpec> spec, long version,
    Broadcast<double[]> parameters, long selectionId, Broadcast<Payloads.Selection> selection,
    int[] shares, long curvatureId, Work work, boolean synchronizedStatistics,
    boolean lossWeighted) implements Serializable {
  private static final long serialVersionUID = 1L;
}
