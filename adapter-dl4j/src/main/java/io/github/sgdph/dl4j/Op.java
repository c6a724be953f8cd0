package io.github.sgdph.dl4j;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One differentiable stage of a network as this adapter computes it (an affine map, an
 * element-wise activation, a batch norm, a convolution, a pooling, a reshape), written with ND4J
 * ops together with its derivatives.
 *
 * <p>For Pearlmutter's R-operator ("Fast exact multiplication by the Hessian", Neural
 * Computation 6(1), 1994) each stage {@code y = f(x; p)} provides, at the point of a
 * {@linkplain #forward forward pass}:
 * <ul>
 *   <li>the backward pass {@code g ↦ (Jₓᵀ g, J_pᵀ g)};
 *   <li>the R-forward pass {@code R{y} = Jₓ R{x} + J_p v};
 *   <li>the R-backward pass {@code R{Jₓᵀ g}} and {@code R{J_pᵀ g}}: the backward pass applied to
 *       {@code R{g}} plus the second-order terms of the stage in the direction
 *       {@code (R{x}, v)}.
 * </ul>
 * A {@code null} array stands for zeros throughout (no direction on this stage's parameters, or
 * no perturbation reaching it), so that restricted products skip work.
 *
 * <p>A stage has one input but for a {@link JoinOp}: the {@code ...Inputs}
 * methods, through which a {@link NetworkPlan}'s graph of stages runs every stage, take and give
 * one array per input, and default to the one-input methods. A stage of several inputs
 * ({@link JoinOp}) overrides them.
 */
abstract class Op {
  /** Describes the stage for messages: {@code "layer 2 (DenseLayer)"}. */
  final String where;

  Op(String where) {
    this.where = where;
  }

  /** The number of parameter slots (0 for a stage without parameters). */
  int slots() {
    return 0;
  }

  /**
   * The forward pass of a stage of any arity: {@link #forward(INDArray, INDArray[], boolean,
   * boolean)} at {@code xs[0]} for a one-input stage.
   */
  Node forwardInputs(INDArray[] xs, INDArray[] p, boolean keep, boolean eval) {
    return forward(xs[0], p, keep, eval);
  }

  /**
   * The forward pass at input {@code x} with the parameter arrays {@code p} (one per slot,
   * DL4J's shapes). Never modifies {@code x} or {@code p}.
   *
   * @param keep whether to keep what the backward and R passes need
   */
  abstract Node forward(INDArray x, INDArray[] p, boolean keep);

  /**
   * The forward pass in evaluation mode ({@code eval} true: batch norms normalise with running
   * statistics) or as {@link #forward(INDArray, INDArray[], boolean)}; the same for every stage
   * but a batch norm.
   */
  Node forward(INDArray x, INDArray[] p, boolean keep, boolean eval) {
    return forward(x, p, keep);
  }

  /** A stage evaluated at one point. Methods never modify their arguments. */
  abstract static class Node {
    /** The output of the stage. */
    abstract INDArray out();

    /**
     * Copies what the backward and R passes need out of the current {@linkplain Scratch#scope()
     * scope}, computing anything they would otherwise compute lazily.
     */
    abstract void keep(Scratch s);

    /**
     * The backward pass: returns {@code Jₓᵀ g} if {@code needIn} (else null) and sets
     * {@code pg[s] = J_{p_s}ᵀ g} for every slot with {@code want[s]}.
     */
    abstract INDArray backward(INDArray g, boolean[] want, INDArray[] pg, boolean needIn);

    /** The R-forward pass for the input perturbation {@code rIn} and the direction {@code v}. */
    abstract RState rForward(INDArray rIn, INDArray[] v);

    /**
     * The R-backward pass: {@code g} is the gradient with respect to the output (never null),
     * {@code rg} its R-derivative. Returns {@code R{Jₓᵀ g}} if {@code needIn} and sets
     * {@code rpg[s] = R{J_{p_s}ᵀ g}} for every slot with {@code want[s]} (null for zero).
     */
    abstract INDArray rBackward(
        RState r, INDArray[] v, INDArray g, INDArray rg, boolean[] want, INDArray[] rpg,
        boolean needIn);

    /**
     * {@link #backward} for a stage of any arity: the gradient with respect to input {@code k}
     * where {@code needIn[k]} (else null).
     */
    INDArray[] backwardInputs(INDArray g, boolean[] want, INDArray[] pg, boolean[] needIn) {
      return new INDArray[] {backward(g, want, pg, needIn[0])};
    }

    /** {@link #rForward} for a stage of any arity: one R-derivative per input (null: zero). */
    RState rForwardInputs(INDArray[] rIn, INDArray[] v) {
      return rForward(rIn[0], v);
    }

    /** {@link #rBackward} for a stage of any arity: one result per input (null: zero). */
    INDArray[] rBackwardInputs(
        RState r, INDArray[] v, INDArray g, INDArray rg, boolean[] want, INDArray[] rpg,
        boolean[] needIn) {
      return new INDArray[] {rBackward(r, v, g, rg, want, rpg, needIn[0])};
    }
  }

  /**
   * What an R-forward pass leaves for the R-backward pass (a stage with more than one
   * intermediate array extends it, as {@link LstmOp}).
   */
  static class RState {
    /** The R-derivative of the input (null for zero). */
    final INDArray rIn;
    /** The R-derivative of the output (null for zero). */
    final INDArray rOut;
    /** Stage-specific intermediate R-derivatives. */
    final INDArray aux;

    RState(INDArray rIn, INDArray rOut, INDArray aux) {
      this.rIn = rIn;
      this.rOut = rOut;
      this.aux = aux;
    }
  }

  static INDArray slot(INDArray[] v, int s) {
    return v == null || v.length <= s ? null : v[s];
  }

  static boolean wants(boolean[] want, int s) {
    return want != null && want.length > s && want[s];
  }
}
