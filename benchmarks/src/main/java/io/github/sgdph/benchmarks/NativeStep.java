package io.github.sgdph.benchmarks;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.Map;

/**
 * A framework's own SGD training step on one fixed batch, written with the framework's API
 * only, as its users write it: the baseline of {@code sgdph bench}. The model is built from a
 * {@link ModelSpec} with the given initial values, so the step is the same mathematics as
 * sgdph's SGD step on the same backend (same model, parameters, batch, loss, learning rate and
 * momentum); {@code NativeEquivalenceTest} checks that.
 *
 * <p>Supported specs: dense, conv2d, train-mode batch norm, ReLU/tanh/sigmoid, max pooling and
 * flatten, with softmax cross-entropy; anything else is an {@link IllegalArgumentException}
 * naming the layer.
 */
public interface NativeStep extends AutoCloseable {

  /**
   * What the step is, for reports, e.g. {@code Trainer + Optimizer.sgd()}.
   *
   * @return a short description of the framework code timed
   */
  String description();

  /**
   * Whether the framework's momentum is Nesterov's (DL4J has no classical-momentum updater);
   * sgdph's SGD then runs with {@code nesterov} too, so both compute the same update.
   *
   * @return {@code true} if the momentum is Nesterov's
   */
  boolean nesterov();

  /** One training step on the batch: forward, backward and the optimizer's update. */
  void step();

  /**
   * The current trainable parameters in the spec's (PyTorch) layout, by entry name.
   *
   * @return new host copies, one per trainable entry of the spec
   */
  Map<String, double[]> trainableParameters();

  /** Releases the framework's resources (models, sessions, native memory). Idempotent. */
  @Override
  void close();

  /**
   * The native step of a backend.
   *
   * @param backend {@code djl}, {@code tensorflow} or {@code dl4j}
   * @param spec the model
   * @param init initial values of every entry of the spec (PyTorch layout)
   * @param batch the batch every step trains on
   * @param dtype float32 or float64
   * @param lr the learning rate
   * @param momentum the momentum factor; 0 for plain SGD
   * @return a new native step; the caller closes it
   * @throws IllegalArgumentException if the backend has no native baseline (the reference) or
   *     the spec has an unsupported layer
   */
  static NativeStep create(String backend, ModelSpec spec, List<NamedArray> init,
      ArrayBatch batch, DType dtype, double lr, double momentum) {
    if (spec.loss() != io.github.sgdph.model.LossKind.SOFTMAX_CROSS_ENTROPY) {
      throw new IllegalArgumentException(
          "model: the native baselines train softmax cross-entropy only, not " + spec.loss());
    }
    return switch (backend) {
      case "djl" -> new DjlNativeStep(spec, init, batch, dtype, lr, momentum);
      case "tensorflow" -> new TfNativeStep(spec, init, batch, dtype, lr, momentum);
      case "dl4j" -> new Dl4jNativeStep(spec, init, batch, dtype, lr, momentum);
      default -> throw new IllegalArgumentException(
          "--backend: " + backend + " has no native framework step");
    };
  }

  /**
   * Whether {@link #create} has a native step for the backend.
   *
   * @param backend a backend name
   * @return {@code true} for {@code djl}, {@code tensorflow} and {@code dl4j}
   */
  static boolean exists(String backend) {
    return backend.equals("djl") || backend.equals("tensorflow") || backend.equals("dl4j");
  }
}
