package io.github.sgdph.reference;

/**
 * One layer of a reference network: its configuration, and a {@link #forward} pass that
 * returns a {@link Node} holding what the backward and second-order passes need.
 *
 * <p>Parameters reach a layer as <em>slots</em>: {@code p[0]} weight, {@code p[1]} bias,
 * {@code p[2]} running mean, {@code p[3]} running variance (eval-mode batch norm); a slot is
 * null when the layer has no such entry. Only slots 0 and 1 are trainable; gradient and
 * direction arrays ({@code gP}, {@code vP}, {@code rgP}) have these two slots and a null slot
 * there means "zero" (a direction) or "not wanted" (an output). A layer with other trainable
 * entries (an LSTM's three per stacked layer) says how many slots it has in {@link
 * #trainableSlots()}, all of them trainable.
 *
 * <p>All arrays are per batch, row-major {@code [n, ...per-sample shape]}. No method changes
 * its inputs in place.
 */
abstract class Layer {
  /** Per-sample input and output sizes. */
  final int inSize;

  final int outSize;

  Layer(int inSize, int outSize) {
    this.inSize = inSize;
    this.outSize = outSize;
  }

  /** The number of trainable slots ({@code gP}, {@code vP} and {@code rgP} have this many). */
  int trainableSlots() {
    return 2;
  }

  /** The forward pass on {@code n} samples. */
  abstract Node forward(double[][] p, double[] in, int n);

  /** The state of a layer after a forward pass: input, output and layer-specific caches. */
  abstract static class Node {
    final double[] in;
    final double[] out;
    final int n;

    Node(double[] in, double[] out, int n) {
      this.in = in;
      this.out = out;
      this.n = n;
    }

    /**
     * The backward pass: adds {@code J_θᵀ gOut} to the non-null slots of {@code gP} and
     * returns {@code J_xᵀ gOut} when {@code needGIn} (else null).
     */
    abstract double[] backward(double[] gOut, double[][] gP, boolean needGIn);

    /**
     * The layer's input as Kronecker factors see it, {@code [n, inputDim, positions]}: the input
     * itself for a dense layer, the im2col patches for a convolution (shared, not copied).
     */
    double[] factorInput() {
      return in;
    }

    /**
     * Pearlmutter's R-forward: {@code R{out} = J_x R{in} + J_θ v}, with a null {@code rIn} or
     * {@code vP} slot meaning zero. Returns null when the result is identically zero.
     */
    abstract RState rForward(double[] rIn, double[][] vP);

    /**
     * The R-backward pass. It always returns (when {@code needGIn}) and accumulates into the
     * non-null slots of {@code rgP} the first-order part {@code J_xᵀ rgOut}, {@code J_θᵀ rgOut}.
     * When {@code gOut} (the ordinary gradient with respect to this layer's output) is non-null
     * it adds the second-order terms {@code R{J}ᵀ gOut} of the Hessian-vector product, driven
     * by the R-forward state {@code r} (null: zero input direction) and the direction
     * {@code vP}; with a null {@code gOut} it is the plain {@code Jᵀ} of a Gauss-Newton product.
     */
    abstract double[] rBackward(
        RState r, double[][] vP, double[] gOut, double[] rgOut, double[][] rgP, boolean needGIn);
  }

  /** The result of {@link Node#rForward}: {@code R{out}} and what the R-backward needs. */
  static class RState {
    final double[] rIn;
    final double[] rOut;

    RState(double[] rIn, double[] rOut) {
      this.rIn = rIn;
      this.rOut = rOut;
    }
  }

  static boolean has(double[][] slots, int i) {
    return slots != null && slots.length > i && slots[i] != null;
  }
}
