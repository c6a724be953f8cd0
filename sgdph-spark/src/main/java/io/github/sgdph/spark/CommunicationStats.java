package io.github.sgdph.spark;

/**
 * What a {@link SparkModel} has moved between the driver and the executors since it was built
 * or its statistics were reset. Byte counts are payloads (8 bytes per value, 4 per index), not
 * Spark's serialized sizes (a few hundred bytes more per task).
 *
 * @param jobs the Spark jobs run (one per loss, gradient, product or statistics update)
 * @param broadcasts the broadcast variables created (parameters, product vectors, selections)
 * @param broadcastBytes the payload of those broadcasts; the network carries each once per
 *     executor that uses it
 * @param resultBytes the payload of the partition results (partial sums, rows, per-term
 *     gradients) sent by the tasks
 * @param seconds the wall-clock time spent in those jobs, on the driver
 */
public record CommunicationStats(long jobs, long broadcasts, long broadcastBytes,
    long resultBytes, double seconds) {

  /**
   * The difference {@code this − earlier}, for the cost of an interval.
   *
   * @param earlier an earlier snapshot of the same model
   * @return the counts accumulated since {@code earlier}
   */
  public CommunicationStats minus(CommunicationStats earlier) {
    return new CommunicationStats(jobs - earlier.jobs, broadcasts - earlier.broadcasts,
        broadcastBytes - earlier.broadcastBytes, resultBytes - earlier.resultBytes,
        seconds - earlier.seconds);
  }
}
