package io.github.sgdph.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.optim.BlockDiagonalHessianFree.Partition;
import io.github.sgdph.param.ParameterBlock;
import io.github.sgdph.param.ParameterLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code sgdph train --model lstm}: the built-in two-layer LSTM over sequential Fashion-MNIST,
 * its parameters, its block-diagonal HF partition and how an image becomes a sequence.
 */
class BuiltInLstmTest {

  /**
   * Input {@code [28, 28]}, one {@code lstm} node of two stacked layers of 64 units returning
   * the last hidden state, dense 10; the parameter count of the Javadoc, counted by hand: layer
   * 0 {@code 4·64·28 + 4·64·64 + 4·64}, layer 1 {@code 4·64·64 + 4·64·64 + 4·64}, head
   * {@code 64·10 + 10}.
   */
  @Test
  void isATwoLayerLstmOverImageRowsWithADenseHead() {
    ModelSpec m = BuiltInModels.LSTM.spec();
    assertEquals(BuiltInModels.LSTM, BuiltInModels.parse("lstm"));
    assertEquals("lstm", BuiltInModels.LSTM.jsonName());
    assertArrayEquals(new int[] {28, 28}, m.inputShape());
    assertEquals(new LayerSpec.Lstm(28, 64, 2, false), m.layers().get(0));
    assertArrayEquals(new int[] {64}, m.outputShapeOf(0));
    assertArrayEquals(new int[] {10}, m.outputShape());
    assertEquals(LossKind.SOFTMAX_CROSS_ENTROPY, m.loss());
    assertEquals((4 * 64 * 28 + 4 * 64 * 64 + 4 * 64) + (4 * 64 * 64 * 2 + 4 * 64)
        + (64 * 10 + 10), m.layout().dimension());
    assertEquals(57_482, m.layout().dimension());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BuiltInModels.parse("rnn"));
    assertTrue(e.getMessage().contains("built in: mlp, cnn, autoencoder, resnet, lstm"),
        e.getMessage());
  }

  /**
   * Block-diagonal HF's default partition gives each stacked LSTM layer a block of its own and
   * the head another (the paper's treatment of multilayer LSTMs), where full HF has one block.
   */
  @Test
  void blockDiagonalHfSolvesEachStackedLayerAndTheHeadSeparately() {
    ParameterLayout l = BuiltInModels.LSTM.spec().layout();
    List<List<String>> blocks = Partition.LAYER.blocksOf(l).stream()
        .map(b -> b.blocks().stream().map(ParameterBlock::name).toList()).toList();
    assertEquals(List.of(List.of("0.weight_ih_l0", "0.weight_hh_l0", "0.bias_l0"),
        List.of("0.weight_ih_l1", "0.weight_hh_l1", "0.bias_l1"),
        List.of("1.weight", "1.bias")), blocks);
    assertEquals(1, Partition.SINGLE.blocksOf(l).size());
  }

  /**
   * The data path's reshape of a row-major image {@code [784]} to {@code [28, 28]} makes row
   * {@code t} time step {@code t}: feature {@code f} of step {@code t} is pixel
   * {@code (t, f)}, not {@code (f, t)}.
   */
  @Test
  void anImageReshapedToTheInputShapeIsItsRowsAsTimeSteps() {
    double[] pixels = new double[784];
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = i; // pixel (row i / 28, column i % 28)
    }
    ArrayDataset images = new ArrayDataset("one image", pixels, new int[] {784},
        new double[] {3}, new int[] {1});
    ArrayBatch b = images.reshaped(BuiltInModels.LSTM.spec().inputShape()).batch(0);
    assertArrayEquals(new int[] {1, 28, 28}, b.xShape());
    double[] x = b.x();
    for (int t = 0; t < 28; t++) {
      for (int f = 0; f < 28; f++) {
        assertEquals(28 * t + f, x[28 * t + f], 0.0, "step " + t + ", feature " + f);
      }
    }
  }
}
