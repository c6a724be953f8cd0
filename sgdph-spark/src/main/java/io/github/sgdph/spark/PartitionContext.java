package io.github.sgdph.spark;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.param.ParameterVector;

/** A task's view of its partition: the replica, the objective on its share, its curvature. */
final class PartitionContext {
  final int partition;
  final int share;
  final Replica replica;
  final Objective objective;
  private final long curvatureId;

  PartitionContext(int partition, int share, Replica replica, Objective objective,
      long curvatureId) {
    this.partition = partition;
    this.share = share;
    this.replica = replica;
    this.objective = objective;
    this.curvatureId = curvatureId;
  }

  /** The curvature of this job, from the replica's cache or a new forward pass. */
  Curvature curvature() {
    return replica.curvature(curvatureId, objective);
  }

  ParameterVector vector(Payloads.Vector v) {
    return v.on(replica.model.algebra(), replica.model.layout());
  }

  /** {@code share · values}, in place: a partition's sum from its mean. */
  double[] times(double[] values) {
    for (int i = 0; i < values.length; i++) {
      values[i] *= share;
    }
    return values;
  }
}
