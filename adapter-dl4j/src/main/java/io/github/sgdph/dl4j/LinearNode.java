package io.github.sgdph.dl4j;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The node of a parameterless linear stage {@code y = A x} (a reshape, the last time step of a
 * sequence, a global average pool): the input-Jacobian is {@code A} itself, so the backward pass
 * is the adjoint {@code Aᵀ g}, the R-forward pass {@code R{y} = A R{x}}, and the R-backward pass
 * the adjoint of {@code R{g}} with no second-order term (Pearlmutter 1994: the R-operator of a
 * linear map is the map). A subclass gives {@link #apply} and {@link #adjoint}.
 */
abstract class LinearNode extends Op.Node {
  private INDArray y;

  /** {@code A x}. */
  abstract INDArray apply(INDArray x);

  /** {@code Aᵀ g}, in the shape of the input. */
  abstract INDArray adjoint(INDArray g);

  /** Evaluates the stage at {@code x}: its output is {@code A x}. */
  final LinearNode at(INDArray x) {
    y = apply(x);
    return this;
  }

  @Override
  final INDArray out() {
    return y;
  }

  @Override
  final void keep(Scratch s) {
    y = s.keep(y);
  }

  @Override
  final INDArray backward(INDArray g, boolean[] want, INDArray[] pg, boolean needIn) {
    return needIn ? adjoint(g) : null;
  }

  @Override
  final Op.RState rForward(INDArray rIn, INDArray[] v) {
    return new Op.RState(rIn, rIn == null ? null : apply(rIn), null);
  }

  @Override
  final INDArray rBackward(
      Op.RState r, INDArray[] v, INDArray g, INDArray rg, boolean[] want, INDArray[] rpg,
      boolean needIn) {
    return needIn && rg != null ? adjoint(rg) : null;
  }
}
