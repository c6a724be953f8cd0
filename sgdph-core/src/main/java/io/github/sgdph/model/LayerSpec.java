package io.github.sgdph.model;

import java.util.Locale;
import java.util.Objects;

/**
 * One operation of the neutral model spec (CASES.md): a layer of a sequential model, or the op
 * of a node of a graph model ({@link ModelSpec.Node}). Conventions are PyTorch's: dense weight
 * {@code [out, in]} with {@code y = x Wᵀ + b}; conv weight {@code [out, in, kh, kw]} on NCHW
 * data; batch norm with biased variance for normalisation. Every op takes one input except
 * {@link Add}, the element-wise sum of two or more (the merge of a residual block: He, Zhang,
 * Ren, Sun, "Deep residual learning for image recognition", CVPR 2016, eq. 1 and 2). A
 * {@link Lstm} takes sequences {@code [T, F]} per sample.
 */
public sealed interface LayerSpec
    permits LayerSpec.Dense,
        LayerSpec.Conv2d,
        LayerSpec.BatchNorm,
        LayerSpec.Activation,
        LayerSpec.Flatten,
        LayerSpec.Pool2d,
        LayerSpec.GlobalAvgPool,
        LayerSpec.Identity,
        LayerSpec.Add,
        LayerSpec.Lstm {

  /**
   * The case-file {@code type} of this layer.
   *
   * @return the layer's {@code type} name, e.g. {@code dense}, {@code conv2d} or {@code tanh}
   */
  String type();

  /**
   * The per-sample output shape for a per-sample input shape.
   *
   * @param input the per-sample input shape, without the batch dimension
   * @param where the position of the layer named in messages, e.g. {@code layers[2]}
   * @return a new array: the per-sample output shape
   * @throws IllegalArgumentException naming {@code where} if the input does not fit the layer
   */
  int[] outputShape(int[] input, String where);

  /**
   * The per-sample output shape for the per-sample shapes of the op's inputs, in order.
   *
   * @param inputs the per-sample shapes of the inputs; every op but {@link Add} takes exactly one
   * @param where the position of the op named in messages, e.g. {@code nodes[2] (b1.add)}
   * @return a new array: the per-sample output shape
   * @throws IllegalArgumentException naming {@code where} if the number or the shapes of the
   *     inputs do not fit the op
   */
  default int[] outputShape(java.util.List<int[]> inputs, String where) {
    if (inputs.size() != 1) {
      throw new IllegalArgumentException(
          where + ": " + type() + " takes one input but has " + inputs.size());
    }
    return outputShape(inputs.get(0), where);
  }

  private static void requirePositive(int v, String field) {
    if (v <= 0) {
      throw new IllegalArgumentException(field + ": must be positive but was " + v);
    }
  }

  /**
   * Fully connected: {@code y = x Wᵀ + b}, weight {@code [out, in]}, bias {@code [out]}.
   *
   * @param in the number of input features, positive
   * @param out the number of output features, positive
   * @param bias whether the layer has a bias
   */
  record Dense(int in, int out, boolean bias) implements LayerSpec {
    /**
     * Validates the components.
     *
     * @param in the number of input features
     * @param out the number of output features
     * @param bias whether the layer has a bias
     * @throws IllegalArgumentException naming {@code in} or {@code out} if it is not positive
     */
    public Dense {
      requirePositive(in, "in");
      requirePositive(out, "out");
    }

    @Override
    public String type() {
      return "dense";
    }

    @Override
    public int[] outputShape(int[] input, String where) {
      if (input.length != 1 || input[0] != in) {
        throw new IllegalArgumentException(
            where + ": dense expects input [" + in + "] but gets " + java.util.Arrays.toString(input)
                + (input.length != 1 ? " (add a flatten layer)" : ""));
      }
      return new int[] {out};
    }
  }

  /**
   * 2-D convolution (cross-correlation, as PyTorch) on {@code [C, H, W]} inputs with zero
   * padding; weight {@code [out, in, kh, kw]}, bias {@code [out]}.
   *
   * @param in the number of input channels, positive
   * @param out the number of output channels, positive
   * @param kernelH the kernel height, positive
   * @param kernelW the kernel width, positive
   * @param strideH the vertical stride, positive
   * @param strideW the horizontal stride, positive
   * @param padH the zero padding added above and below, at least 0
   * @param padW the zero padding added left and right, at least 0
   * @param bias whether the layer has a bias
   */
  record Conv2d(
      int in, int out, int kernelH, int kernelW, int strideH, int strideW, int padH, int padW,
      boolean bias)
      implements LayerSpec {
    /**
     * Validates the components.
     *
     * @param in the number of input channels
     * @param out the number of output channels
     * @param kernelH the kernel height
     * @param kernelW the kernel width
     * @param strideH the vertical stride
     * @param strideW the horizontal stride
     * @param padH the zero padding added above and below
     * @param padW the zero padding added left and right
     * @param bias whether the layer has a bias
     * @throws IllegalArgumentException naming the field if a size or stride is not positive or a
     *     padding is negative
     */
    public Conv2d {
      requirePositive(in, "in");
      requirePositive(out, "out");
      requirePositive(kernelH, "kernel");
      requirePositive(kernelW, "kernel");
      requirePositive(strideH, "stride");
      requirePositive(strideW, "stride");
      if (padH < 0 || padW < 0) {
        throw new IllegalArgumentException("padding: must be >= 0");
      }
    }

    @Override
    public String type() {
      return "conv2d";
    }

    @Override
    public int[] outputShape(int[] input, String where) {
      if (input.length != 3 || input[0] != in) {
        throw new IllegalArgumentException(
            where + ": conv2d expects input [" + in + ", H, W] but gets "
                + java.util.Arrays.toString(input));
      }
      int h = (input[1] + 2 * padH - kernelH) / strideH + 1;
      int w = (input[2] + 2 * padW - kernelW) / strideW + 1;
      if (input[1] + 2 * padH < kernelH || input[2] + 2 * padW < kernelW) {
        throw new IllegalArgumentException(
            where + ": kernel larger than the padded input " + java.util.Arrays.toString(input));
      }
      return new int[] {out, h, w};
    }
  }

  /** Batch normalisation mode. */
  enum Mode {
    /** Batch statistics (biased variance), as PyTorch in {@code train()} mode. */
    TRAIN,
    /** Running statistics, as PyTorch in {@code eval()} mode. */
    EVAL;

    /**
     * The name of the mode in case files.
     *
     * @return {@code train} or {@code eval}
     */
    public String jsonName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * Batch normalisation over the feature axis of {@code [F]} inputs or the channel axis of
   * {@code [C, H, W]} inputs: weight (scale) and bias (shift) {@code [features]}; in eval mode
   * also non-trainable {@code running_mean} and {@code running_var}.
   *
   * @param features the number of features ({@code [F]} inputs) or channels ({@code [C, H, W]}
   *     inputs), positive
   * @param eps the constant added to the variance before the square root, positive and finite
   *     (PyTorch's default 1e-5)
   * @param momentum the update factor of the running statistics, in [0, 1]: {@code running ←
   *     (1 − momentum)·running + momentum·batch} (PyTorch's default 0.1)
   * @param mode whether batch or running statistics normalise the input
   */
  record BatchNorm(int features, double eps, double momentum, Mode mode) implements LayerSpec {
    /**
     * Validates the components.
     *
     * @param features the number of features or channels
     * @param eps the constant added to the variance, positive and finite
     * @param momentum the running statistics' update factor, in [0, 1]
     * @param mode which statistics normalise the input
     * @throws IllegalArgumentException naming the field if a value is out of range
     * @throws NullPointerException if {@code mode} is null
     */
    public BatchNorm {
      requirePositive(features, "features");
      if (!(eps > 0) || Double.isInfinite(eps)) {
        throw new IllegalArgumentException("eps: must be positive and finite but was " + eps);
      }
      if (!(momentum >= 0 && momentum <= 1)) {
        throw new IllegalArgumentException("momentum: must be in [0, 1] but was " + momentum);
      }
      Objects.requireNonNull(mode, "mode");
    }

    @Override
    public String type() {
      return "batchnorm";
    }

    @Override
    public int[] outputShape(int[] input, String where) {
      if (!((input.length == 1 || input.length == 3) && input[0] == features)) {
        throw new IllegalArgumentException(
            where + ": batchnorm expects input [" + features + "] or [" + features
                + ", H, W] but gets " + java.util.Arrays.toString(input));
      }
      return input.clone();
    }
  }

  /** Element-wise activation functions. */
  enum ActivationKind {
    /** The rectifier {@code max(z, 0)}. */
    RELU,
    /** The hyperbolic tangent. */
    TANH,
    /** The logistic function {@code 1 / (1 + e^{−z})}. */
    SIGMOID,
    /** Softplus {@code log(1 + e^z)} (PyTorch's {@code Softplus} with {@code beta = 1}). */
    SOFTPLUS;

    /**
     * The name of the activation in case files: its layer {@code type}.
     *
     * @return {@code relu}, {@code tanh}, {@code sigmoid} or {@code softplus}
     */
    public String jsonName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * An element-wise activation.
   *
   * @param kind the activation function
   */
  record Activation(ActivationKind kind) implements LayerSpec {
    /**
     * Validates the components.
     *
     * @param kind the activation function
     * @throws NullPointerException if {@code kind} is null
     */
    public Activation {
      Objects.requireNonNull(kind, "kind");
    }

    @Override
    public String type() {
      return kind.jsonName();
    }

    @Override
    public int[] outputShape(int[] input, String where) {
      return input.clone();
    }
  }

  /** Flattens {@code [C, H, W]} to {@code [C·H·W]} (row-major, as {@code torch.flatten}). */
  record Flatten() implements LayerSpec {
    @Override
    public String type() {
      return "flatten";
    }

    @Override
    public int[] outputShape(int[] input, String where) {
      int n = 1;
      for (int d : input) {
        n *= d;
      }
      return new int[] {n};
    }
  }

  /** Pooling kinds. */
  enum PoolKind {
    /** The maximum over each window. */
    MAX,
    /** The mean over each window. */
    AVG
  }

  /**
   * Max or average pooling over {@code [C, H, W]} inputs, no padding.
   *
   * @param kind max or average pooling
   * @param kernelH the window height, positive
   * @param kernelW the window width, positive
   * @param strideH the vertical stride, positive
   * @param strideW the horizontal stride, positive
   */
  record Pool2d(PoolKind kind, int kernelH, int kernelW, int strideH, int strideW)
      implements LayerSpec {
    /**
     * Validates the components.
     *
     * @param kind max or average pooling
     * @param kernelH the window height
     * @param kernelW the window width
     * @param strideH the vertical stride
     * @param strideW the horizontal stride
     * @throws IllegalArgumentException naming the field if a size or stride is not positive
     * @throws NullPointerException if {@code kind} is null
     */
    public Pool2d {
      Objects.requireNonNull(kind, "kind");
      requirePositive(kernelH, "kernel");
      requirePositive(kernelW, "kernel");
      requirePositive(strideH, "stride");
      requirePositive(strideW, "stride");
    }

    @Override
    public String type() {
      return kind == PoolKind.MAX ? "maxpool2d" : "avgpool2d";
    }

    @Override
    public int[] outputShape(int[] input, String where) {
      if (input.length != 3 || input[1] < kernelH || input[2] < kernelW) {
        throw new IllegalArgumentException(
            where + ": " + type() + " expects input [C, H, W] with H >= " + kernelH
                + " and W >= " + kernelW + " but gets " + java.util.Arrays.toString(input));
      }
      return new int[] {
        input[0], (input[1] - kernelH) / strideH + 1, (input[2] - kernelW) / strideW + 1
      };
    }
  }

  /**
   * Global average pooling: {@code [C, H, W] → [C]}, each channel's mean over its {@code H·W}
   * positions (PyTorch's {@code AdaptiveAvgPool2d(1)} followed by {@code flatten}, the head of a
   * ResNet, He et al. 2016, §3.4).
   */
  record GlobalAvgPool() implements LayerSpec {
    @Override
    public String type() {
      return "global_avgpool2d";
    }

    @Override
    public int[] outputShape(int[] input, String where) {
      if (input.length != 3) {
        throw new IllegalArgumentException(
            where + ": global_avgpool2d expects input [C, H, W] but gets "
                + java.util.Arrays.toString(input));
      }
      return new int[] {input[0]};
    }
  }

  /**
   * The identity ({@code nn.Identity}): a named pass-through, e.g. the identity shortcut of a
   * residual block written as a node of its own.
   */
  record Identity() implements LayerSpec {
    @Override
    public String type() {
      return "identity";
    }

    @Override
    public int[] outputShape(int[] input, String where) {
      return input.clone();
    }
  }

  /**
   * The element-wise sum of two or more inputs of equal shape: the merge {@code y = F(x) + x}
   * (identity shortcut) or {@code y = F(x) + W_s x} (projection shortcut) of a residual block
   * (He et al. 2016, eq. 1 and 2). It has no parameters; the same tensor may be an input of
   * several nodes (fan-out), and twice of one add ({@code x + x}).
   */
  record Add() implements LayerSpec {
    @Override
    public String type() {
      return "add";
    }

    /**
     * Always throws: an add needs at least two inputs, so it appears only in graph models.
     *
     * @param input the shape of a single input
     * @param where the position of the op named in the message
     * @return never
     * @throws IllegalArgumentException always, naming {@code where}
     */
    @Override
    public int[] outputShape(int[] input, String where) {
      throw new IllegalArgumentException(
          where + ": add needs at least two inputs (write the model as a graph of nodes)");
    }

    @Override
    public int[] outputShape(java.util.List<int[]> inputs, String where) {
      if (inputs.size() < 2) {
        throw new IllegalArgumentException(
            where + ": add needs at least two inputs but has " + inputs.size());
      }
      int[] first = inputs.get(0);
      for (int i = 1; i < inputs.size(); i++) {
        if (!java.util.Arrays.equals(first, inputs.get(i))) {
          throw new IllegalArgumentException(
              where + ": add needs inputs of one shape but input 0 is "
                  + java.util.Arrays.toString(first) + " and input " + i + " is "
                  + java.util.Arrays.toString(inputs.get(i)));
        }
      }
      return first.clone();
    }
  }

  /**
   * A stack of {@code numLayers} LSTM layers (Hochreiter and Schmidhuber 1997, with the forget
   * gate of Gers, Schmidhuber and Cummins 2000) over sequences {@code [T, in]} per sample, zero
   * initial hidden and cell states. The case format's own gate order and weight layout are
   * PyTorch's {@code nn.LSTM} (docs/CASE-FORMAT.md, "LSTM"): stacked layer {@code k} has
   * {@code weight_ih_lk [4H, F_k]} ({@code F_0 = in}, {@code F_k = H} above), {@code weight_hh_lk
   * [4H, H]} and <em>one</em> {@code bias_lk [4H]}, rows in gate order {@code i, f, g, o}:
   *
   * <pre>
   *   z_t = W_ih x_t + W_hh h_{t−1} + b         (4H, split into z_i, z_f, z_g, z_o)
   *   i = σ(z_i),  f = σ(z_f),  g = tanh(z_g),  o = σ(z_o)
   *   c_t = f ∘ c_{t−1} + i ∘ g,   h_t = o ∘ tanh(c_t),   h_0 = c_0 = 0
   * </pre>
   *
   * Layer {@code k > 0} reads the hidden states of layer {@code k − 1}. The output is the last
   * layer's {@code h_T} ({@code [H]}) or its whole sequence {@code h_1 … h_T} ({@code [T, H]}).
   *
   * @param in the number of input features per time step, positive
   * @param hidden the hidden size {@code H}, positive
   * @param numLayers the number of stacked layers, positive
   * @param returnSequences whether the output is the whole sequence {@code [T, H]} rather than
   *     the last hidden state {@code [H]}
   */
  record Lstm(int in, int hidden, int numLayers, boolean returnSequences) implements LayerSpec {
    /**
     * Validates the components.
     *
     * @param in the number of input features per time step
     * @param hidden the hidden size
     * @param numLayers the number of stacked layers
     * @param returnSequences whether the whole sequence is returned
     * @throws IllegalArgumentException naming {@code in}, {@code hidden} or {@code num_layers}
     *     if it is not positive
     */
    public Lstm {
      requirePositive(in, "in");
      requirePositive(hidden, "hidden");
      requirePositive(numLayers, "num_layers");
    }

    @Override
    public String type() {
      return "lstm";
    }

    /**
     * The number of input features of stacked layer {@code k}.
     *
     * @param k a stacked layer, from 0
     * @return {@link #in()} for layer 0, {@link #hidden()} above
     */
    public int inputSizeOf(int k) {
      return k == 0 ? in : hidden;
    }

    @Override
    public int[] outputShape(int[] input, String where) {
      if (input.length != 2 || input[1] != in) {
        throw new IllegalArgumentException(
            where + ": lstm expects sequences [T, " + in + "] (T time steps of " + in
                + " features) but gets " + java.util.Arrays.toString(input)
                + (input.length != 2 ? " (rank " + input.length + ", not 2)" : ""));
      }
      return returnSequences ? new int[] {input[0], hidden} : new int[] {hidden};
    }
  }
}
