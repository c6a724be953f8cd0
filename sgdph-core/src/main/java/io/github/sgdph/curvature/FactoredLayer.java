package io.github.sgdph.curvature;

import java.util.Objects;

/**
 * A dense or 2-D convolutional layer as Kronecker-factored curvature sees it (KFAC: Martens and
 * Grosse, "Optimizing neural networks with Kronecker-factored approximate curvature", ICML 2015;
 * KFC for convolutions: Grosse and Martens, "A Kronecker-factored approximate Fisher matrix for
 * convolution layers", ICML 2016): a linear map {@code s_t = W a_t (+ b)} applied at {@code
 * positions} spatial positions {@code t} (1 for a dense layer), with {@code W} of shape {@code
 * [outputDim, inputDim]} once viewed as a matrix.
 *
 * <p>For a dense layer {@code a} is the layer's input ({@code inputDim} its features); for a
 * convolution it is the unfolded patch at output position {@code t} — the im2col column, ordered
 * {@code (c·kh + i)·kw + j} like the flattened weight {@code [out, C, kh, kw]}, so {@code
 * inputDim = C·kh·kw} and {@code positions = oh·ow}. The weight block flattened row-major is
 * {@code vec_r(W)} with entry {@code (o, j)} at {@code o·inputDim + j} — unless {@code
 * weightTransposed}: then the block holds {@code Wᵀ} ({@code [inputDim, outputDim]}, DL4J's and
 * TensorFlow's dense kernels {@code [in, out]}) and entry {@code (o, j)} is at {@code j·outputDim
 * + o} ({@link #weightIndex}). Consumers of the factors read the weight block through {@link
 * #weightIndex} only, so the Kronecker factors do not depend on how a backend stores it.
 *
 * @param kind dense or convolution
 * @param name the layer's name (for messages), e.g. its weight block's name
 * @param weightBlock the index of the weight block in the model's root layout
 * @param biasBlock the index of the bias block in the root layout, or -1 without a trainable bias
 * @param inputDim the size of {@code a} (features, or {@code C·kh·kw})
 * @param outputDim the size of {@code s} (output features or channels)
 * @param positions the number of spatial positions (1 for a dense layer, {@code oh·ow} for a
 *     convolution)
 * @param weightTransposed whether the weight block holds {@code Wᵀ} ({@code [inputDim,
 *     outputDim]} row-major) rather than {@code W}
 */
public record FactoredLayer(
    Kind kind,
    String name,
    int weightBlock,
    int biasBlock,
    int inputDim,
    int outputDim,
    int positions,
    boolean weightTransposed) {

  /** The kinds of layer Kronecker factors are defined for. */
  public enum Kind {
    /** A fully connected layer {@code y = x Wᵀ + b}. */
    DENSE,
    /** A 2-D convolution, factored as in KFC (Grosse and Martens 2016). */
    CONV2D
  }

  /**
   * Validates the components.
   *
   * @param kind dense or convolution
   * @param name the layer's name
   * @param weightBlock the weight block's root index, at least 0
   * @param biasBlock the bias block's root index, or -1
   * @param inputDim at least 1
   * @param outputDim at least 1
   * @param positions at least 1; 1 for a dense layer
   * @param weightTransposed whether the weight block holds {@code Wᵀ}
   * @throws IllegalArgumentException naming the component that is out of range
   */
  public FactoredLayer {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    if (weightBlock < 0) {
      throw new IllegalArgumentException("weightBlock: must be >= 0 but was " + weightBlock);
    }
    if (biasBlock < -1 || biasBlock == weightBlock) {
      throw new IllegalArgumentException(
          "biasBlock: must be -1 or another block than the weight but was " + biasBlock);
    }
    if (inputDim < 1 || outputDim < 1 || positions < 1) {
      throw new IllegalArgumentException(
          "inputDim, outputDim, positions: must be >= 1 but were " + inputDim + ", " + outputDim
              + ", " + positions);
    }
    if (kind == Kind.DENSE && positions != 1) {
      throw new IllegalArgumentException("positions: a dense layer has 1 but was " + positions);
    }
  }

  /**
   * A layer whose weight block holds {@code W} itself ({@code [outputDim, inputDim]} row-major,
   * PyTorch's dense and convolution weights).
   *
   * @param kind dense or convolution
   * @param name the layer's name
   * @param weightBlock the weight block's root index, at least 0
   * @param biasBlock the bias block's root index, or -1
   * @param inputDim at least 1
   * @param outputDim at least 1
   * @param positions at least 1; 1 for a dense layer
   * @throws IllegalArgumentException naming the component that is out of range
   */
  public FactoredLayer(
      Kind kind, String name, int weightBlock, int biasBlock, int inputDim, int outputDim,
      int positions) {
    this(kind, name, weightBlock, biasBlock, inputDim, outputDim, positions, false);
  }

  /**
   * Where entry {@code (o, j)} of {@code W} ({@code [outputDim, inputDim]}) sits in the flattened
   * weight block.
   *
   * @param o the output row, {@code 0 ≤ o < outputDim}
   * @param j the input column, {@code 0 ≤ j < inputDim}
   * @return {@code o·inputDim + j}, or {@code j·outputDim + o} if {@link #weightTransposed()}
   */
  public int weightIndex(int o, int j) {
    return weightTransposed ? j * outputDim + o : o * inputDim + j;
  }

  /**
   * Whether the layer has a trainable bias.
   *
   * @return {@code biasBlock >= 0}
   */
  public boolean hasBias() {
    return biasBlock >= 0;
  }

  /**
   * The size of the homogeneous input {@code ã = [a; 1]} (with a bias) or {@code a}.
   *
   * @return {@code inputDim + 1} with a bias, else {@code inputDim}
   */
  public int homogeneousInputDim() {
    return hasBias() ? inputDim + 1 : inputDim;
  }
}
