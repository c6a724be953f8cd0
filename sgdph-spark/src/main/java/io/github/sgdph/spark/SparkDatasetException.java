package io.github.sgdph.spark;

/**
 * A distributed dataset that cannot serve as a batch: a partition without samples, partitions
 * whose samples or labels have different shapes, or fewer samples than partitions. The message
 * names the partition and the problem; {@link #kind()} says which it is.
 */
public final class SparkDatasetException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /** What is wrong with the dataset. */
  public enum Kind {
    /** A partition holds no sample. */
    EMPTY_PARTITION,
    /** A partition's sample or label shape differs from partition 0's. */
    SHAPE_MISMATCH,
    /** The dataset has fewer samples than partitions (some partition would be empty). */
    TOO_FEW_SAMPLES
  }

  /** What is wrong. */
  private final Kind kind;

  /** The offending partition, or -1. */
  private final int partition;

  /**
   * Creates the exception.
   *
   * @param kind what is wrong
   * @param partition the offending partition, or -1 when the problem is the whole dataset's
   * @param message the description, naming the partition and the problem
   */
  public SparkDatasetException(Kind kind, int partition, String message) {
    super(message);
    this.kind = kind;
    this.partition = partition;
  }

  /**
   * What is wrong.
   *
   * @return the kind of problem
   */
  public Kind kind() {
    return kind;
  }

  /**
   * The offending partition.
   *
   * @return its index, or -1 when the problem is the whole dataset's ({@link
   *     Kind#TOO_FEW_SAMPLES})
   */
  public int partition() {
    return partition;
  }
}
