package io.github.sgdph.benchmarks;

import io.github.sgdph.model.BuiltInModels;
import io.github.sgdph.model.ModelSpec;
import java.util.Locale;

/**
 * The two models of {@code sgdph bench}, as neutral specs that every backend and every native
 * baseline builds alike. Batch norm is in train mode (batch statistics), as in a training step;
 * dense and convolution layers keep their bias, as PyTorch's defaults do.
 */
public enum BenchModels {
  /**
   * MLP 784-256-256-10 with batch norm after each hidden layer ({@link BuiltInModels#MLP}):
   * dense 784→256, batch norm, ReLU, dense 256→256, batch norm, ReLU, dense 256→10; softmax
   * cross-entropy.
   */
  MLP("784-256-256-10 MLP, batch norm after each hidden layer", BuiltInModels.MLP),
  /**
   * Small batch-norm CNN on 28×28×1 inputs: two blocks of 3×3 convolution (32, then 64
   * channels; stride 1, zero padding 1), batch norm, ReLU and 2×2 max-pool (stride 2), then
   * flatten (64·7·7 = 3136) and dense 3136→10; softmax cross-entropy ({@link
   * BuiltInModels#CNN}).
   */
  CNN("CNN 28x28x1: [conv3x3 32, BN, ReLU, maxpool 2x2], [conv3x3 64, BN, ReLU, maxpool 2x2],"
      + " dense 10", BuiltInModels.CNN);

  private final String description;
  private final BuiltInModels model;

  BenchModels(String description, BuiltInModels model) {
    this.description = description;
    this.model = model;
  }

  /**
   * The model.
   *
   * @return a new spec of the model
   */
  public ModelSpec spec() {
    return model.spec();
  }

  /**
   * A one-line description for reports.
   *
   * @return the layers in words
   */
  public String description() {
    return description;
  }

  /**
   * The name on the command line and in {@code RATIO} lines.
   *
   * @return {@code mlp} or {@code cnn}
   */
  public String cliName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The model of a command-line name.
   *
   * @param name {@code mlp} or {@code cnn}
   * @return the model
   * @throws IllegalArgumentException naming {@code --model} for another name
   */
  public static BenchModels parse(String name) {
    for (BenchModels m : values()) {
      if (m.cliName().equals(name)) {
        return m;
      }
    }
    throw new IllegalArgumentException(
        "--model: expected mlp or cnn but was '" + name + "'");
  }
}
