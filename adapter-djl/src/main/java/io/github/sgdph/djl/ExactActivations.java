package io.github.sgdph.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;

/**
 * Activations whose PyTorch kernels are approximations, written exactly from operations that
 * are not, and twice differentiable by PyTorch's autograd.
 *
 * <p><b>softplus.</b> PyTorch's {@code softplus(z)} (which DJL's {@link Activation#softPlus}
 * calls, with PyTorch's default {@code threshold = 20}) returns {@code z} itself for {@code z >
 * 20} and its derivative is then exactly 1: the function differs from {@code log(1 + eᶻ)} by up
 * to {@code e^{−20} ≈ 2·10⁻⁹}, and its first derivative by as much — enough to move a
 * block-diagonal Hessian-free trajectory by 3.6·10⁻⁹ relative on a bundled case. This class
 * computes
 *
 * <pre>
 *   softplus(z) = c z + log(1 + e^t),   c = [z &gt; 0] (a constant: no gradient),
 *                                       t = (1 − 2c) z = −|z| ≤ 0
 * </pre>
 *
 * where the second term is PyTorch's softplus at a non-positive argument, far below its
 * threshold, which PyTorch evaluates as {@code log1p(exp(t))} — exact, with exact first
 * ({@code σ(t)}) and second ({@code σ(t)(1 − σ(t))}) derivatives, and no overflow for any
 * {@code z}. Autograd then gives {@code d/dz = c + (1 − 2c) σ(t) = σ(z)} and {@code d²/dz² =
 * σ(z)(1 − σ(z))} everywhere, including {@code z = 0} (where a formula with {@code |z|} or
 * {@code max(z, 0)} would get the wrong subgradient).
 */
public final class ExactActivations {
  private ExactActivations() {}

  /**
   * {@code log(1 + eᶻ)} element-wise, exactly (see the class comment), differentiable twice.
   *
   * @param z any floating-point array
   * @return an array of {@code z}'s shape and type, attached to {@code z}'s manager
   */
  public static NDArray softplus(NDArray z) {
    NDArray c;
    // No NDArray-number operation on the differentiated path (see the README's DJL pitfall):
    // the comparison has no gradient, and its constant is released once it has been used.
    try (NDArray zero = z.getManager().zeros(new Shape(), z.getDataType())) {
      c = z.stopGradient().gt(zero).toType(z.getDataType(), false);
    }
    NDArray cz = c.mul(z);
    NDArray t = z.sub(cz).sub(cz);
    return cz.add(Activation.softPlus(t));
  }

  /**
   * A block applying {@link #softplus(NDArray)} to its single input.
   *
   * @return a new parameterless block
   */
  public static Block softplusBlock() {
    return new LambdaBlock(x -> new NDList(softplus(x.singletonOrThrow())), "softplus");
  }
}
