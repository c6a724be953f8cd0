package io.github.sgdph.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.data.ArrayBatch;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RandomBatchesTest {

  static ModelSpec spec(LossKind loss) {
    return new ModelSpec(
        new int[] {2, 4, 4},
        List.of(new LayerSpec.Flatten(), new LayerSpec.Dense(32, 5, true)),
        loss);
  }

  @Test
  void batchesFitTheirSpecForEveryLoss() {
    for (LossKind loss : LossKind.values()) {
      ModelSpec s = spec(loss);
      ArrayBatch b = RandomBatches.forSpec(s, 7, new SplittableRandom(1));
      CaseFile.validateBatch(s, b, "batch");
      assertArrayEquals(new int[] {7, 2, 4, 4}, b.xShape());
      assertEquals(7, b.size());
      for (double y : b.yView()) {
        switch (loss) {
          case SOFTMAX_CROSS_ENTROPY -> assertTrue(y == Math.rint(y) && y >= 0 && y < 5);
          case SIGMOID_BINARY_CROSS_ENTROPY -> assertTrue(y == 0 || y == 1);
          case MSE -> assertTrue(Double.isFinite(y));
        }
      }
    }
  }

  @Test
  void theSameSeedGivesTheSameBatchAndNMustBePositive() {
    ModelSpec s = spec(LossKind.SOFTMAX_CROSS_ENTROPY);
    assertEquals(
        RandomBatches.forSpec(s, 4, new SplittableRandom(9)),
        RandomBatches.forSpec(s, 4, new SplittableRandom(9)));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> RandomBatches.forSpec(s, 0, new SplittableRandom(1)));
    assertTrue(e.getMessage().startsWith("n:"));
  }
}
