package io.github.sgdph.tensorflow;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TFloating;

/**
 * Activations whose TensorFlow kernels are approximations, written exactly from primitive ops
 * that TensorFlow Java can differentiate twice (with {@link SecondOrderGradients}).
 *
 * <p><b>softplus.</b> TensorFlow's {@code Softplus} kernel returns {@code z} itself above
 * {@code −log(ε) − 2} (34.0 in float64, 13.9 in float32) and {@code eᶻ} below {@code log(ε) + 2};
 * in float32 the second shortcut is off by up to 4·10⁻⁷ relative (several units in the last
 * place). This class computes
 *
 * <pre>
 *   softplus(z) = c z + log1p(exp(t)),   c = [z &gt; 0] (a constant: no gradient),
 *                                        t = (1 − 2c) z = −|z| ≤ 0
 * </pre>
 *
 * with {@code Log1p} and {@code Exp} only: no threshold, no overflow for any {@code z}, and
 * autograd gives {@code σ(z)} and {@code σ(z)(1 − σ(z))} everywhere, including {@code z = 0}
 * (where a formula with {@code |z|} or {@code max(z, 0)} would get the wrong subgradient).
 */
public final class TfActivations {
  private TfActivations() {}

  /**
   * {@code log(1 + eᶻ)} element-wise, exactly (see the class comment), differentiable twice.
   *
   * @param tf the ops of the graph
   * @param z a float32 or float64 operand
   * @param <T> float32 or float64
   * @return an operand of {@code z}'s shape and type
   */
  public static <T extends TFloating> Operand<T> softplus(Ops tf, Operand<T> z) {
    Operand<T> c =
        tf.dtypes.cast(
            tf.math.greater(tf.stopGradient(z), tf.constantOfSameType(z, 0.0)), z.type());
    Operand<T> cz = tf.math.mul(c, z);
    Operand<T> t = tf.math.sub(tf.math.sub(z, cz), cz);
    return tf.math.add(cz, tf.math.log1p(tf.math.exp(t)));
  }
}
