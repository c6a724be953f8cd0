package io.github.sgdph.djl;

/**
 * What {@link io.github.sgdph.curvature.Curvature#gradient()} builds besides the gradient: the
 * graph that later curvature products differentiate again. Every choice gives the same, exact
 * numbers; it only decides how many backward passes a gradient followed by products costs.
 * Measured on a 784-256-256-10 ReLU MLP at batch 128 in float32, a gradient costs about the
 * same with {@link #HESSIAN} as with {@link #PLAIN}; on the benchmark's batch-norm CNN
 * ({@code sgdph bench}) the double-backward graph makes a gradient about 20% dearer. So the
 * default is {@link #ADAPTIVE}: a plain gradient until the model has been asked for a product,
 * then the graph that product needs. {@link #GAUSS_NEWTON} makes a gradient about 10% dearer
 * and a gradient plus a Gauss-Newton-vector product about 15% cheaper.
 *
 * <ul>
 *   <li>{@link #PLAIN}: one backward pass that keeps the forward graph; the first
 *       Hessian-vector product then builds the double-backward graph (one more backward pass),
 *       the first Gauss-Newton or Jacobian-vector product the {@code Jᵀu} graph (one more).
 *   <li>{@link #HESSIAN}: the gradient itself is differentiable ({@code create_graph}), so
 *       Hessian-vector products (SGD-PH) cost one double-backward pass each and nothing more.
 *   <li>{@link #GAUSS_NEWTON}: the gradient is computed as {@code Jᵀu} with {@code u = ∂ℓ/∂z} a
 *       leaf, so Gauss-Newton and Jacobian-vector products (SGN, block-diagonal Hessian-free) cost
 *       one double-backward and one backward pass each and nothing more.
 * </ul>
 */
public enum GradientGraph {
  /** A plain backward pass; product graphs are built on first use. */
  PLAIN,
  /** The gradient with its graph, ready for Hessian-vector products. */
  HESSIAN,
  /** The gradient as {@code Jᵀu}, ready for Gauss-Newton- and Jacobian-vector products. */
  GAUSS_NEWTON,
  /**
   * {@link #PLAIN} until a curvature of the model is asked for a Hessian-vector product
   * ({@link #HESSIAN} for the curvatures made after it) or a Gauss-Newton- or Jacobian-vector
   * product ({@link #GAUSS_NEWTON} after it); the latest product asked decides. A first-order
   * optimizer (SGD, Adam) so never pays for a graph it does not use, and a second-order one pays
   * one extra backward pass, in its first step only. The default.
   */
  ADAPTIVE;

  /**
   * The graph that suits an optimizer of sgdph: {@link #GAUSS_NEWTON} for {@code sgn},
   * {@code bdhf} and {@code hf}, {@link #PLAIN} for the first-order {@code sgd} and
   * {@code adam}, {@link #HESSIAN} otherwise ({@code sgdph}).
   *
   * @param optimizerName the optimizer's name as case files spell it
   * @return the graph
   */
  public static GradientGraph forOptimizer(String optimizerName) {
    if (optimizerName == null) {
      return HESSIAN;
    }
    return switch (optimizerName) {
      case "sgn", "bdhf", "hf" -> GAUSS_NEWTON;
      case "sgd", "adam" -> PLAIN;
      default -> HESSIAN;
    };
  }
}
