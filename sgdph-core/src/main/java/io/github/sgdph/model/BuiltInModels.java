package io.github.sgdph.model;

import io.github.sgdph.model.LayerSpec.ActivationKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The networks {@code sgdph train} and the benchmarks know by name, for 28×28 grey images in 10
 * classes (Fashion-MNIST): every batch norm in train mode with PyTorch's defaults (ε 10⁻⁵,
 * momentum 0.1).
 */
public enum BuiltInModels {
  /** 784-256-256-10: dense → batch norm → ReLU twice, then dense 10; softmax cross-entropy. */
  MLP {
    @Override
    public ModelSpec spec() {
      return new ModelSpec(new int[] {784},
          List.of(new LayerSpec.Dense(784, 256, true), batchNorm(256), relu(),
              new LayerSpec.Dense(256, 256, true), batchNorm(256), relu(),
              new LayerSpec.Dense(256, 10, true)),
          LossKind.SOFTMAX_CROSS_ENTROPY);
    }
  },
  /**
   * A small batch-norm CNN on {@code [1, 28, 28]}: [3×3 conv, 32 channels, padding 1 → batch
   * norm → ReLU → 2×2 max-pool], the same with 64 channels, flatten, dense 10; softmax
   * cross-entropy.
   */
  CNN {
    @Override
    public ModelSpec spec() {
      return new ModelSpec(new int[] {1, 28, 28},
          List.of(new LayerSpec.Conv2d(1, 32, 3, 3, 1, 1, 1, 1, true), batchNorm(32), relu(),
              maxPool(),
              new LayerSpec.Conv2d(32, 64, 3, 3, 1, 1, 1, 1, true), batchNorm(64), relu(),
              maxPool(),
              new LayerSpec.Flatten(), new LayerSpec.Dense(64 * 7 * 7, 10, true)),
          LossKind.SOFTMAX_CROSS_ENTROPY);
    }
  },
  /**
   * A deep autoencoder in the style of Hinton and Salakhutdinov (2006), the block-diagonal HF
   * paper's benchmark: 784-500-250-30-250-500-784 with tanh units (a linear 30-unit code), and
   * sigmoid binary cross-entropy against the input pixels in [0, 1].
   */
  AUTOENCODER {
    @Override
    public ModelSpec spec() {
      int[] widths = {784, 500, 250, 30, 250, 500, 784};
      List<LayerSpec> layers = new ArrayList<>();
      for (int i = 0; i + 1 < widths.length; i++) {
        layers.add(new LayerSpec.Dense(widths[i], widths[i + 1], true));
        if (i + 2 < widths.length && widths[i + 1] != 30) {
          layers.add(new LayerSpec.Activation(ActivationKind.TANH));
        }
      }
      return new ModelSpec(new int[] {784}, layers, LossKind.SIGMOID_BINARY_CROSS_ENTROPY);
    }
  },
  /**
   * A small residual network on {@code [1, 28, 28]} (He, Zhang, Ren and Sun, "Deep residual
   * learning for image recognition", CVPR 2016, the CIFAR design of §4.2 with one basic block
   * per stage — a ResNet-8): a stem (3×3 conv, 16 channels, batch norm, ReLU), a basic block
   * of 16 channels at 28×28 with an identity shortcut, basic blocks of 32 (14×14) and 64 (7×7)
   * channels that each halve the resolution with a stride-2 3×3 convolution and a projection
   * shortcut (1×1 convolution of stride 2 and a batch norm, eq. 2 of the paper), global average
   * pooling, dense 10; softmax cross-entropy. Convolutions without bias; 77,754 parameters, 9
   * batch norms. Built by {@link ResNets#stages} with torchvision's parameter names.
   */
  RESNET {
    @Override
    public ModelSpec spec() {
      return ResNets.stages(new int[] {1, 28, 28}, RESNET_WIDTHS, 1, 10, LayerSpec.Mode.TRAIN);
    }
  },
  /**
   * A two-layer LSTM (Hochreiter and Schmidhuber, "Long short-term memory", 1997) over
   * sequential Fashion-MNIST: each image is read as {@value #LSTM_STEPS} time steps of
   * {@value #LSTM_FEATURES} pixels (row {@code t} of the image is time step {@code t}, so a
   * sample's input is {@code [28, 28]}, the row-major image itself), a stacked
   * {@link LayerSpec.Lstm} of {@value #LSTM_HIDDEN} hidden units returning the last hidden
   * state of its top layer, and a dense head to 10 classes; softmax cross-entropy. This is the
   * multilayer-LSTM setting of the block-diagonal HF paper (Zhang, Xiong, Bradbury and Socher,
   * 2017), whose block partition gives each stacked layer a block of its own (here three: the
   * two LSTM layers and the head). 57,482 parameters.
   */
  LSTM {
    @Override
    public ModelSpec spec() {
      return new ModelSpec(new int[] {LSTM_STEPS, LSTM_FEATURES},
          List.of(new LayerSpec.Lstm(LSTM_FEATURES, LSTM_HIDDEN, 2, false),
              new LayerSpec.Dense(LSTM_HIDDEN, 10, true)),
          LossKind.SOFTMAX_CROSS_ENTROPY);
    }
  };

  /** {@link #LSTM}'s time steps: an image's rows. */
  public static final int LSTM_STEPS = 28;

  /** {@link #LSTM}'s features per time step: the pixels of a row. */
  public static final int LSTM_FEATURES = 28;

  /**
   * {@link #LSTM}'s hidden size: 64 units per layer. Twice the 28 inputs of a step, the size at
   * which pixel-by-row LSTMs of (Fashion-)MNIST commonly reach high-80s accuracy, and small
   * enough that the unrolled 28-step recurrence with Hessian-free's many curvature products per
   * step trains in minutes on a 2-core machine (128 units would cost about three times as
   * much per product: {@code 4h(h + f)} weights per layer).
   */
  public static final int LSTM_HIDDEN = 64;

  /** The stage widths of {@link #RESNET}. */
  private static final int[] RESNET_WIDTHS = {16, 32, 64};

  /**
   * The model's spec.
   *
   * @return a new spec
   */
  public abstract ModelSpec spec();

  /**
   * The name on the command line.
   *
   * @return {@code mlp}, {@code cnn}, {@code autoencoder}, {@code resnet} or {@code lstm}
   */
  public String jsonName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The model of a name.
   *
   * @param name {@code mlp}, {@code cnn}, {@code autoencoder}, {@code resnet} or {@code lstm}
   * @return the model
   * @throws IllegalArgumentException naming the known models for an unknown name
   */
  public static BuiltInModels parse(String name) {
    for (BuiltInModels m : values()) {
      if (m.jsonName().equals(name)) {
        return m;
      }
    }
    throw new IllegalArgumentException(
        "model: unknown '" + name + "'; built in: mlp, cnn, autoencoder, resnet, lstm (or a spec"
            + " .json file)");
  }

  private static LayerSpec batchNorm(int features) {
    return new LayerSpec.BatchNorm(features, 1e-5, 0.1, LayerSpec.Mode.TRAIN);
  }

  private static LayerSpec relu() {
    return new LayerSpec.Activation(ActivationKind.RELU);
  }

  private static LayerSpec maxPool() {
    return new LayerSpec.Pool2d(LayerSpec.PoolKind.MAX, 2, 2, 2, 2);
  }
}
