package io.github.sgdph.tensorflow;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TFloating;

/**
 * The losses of the neutral spec as TensorFlow graphs, each the mean over the batch and each
 * twice differentiable with TensorFlow Java's gradients and {@link SecondOrderGradients}, in
 * float32 and float64 alike. The fused {@code SoftmaxCrossEntropyWithLogits} op is avoided on
 * purpose: its gradient graph holds a float32 constant and fails in float64, and its own
 * gradient's gradient is not exact; {@code LogSoftmax} is.
 */
public final class TfLosses {
  private TfLosses() {}

  /**
   * Softmax cross-entropy {@code −mean_i Σ_j y_ij log softmax(z_i)_j} ({@code
   * torch.nn.CrossEntropyLoss} with one-hot targets).
   *
   * @param tf the ops of the graph
   * @param logits {@code [n, k]}
   * @param oneHot {@code [n, k]} one-hot class labels (or class probabilities)
   * @param <T> float32 or float64
   * @return the scalar mean loss
   */
  public static <T extends TFloating> Operand<T> softmaxCrossEntropy(
      Ops tf, Operand<T> logits, Operand<T> oneHot) {
    Operand<T> perSample =
        tf.reduceSum(tf.math.mul(oneHot, tf.nn.logSoftmax(logits)), tf.constant(1));
    return tf.math.neg(tf.math.mean(perSample, tf.constant(0)));
  }

  /**
   * Mean squared error over all elements, {@code mean (z − y)²} ({@code torch.nn.MSELoss}).
   *
   * @param tf the ops of the graph
   * @param outputs {@code [n, k]}
   * @param targets {@code [n, k]}
   * @param <T> float32 or float64
   * @return the scalar mean loss
   */
  public static <T extends TFloating> Operand<T> meanSquaredError(
      Ops tf, Operand<T> outputs, Operand<T> targets) {
    return meanAll(tf, tf.math.square(tf.math.sub(outputs, targets)));
  }

  /**
   * Sigmoid binary cross-entropy on logits over all elements, {@code mean softplus(z) − z y}
   * ({@code torch.nn.BCEWithLogitsLoss}), with the exact {@link TfActivations#softplus} (not
   * TensorFlow's thresholded {@code Softplus} kernel).
   *
   * @param tf the ops of the graph
   * @param logits {@code [n, k]}
   * @param targets {@code [n, k]} in {@code [0, 1]}
   * @param <T> float32 or float64
   * @return the scalar mean loss
   */
  public static <T extends TFloating> Operand<T> sigmoidBinaryCrossEntropy(
      Ops tf, Operand<T> logits, Operand<T> targets) {
    return meanAll(
        tf, tf.math.sub(TfActivations.softplus(tf, logits), tf.math.mul(logits, targets)));
  }

  private static <T extends TFloating> Operand<T> meanAll(Ops tf, Operand<T> x) {
    return tf.math.mean(tf.reshape(x, tf.constant(new int[] {-1})), tf.constant(0));
  }
}
