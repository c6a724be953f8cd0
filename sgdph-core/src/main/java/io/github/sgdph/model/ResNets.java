package io.github.sgdph.model;

import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.ModelSpec.Node;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Small residual networks as graph {@link ModelSpec}s: the basic-block ResNet of He, Zhang,
 * Ren and Sun ("Deep residual learning for image recognition", CVPR 2016, §3 and Fig. 2), named
 * and ordered as torchvision's {@code resnet18} so that parameter entries read as PyTorch's
 * ({@code conv1.weight}, {@code layer2.0.downsample.1.bias}, ...).
 *
 * <p>{@link #twoBlocks}: a stem ({@code conv1} 3×3, {@code bn1}, ReLU), one basic block at the
 * stem's width with an identity shortcut ({@code layer1.0}), one basic block that halves the
 * resolution and doubles the width with a projection shortcut, a 1×1 convolution of stride 2
 * and a batch norm ({@code layer2.0.downsample}, eq. 2 of the paper), global average pooling and
 * a dense head ({@code fc}); convolutions without bias (each is followed by a batch norm), as
 * torchvision's.
 */
public final class ResNets {
  private ResNets() {}

  /**
   * The two-block ResNet described in the class comment, with softmax cross-entropy.
   *
   * @param inputShape the per-sample input {@code [C, H, W]}, H and W at least 2
   * @param width the stem's and the first block's channels (the second block has {@code 2 ·
   *     width}), positive
   * @param classes the number of outputs, positive
   * @param mode the mode of every batch norm (PyTorch's defaults ε 10⁻⁵, momentum 0.1)
   * @return a new graph spec
   * @throws IllegalArgumentException naming the argument that does not fit
   */
  public static ModelSpec twoBlocks(int[] inputShape, int width, int classes, LayerSpec.Mode mode) {
    if (width <= 0) {
      throw new IllegalArgumentException("width: must be positive but was " + width);
    }
    return stages(inputShape, new int[] {width, 2 * width}, 1, classes, mode);
  }

  /**
   * A basic-block ResNet of He et al. (2016, §3.3 and Table 1, the CIFAR design of §4.2 with
   * one stage per entry of {@code widths}): a stem ({@code conv1} 3×3 stride 1, {@code bn1},
   * ReLU), then per stage {@code s} ({@code layer<s+1>}) {@code blocksPerStage} basic blocks of
   * {@code widths[s]} channels — the first stage keeps the resolution, every later one halves it
   * in its first block, whose shortcut is then a projection (a strided 1×1 convolution and a
   * batch norm, eq. 2); every other shortcut is the identity — global average pooling and a
   * dense head {@code fc}; softmax cross-entropy. Named and ordered as torchvision's ResNets.
   * {@code stages(shape, {w, 2w}, 1, k, mode)} is {@link #twoBlocks}.
   *
   * @param inputShape the per-sample input {@code [C, H, W]}, H and W at least {@code
   *     2^(widths.length − 1)}
   * @param widths each stage's channels, at least one stage, each positive
   * @param blocksPerStage basic blocks per stage, positive
   * @param classes the number of outputs, positive
   * @param mode the mode of every batch norm (PyTorch's defaults ε 10⁻⁵, momentum 0.1)
   * @return a new graph spec
   * @throws IllegalArgumentException naming the argument that does not fit
   */
  public static ModelSpec stages(int[] inputShape, int[] widths, int blocksPerStage, int classes,
      LayerSpec.Mode mode) {
    Objects.requireNonNull(inputShape, "inputShape");
    Objects.requireNonNull(widths, "widths");
    Objects.requireNonNull(mode, "mode");
    if (inputShape.length != 3) {
      throw new IllegalArgumentException(
          "inputShape: a ResNet takes [C, H, W] but was " + java.util.Arrays.toString(inputShape));
    }
    if (widths.length == 0) {
      throw new IllegalArgumentException("widths: a ResNet needs at least one stage");
    }
    for (int w : widths) {
      if (w <= 0) {
        throw new IllegalArgumentException("widths: must be positive but were "
            + java.util.Arrays.toString(widths));
      }
    }
    if (blocksPerStage <= 0) {
      throw new IllegalArgumentException(
          "blocksPerStage: must be positive but was " + blocksPerStage);
    }
    if (classes <= 0) {
      throw new IllegalArgumentException("classes: must be positive but was " + classes);
    }
    List<Node> n = new ArrayList<>();
    n.add(Node.of("conv1", conv(inputShape[0], widths[0], 3, 1), ModelSpec.INPUT));
    n.add(Node.of("bn1", bn(widths[0], mode)));
    n.add(Node.of("relu", relu()));
    String x = "relu";
    int in = widths[0];
    for (int s = 0; s < widths.length; s++) {
      for (int b = 0; b < blocksPerStage; b++) {
        int stride = s > 0 && b == 0 ? 2 : 1;
        x = basicBlock(n, "layer" + (s + 1) + "." + b, x, in, widths[s], stride, mode);
        in = widths[s];
      }
    }
    n.add(Node.of("avgpool", new LayerSpec.GlobalAvgPool(), x));
    n.add(Node.of("fc", new LayerSpec.Dense(in, classes, true)));
    return ModelSpec.graph(inputShape, n, LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  /**
   * Appends a basic block {@code relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))}: the
   * shortcut is the identity when the shape is kept, else a strided 1×1 convolution and a batch
   * norm ({@code downsample.0}, {@code downsample.1}).
   *
   * @return the name of the block's output node
   */
  private static String basicBlock(
      List<Node> n, String p, String x, int in, int out, int stride, LayerSpec.Mode mode) {
    n.add(Node.of(p + ".conv1", conv(in, out, 3, stride), x));
    n.add(Node.of(p + ".bn1", bn(out, mode)));
    n.add(Node.of(p + ".relu1", relu()));
    n.add(Node.of(p + ".conv2", conv(out, out, 3, 1)));
    n.add(Node.of(p + ".bn2", bn(out, mode)));
    String shortcut = x;
    if (stride != 1 || in != out) {
      n.add(Node.of(p + ".downsample.0", conv(in, out, 1, stride), x));
      n.add(Node.of(p + ".downsample.1", bn(out, mode)));
      shortcut = p + ".downsample.1";
    }
    n.add(Node.of(p + ".add", new LayerSpec.Add(), p + ".bn2", shortcut));
    n.add(Node.of(p + ".relu2", relu()));
    return p + ".relu2";
  }

  private static LayerSpec conv(int in, int out, int kernel, int stride) {
    int pad = kernel / 2;
    return new LayerSpec.Conv2d(in, out, kernel, kernel, stride, stride, pad, pad, false);
  }

  private static LayerSpec bn(int features, LayerSpec.Mode mode) {
    return new LayerSpec.BatchNorm(features, 1e-5, 0.1, mode);
  }

  private static LayerSpec relu() {
    return new LayerSpec.Activation(ActivationKind.RELU);
  }
}
