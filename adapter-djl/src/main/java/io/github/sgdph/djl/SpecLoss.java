package io.github.sgdph.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;
import io.github.sgdph.model.LossKind;

/**
 * The losses of the neutral spec in DJL operations, with their analytic output Hessians (as the
 * reference backend's {@code Loss}):
 *
 * <ul>
 *   <li>softmax cross-entropy, labels {@code [n]}: {@code ℓ = −Σ_i log softmax(z_i)_{y_i} / n},
 *       {@code H u = (p ⊙ u − p (pᵀu)) / n} per row, {@code p = softmax(z_i)}, evaluated with
 *       {@code u} shifted by its entry at the most probable class (accurate when the softmax
 *       saturates);
 *   <li>mse: {@code mean((z − y)²)}, {@code H u = 2u / (n k)};
 *   <li>sigmoid binary cross-entropy: {@code mean(softplus(z) − z y)}, {@code H u = σ(z)σ(−z) u
 *       / (n k)}, with the exact {@link ExactActivations#softplus} (PyTorch's own
 *       softplus returns {@code z} itself above 20).
 * </ul>
 */
final class SpecLoss implements OutputLoss {
  private final LossKind kind;

  SpecLoss(LossKind kind) {
    this.kind = kind;
  }

  LossKind kind() {
    return kind;
  }

  @Override
  public String name() {
    return kind.jsonName();
  }

  @Override
  public NDArray evaluate(NDList labels, NDList predictions) {
    NDArray z = predictions.singletonOrThrow();
    NDArray y = labels.singletonOrThrow();
    long n = z.getShape().get(0);
    switch (kind) {
      case SOFTMAX_CROSS_ENTROPY: {
        int k = Math.toIntExact(z.getShape().get(1));
        NDArray oneHot = y.reshape(n).oneHot(k, z.getDataType());
        // no NDArray-Number operation in a graph: DJL's scalar operand would be freed memory
        return z.logSoftmax(1).mul(oneHot).sum(new int[] {1}).mean().neg();
      }
      case MSE:
        return z.sub(y.reshape(z.getShape())).square().mean();
      case SIGMOID_BINARY_CROSS_ENTROPY:
        return ExactActivations.softplus(z).sub(z.mul(y.reshape(z.getShape()))).mean();
      default:
        throw new IllegalArgumentException("loss: unsupported " + kind);
    }
  }

  @Override
  public NDList hessianVector(NDList labels, NDList predictions, NDList u) {
    NDArray z = predictions.singletonOrThrow();
    NDArray v = u.singletonOrThrow();
    double n = z.getShape().get(0);
    double k = z.getShape().size() / n;
    switch (kind) {
      case SOFTMAX_CROSS_ENTROPY: {
        // p ⊙ ((v − v_m) − pᵀ(v − v_m)), m the most probable class: no cancellation when the
        // softmax saturates (the plain p ⊙ (v − pᵀv) loses ε/p_j relative accuracy)
        NDArray p = z.softmax(1);
        NDArray top = p.argMax(1).oneHot(Math.toIntExact(z.getShape().get(1)), z.getDataType());
        NDArray d = v.sub(v.mul(top).sum(new int[] {1}, true));
        NDArray pd = p.mul(d).sum(new int[] {1}, true);
        return new NDList(p.mul(d.sub(pd)).div(n));
      }
      case MSE:
        return new NDList(v.mul(2.0 / (n * k)));
      case SIGMOID_BINARY_CROSS_ENTROPY: {
        // σ(z) σ(−z), not σ(1 − σ): no cancellation as σ(z) → 1
        NDArray s = Activation.sigmoid(z).mul(Activation.sigmoid(z.neg()));
        return new NDList(s.mul(v).div(n * k));
      }
      default:
        throw new IllegalArgumentException("loss: unsupported " + kind);
    }
  }

  @Override
  public String toString() {
    return "OutputLoss[" + kind.jsonName() + "]";
  }
}
