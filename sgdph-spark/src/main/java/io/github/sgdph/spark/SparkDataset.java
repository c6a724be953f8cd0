package io.github.sgdph.spark;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.data.Dataset;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A dataset partitioned over a Spark cluster and cached on the executors: partition {@code p}
 * holds the samples with global indices {@code offset(p)} to {@code offset(p) + size(p) - 1}, in
 * order, as one block of host arrays. A {@link SparkModel} evaluates its curvature where the
 * samples are; only parameters, product vectors and results cross the network.
 *
 * <p>Every partition must hold at least one sample, and all samples (and labels) have one shape:
 * otherwise the factories throw {@link SparkDatasetException} naming the partition. Close the
 * dataset to drop the cached partitions.
 */
public final class SparkDataset implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SparkDataset.class);

  private final JavaSparkContext sc;
  private final JavaRDD<Shard> shards;
  private final int[] sizes;
  private final int[] offsets;
  private final int size;
  private final int[] sampleShape;
  private final int[] labelShape;
  /** The partitions' broadcasts of {@link #distribute}, destroyed on close. */
  private final List<Broadcast<Shard>> sources = new ArrayList<>();
  private boolean closed;

  private SparkDataset(JavaSparkContext sc, JavaRDD<Shard> shards, List<ShardInfo> infos) {
    this.sc = sc;
    this.shards = shards;
    this.sizes = new int[infos.size()];
    this.offsets = new int[infos.size()];
    int total = 0;
    for (int p = 0; p < sizes.length; p++) {
      sizes[p] = infos.get(p).size;
      offsets[p] = total;
      total += sizes[p];
    }
    this.size = total;
    this.sampleShape = infos.get(0).sampleShape;
    this.labelShape = infos.get(0).labelShape;
  }

  /**
   * Spreads a dataset held by the driver over {@code partitions} partitions of contiguous samples
   * (the first {@code size % partitions} partitions get one sample more): one broadcast per
   * partition, read once by the executor that computes it and cached there.
   *
   * @param sc the Spark context
   * @param data the samples, in global-index order
   * @param partitions the number of partitions, at least 1
   * @return the distributed dataset; the caller closes it
   * @throws IllegalArgumentException naming {@code partitions} if it is below 1
   * @throws SparkDatasetException ({@link SparkDatasetException.Kind#TOO_FEW_SAMPLES}) if the
   *     dataset has fewer samples than partitions
   */
  public static SparkDataset distribute(JavaSparkContext sc, Dataset data, int partitions) {
    Objects.requireNonNull(sc, "sc");
    Objects.requireNonNull(data, "data");
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions: must be at least 1 but was " + partitions);
    }
    tooFew(data.size(), partitions);
    // One broadcast per partition, and an RDD of partition indices that reads its own: a task
    // then carries a handle, not the samples (a parallelize()d collection travels inside every
    // task of every job, even when cached), each executor fetches only the partitions it
    // computes, and a lost partition is read again from the broadcast.
    List<Broadcast<Shard>> parts = new ArrayList<>(partitions);
    List<Integer> ids = new ArrayList<>(partitions);
    int base = data.size() / partitions;
    int extra = data.size() % partitions;
    int from = 0;
    try {
      for (int p = 0; p < partitions; p++) {
        int n = base + (p < extra ? 1 : 0);
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
          idx[i] = from + i;
        }
        parts.add(sc.broadcast(Shard.of(data.batch(idx))));
        ids.add(p);
        from += n;
      }
      // parallelize slices a list of P elements into P partitions of one element each
      JavaRDD<Shard> rdd = sc.parallelize(ids, partitions).map(p -> parts.get(p).value());
      SparkDataset d = validated(sc, rdd);
      d.sources.addAll(parts);
      return d;
    } catch (RuntimeException e) {
      parts.forEach(Broadcast::destroy);
      throw e;
    }
  }

  /**
   * A dataset from an RDD of batches, e.g. read by the executors themselves: each partition's
   * batches, concatenated in order, become that partition's samples (global indices follow the
   * partition order).
   *
   * @param batches the batches; each partition must hold at least one sample, and every batch
   *     the same sample and label shapes
   * @return the distributed dataset (the concatenated partitions are cached); the caller closes it
   * @throws SparkDatasetException naming the partition for an empty partition ({@link
   *     SparkDatasetException.Kind#EMPTY_PARTITION}), batches of another shape than partition 0's
   *     ({@link SparkDatasetException.Kind#SHAPE_MISMATCH}), or fewer samples than partitions
   *     ({@link SparkDatasetException.Kind#TOO_FEW_SAMPLES})
   */
  public static SparkDataset fromBatches(JavaRDD<ArrayBatch> batches) {
    Objects.requireNonNull(batches, "batches");
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(batches.context());
    return validated(
        sc,
        batches.mapPartitions(it -> Collections.singletonList(Shard.concat(it)).iterator(), true));
  }

  private static SparkDataset validated(JavaSparkContext sc, JavaRDD<Shard> rdd) {
    JavaRDD<Shard> shards = rdd.persist(StorageLevel.MEMORY_ONLY());
    try {
      List<ShardInfo> infos =
          shards.mapPartitionsWithIndex(
                  (p, it) -> {
                    List<ShardInfo> out = new ArrayList<>(1);
                    if (!it.hasNext()) {
                      out.add(new ShardInfo(0, new int[0], new int[0], null, 0));
                    } else {
                      Shard s = it.next();
                      int count = 1;
                      for (; it.hasNext(); it.next()) {
                        count++;
                      }
                      out.add(new ShardInfo(s.size(), s.sampleShape(), s.labelShape(), s.problem,
                          count));
                    }
                    return out.iterator();
                  },
                  true)
              .collect();
      check(infos);
      SparkDataset d = new SparkDataset(sc, shards, infos);
      LOG.debug("dataset of {} samples in {} partitions {}", d.size, infos.size(),
          Arrays.toString(d.sizes));
      return d;
    } catch (RuntimeException e) {
      shards.unpersist(false);
      throw e;
    }
  }

  private static void check(List<ShardInfo> infos) {
    int total = 0;
    for (ShardInfo i : infos) {
      total += i.size;
    }
    for (int p = 0; p < infos.size(); p++) {
      if (infos.get(p).problem != null) {
        throw new SparkDatasetException(SparkDatasetException.Kind.SHAPE_MISMATCH, p,
            "partition " + p + ": " + infos.get(p).problem);
      }
    }
    tooFew(total, infos.size());
    for (int p = 0; p < infos.size(); p++) {
      ShardInfo i = infos.get(p);
      if (i.size == 0) {
        throw new SparkDatasetException(SparkDatasetException.Kind.EMPTY_PARTITION, p,
            "partition " + p + ": holds no sample; every partition needs at least one ("
                + total + " samples in " + infos.size() + " partitions; repartition or coalesce"
                + " the RDD)");
      }
      if (i.elements != 1) {
        throw new IllegalStateException(
            "partition " + p + ": " + i.elements + " shards instead of one");
      }
    }
    ShardInfo first = infos.get(0);
    for (int p = 1; p < infos.size(); p++) {
      ShardInfo i = infos.get(p);
      if (!Arrays.equals(i.sampleShape, first.sampleShape)
          || !Arrays.equals(i.labelShape, first.labelShape)) {
        throw new SparkDatasetException(SparkDatasetException.Kind.SHAPE_MISMATCH, p,
            "partition " + p + ": samples " + Arrays.toString(i.sampleShape) + " and labels "
                + Arrays.toString(i.labelShape) + " but partition 0 has samples "
                + Arrays.toString(first.sampleShape) + " and labels "
                + Arrays.toString(first.labelShape));
      }
    }
  }

  private static void tooFew(int samples, int partitions) {
    if (samples < partitions) {
      throw new SparkDatasetException(SparkDatasetException.Kind.TOO_FEW_SAMPLES, -1,
          "dataset: " + samples + " samples for " + partitions
              + " partitions; every partition needs at least one sample");
    }
  }

  /** What a partition reports when the dataset is validated. */
  private record ShardInfo(int size, int[] sampleShape, int[] labelShape, String problem,
      int elements) implements Serializable {}

  /**
   * The Spark context the dataset lives in.
   *
   * @return the context
   */
  public JavaSparkContext context() {
    return sc;
  }

  JavaRDD<Shard> shards() {
    requireOpen();
    return shards;
  }

  /**
   * The number of samples {@code N}.
   *
   * @return the total over the partitions
   */
  public int size() {
    return size;
  }

  /**
   * The number of partitions.
   *
   * @return the partition count, at least 1
   */
  public int partitionCount() {
    return sizes.length;
  }

  /**
   * The number of samples of a partition.
   *
   * @param partition the partition index
   * @return its sample count, at least 1
   */
  public int partitionSize(int partition) {
    return sizes[partition];
  }

  /**
   * The global index of a partition's first sample.
   *
   * @param partition the partition index
   * @return the sum of the sizes of the partitions before it
   */
  public int partitionOffset(int partition) {
    return offsets[partition];
  }

  /**
   * The partition holding a sample.
   *
   * @param index a global sample index in {@code [0, size())}
   * @return the partition whose range contains it
   */
  int partitionOf(int index) {
    int p = Arrays.binarySearch(offsets, index);
    if (p >= 0) {
      // the first of possibly several partitions starting here is never empty: the last one
      while (p + 1 < offsets.length && offsets[p + 1] == index) {
        p++;
      }
      return p;
    }
    return -p - 2;
  }

  /**
   * The shape of one sample.
   *
   * @return a copy of the input shape without the batch axis
   */
  public int[] sampleShape() {
    return sampleShape.clone();
  }

  /**
   * The shape of one label.
   *
   * @return a copy of the label shape without the batch axis ({@code []} for class labels)
   */
  public int[] labelShape() {
    return labelShape.clone();
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("SparkDataset: closed");
    }
  }

  /** Drops the cached partitions. Idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      shards.unpersist(false);
      sources.forEach(Broadcast::destroy);
    }
  }

  @Override
  public String toString() {
    return "SparkDataset[" + size + " samples in " + sizes.length + " partitions]";
  }
}
