package io.github.sgdph.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.api.java.JavaRDD;
import org.junit.jupiter.api.Test;

/** Datasets that cannot be a distributed batch, and bad arguments, get named errors. */
class BadInputTest {

  /** {@code n} samples of {@code features} features on an executor. */
  static ArrayBatch batch(int n, int features) {
    return new ArrayBatch(new double[n * features], new int[] {n, features}, new double[n],
        new int[] {n});
  }

  static JavaRDD<ArrayBatch> batches(int partitions, int... features) {
    Integer[] f = new Integer[features.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = features[i];
    }
    return SparkTests.context().parallelize(List.of(f), partitions).map(k -> batch(2, k));
  }

  @Test
  void required_aDatasetSmallerThanThePartitionCountIsRefused() {
    SparkDatasetException e = assertThrows(SparkDatasetException.class,
        () -> SparkDataset.distribute(SparkTests.context(), SparkTests.data(3, 1, false), 4));
    assertEquals(SparkDatasetException.Kind.TOO_FEW_SAMPLES, e.kind());
    assertEquals("dataset: 3 samples for 4 partitions; every partition needs at least one sample",
        e.getMessage());
    // two batches of 2 samples in 5 partitions
    SparkDatasetException r = assertThrows(SparkDatasetException.class,
        () -> SparkDataset.fromBatches(batches(5, 6, 6)));
    assertEquals(SparkDatasetException.Kind.TOO_FEW_SAMPLES, r.kind());
  }

  @Test
  void required_anEmptyPartitionIsRefusedByIndex() {
    // 2 batches in 3 slices: Spark leaves slice 0 empty
    SparkDatasetException e = assertThrows(SparkDatasetException.class,
        () -> SparkDataset.fromBatches(batches(3, 6, 6)));
    assertEquals(SparkDatasetException.Kind.EMPTY_PARTITION, e.kind());
    assertEquals(0, e.partition());
    assertTrue(e.getMessage().startsWith("partition 0: holds no sample"), e.getMessage());
  }

  @Test
  void required_partitionsWithDifferentShapesAreRefused() {
    SparkDatasetException e = assertThrows(SparkDatasetException.class,
        () -> SparkDataset.fromBatches(batches(2, 6, 5)));
    assertEquals(SparkDatasetException.Kind.SHAPE_MISMATCH, e.kind());
    assertEquals(1, e.partition());
    assertEquals("partition 1: samples [5] and labels [] but partition 0 has samples [6] and"
        + " labels []", e.getMessage());
    // two shapes within one partition
    SparkDatasetException w = assertThrows(SparkDatasetException.class,
        () -> SparkDataset.fromBatches(batches(1, 6, 5)));
    assertEquals(SparkDatasetException.Kind.SHAPE_MISMATCH, w.kind());
    assertEquals(0, w.partition());
    assertTrue(w.getMessage().startsWith("partition 0: its batch 1 has samples [5]"),
        w.getMessage());
  }

  @Test
  void required_batchesOfAPartitionAreConcatenatedInOrder() {
    try (SparkDataset d = SparkDataset.fromBatches(batches(2, 6, 6, 6))) {
      assertEquals(6, d.size());
      assertEquals(2, d.partitionCount());
      assertEquals(2, d.partitionSize(0));
      assertEquals(4, d.partitionSize(1));
      assertEquals(2, d.partitionOffset(1));
    }
  }

  @Test
  void required_badArgumentsAreNamed() {
    ModelSpec spec = SparkTests.mlp();
    IllegalArgumentException p = assertThrows(IllegalArgumentException.class,
        () -> SparkDataset.distribute(SparkTests.context(), SparkTests.data(4, 1, false), 0));
    assertTrue(p.getMessage().startsWith("partitions:"), p.getMessage());
    try (SparkDataset d = SparkDataset.distribute(SparkTests.context(),
            SparkTests.data(8, 1, false), 2);
        SparkModel m = SparkModel.builder().dataset(d).spec(spec)
            .parameters(DefaultInitializer.initialize(spec, new SplittableRandom(0)))
            .batchNorm(BatchNormStatistics.SYNCHRONIZED) // no batch norm: nothing to synchronise
            .build()) {
      IllegalArgumentException range = assertThrows(IllegalArgumentException.class,
          () -> m.objective(new int[] {0, 8}));
      assertEquals("indices: 8 out of range [0, 8)", range.getMessage());
      IllegalArgumentException dup = assertThrows(IllegalArgumentException.class,
          () -> m.objective(new int[] {3, 3}));
      assertEquals("indices: duplicate index 3", dup.getMessage());
      assertThrows(IllegalArgumentException.class, () -> m.objective().subBatch());
      IllegalArgumentException fan = assertThrows(IllegalArgumentException.class,
          () -> SparkModel.builder().fanIn(1));
      assertTrue(fan.getMessage().startsWith("fanIn:"));
    }
    try (SparkDataset d = SparkDataset.distribute(SparkTests.context(),
        SparkTests.data(8, 1, true), 2)) {
      ModelSpec bn = SparkTests.batchNormMlp();
      // synchronised statistics on a backend whose batch norms are fused kernels (no seam)
      UnsupportedOperationException sync = assertThrows(UnsupportedOperationException.class,
          () -> SparkModel.builder().dataset(d).spec(bn)
              .parameters(DefaultInitializer.initialize(bn, new SplittableRandom(0)))
              .backend("djl").dtype(io.github.sgdph.tensor.DType.FLOAT32)
              .batchNorm(BatchNormStatistics.SYNCHRONIZED).build());
      assertTrue(sync.getMessage().startsWith("batchNorm: SYNCHRONIZED statistics need")
          && sync.getMessage().contains("'djl'"), sync.getMessage());
    }
    try (SparkDataset d = SparkDataset.fromBatches(batches(2, 5, 5))) {
      IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
          () -> SparkModel.builder().dataset(d).spec(spec)
              .parameters(DefaultInitializer.initialize(spec, new SplittableRandom(0))).build());
      assertEquals("dataset: samples of shape [5] but the spec's input is [6]",
          shape.getMessage());
    }
  }
}
