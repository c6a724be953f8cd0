package io.github.sgdph.spark;

import java.io.Serializable;
import org.apache.spark.broadcast.Broadcast;

/**
 * Everything a partition task needs, serializable: the replica's recipe, the parameters of one
 * version, the objective's selection, the curvature the products belong to and the work.
 */
record Job(String modelKey, Broadcast<Payloads.ReplicaSpec> spec, long version,
    Broadcast<double[]> parameters, long selectionId, Broadcast<Payloads.Selection> selection,
    int[] shares, long curvatureId, Work work) implements Serializable {
  private static final long serialVersionUID = 1L;
}
