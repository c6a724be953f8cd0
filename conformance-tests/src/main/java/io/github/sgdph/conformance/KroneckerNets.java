package io.github.sgdph.conformance;

import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.param.ParameterLayout;
import java.util.List;

/**
 * The small networks on which the Kronecker-factor SPI ({@code Curvature.factoredLayers},
 * {@code layerInputs}, {@code layerOutputGradients}) and KFAC (Martens and Grosse 2015; KFC,
 * Grosse and Martens 2016, for the convolutions) are checked: one of each kind of factored layer
 * and loss. The kit's {@code KroneckerFactorSpi} checks run them on every backend; an adapter's or
 * the KFAC tests use them too.
 */
public final class KroneckerNets {
  private KroneckerNets() {}

  /**
   * A dense tanh MLP 6-5-3 with softmax cross-entropy.
   *
   * @return the spec
   */
  public static ModelSpec denseMlp() {
    return new ModelSpec(new int[] {6}, List.of(
        new LayerSpec.Dense(6, 5, true), new LayerSpec.Activation(ActivationKind.TANH),
        new LayerSpec.Dense(5, 3, true)), LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  /**
   * A CNN with MSE: a convolution 2→3 (3×3, stride 2, zero padding 1: 5×5 → 3×3) without bias,
   * tanh, a convolution 3→2 (2×2, unpadded) with bias, flatten and a dense head of 3.
   *
   * @return the spec
   */
  public static ModelSpec stridedPaddedCnn() {
    return new ModelSpec(new int[] {2, 5, 5}, List.of(
        new LayerSpec.Conv2d(2, 3, 3, 3, 2, 2, 1, 1, false),
        new LayerSpec.Activation(ActivationKind.TANH),
        new LayerSpec.Conv2d(3, 2, 2, 2, 1, 1, 0, 0, true),
        new LayerSpec.Flatten(),
        new LayerSpec.Dense(8, 3, true)), LossKind.MSE);
  }

  /**
   * A dense layer 6→5 without bias feeding a train-mode batch norm, sigmoid, a dense head of 3,
   * with sigmoid binary cross-entropy.
   *
   * @return the spec
   */
  public static ModelSpec batchNormBce() {
    return new ModelSpec(new int[] {6}, List.of(
        new LayerSpec.Dense(6, 5, false),
        new LayerSpec.BatchNorm(5, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
        new LayerSpec.Activation(ActivationKind.SIGMOID),
        new LayerSpec.Dense(5, 3, true)), LossKind.SIGMOID_BINARY_CROSS_ENTROPY);
  }

  /**
   * Where each root block starts in the flattened parameter vector (blocks in layout order), to
   * read entries of a dense matrix built over a model's parameters.
   *
   * @param root a root layout
   * @return the offset of each block
   */
  public static int[] blockOffsets(ParameterLayout root) {
    int[] off = new int[root.blockCount()];
    int o = 0;
    for (int b = 0; b < off.length; b++) {
      off[b] = o;
      o += root.block(b).size();
    }
    return off;
  }
}
