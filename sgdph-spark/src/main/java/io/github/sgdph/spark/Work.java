package io.github.sgdph.spark;

import java.io.Serializable;

/**
 * What a task computes on one partition's replica: an array the driver sums or assembles, or
 * null for no contribution. Implementations capture only serializable values and broadcasts.
 */
@FunctionalInterface
interface Work extends Serializable {
  double[] run(PartitionContext ctx);
}
