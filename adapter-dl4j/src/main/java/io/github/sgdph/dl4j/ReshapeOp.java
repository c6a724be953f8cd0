package io.github.sgdph.dl4j;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A row-major reshape of each sample: DL4J's {@code CnnToFeedForwardPreProcessor} (NCHW to
 * {@code [n, c·h·w]}, as {@code torch.flatten}) and {@code FeedForwardToCnnPreProcessor}. Linear,
 * so every derivative is the same reshape (or its inverse).
 */
final class ReshapeOp extends Op {
  /** The per-sample output shape. */
  private final long[] sampleShape;

  ReshapeOp(String where, long... sampleShape) {
    super(where);
    this.sampleShape = sampleShape.clone();
  }

  @Override
  Node forward(INDArray x, INDArray[] p, boolean keep) {
    long[] out = new long[sampleShape.length + 1];
    out[0] = x.size(0);
    System.arraycopy(sampleShape, 0, out, 1, sampleShape.length);
    long per = 1;
    for (long d : sampleShape) {
      per *= d;
    }
    if (x.length() != per * x.size(0)) {
      throw new IllegalArgumentException(
          where + ": cannot reshape " + java.util.Arrays.toString(x.shape()) + " to "
              + java.util.Arrays.toString(out));
    }
    return new N(x.shape(), out).at(x);
  }

  private static final class N extends LinearNode {
    final long[] inShape;
    final long[] outShape;

    N(long[] inShape, long[] outShape) {
      this.inShape = inShape;
      this.outShape = outShape;
    }

    @Override
    INDArray apply(INDArray x) {
      return x.reshape('c', outShape);
    }

    @Override
    INDArray adjoint(INDArray g) {
      return g.reshape('c', inShape);
    }
  }
}
