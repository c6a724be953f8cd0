package io.github.sgdph.reference;

/**
 * {@code [C, H, W] → [C·H·W]}: row-major data is already flat, so every pass is the identity
 * (arrays are shared, never modified). Also the {@code identity} op, and the op of an {@code
 * add} node, whose input the graph ({@link Network}) has already summed.
 */
final class FlattenLayer extends Layer {

  FlattenLayer(int size) {
    super(size, size);
  }

  @Override
  Node forward(double[][] p, double[] in, int n) {
    return new Node(in, in, n) {
      @Override
      double[] backward(double[] g, double[][] gP, boolean needGIn) {
        return needGIn ? g : null;
      }

      @Override
      RState rForward(double[] rIn, double[][] vP) {
        return rIn == null ? null : new RState(rIn, rIn);
      }

      @Override
      double[] rBackward(
          RState r, double[][] vP, double[] g, double[] rg, double[][] rgP, boolean needGIn) {
        return needGIn ? rg : null;
      }
    };
  }
}
