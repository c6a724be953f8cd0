package io.github.sgdph.dl4j;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Global average pooling of NCHW input: DL4J's {@code GlobalPoolingLayer} with {@code AVG}
 * over the spatial dimensions, {@code y[n, c] = (1/HW) Σ_{h,w} x[n, c, h, w]} ({@code [n, C]},
 * or {@code [n, C, 1, 1]} without {@code collapseDimensions}); the spec's
 * {@code global_avgpool2d} (PyTorch's {@code AdaptiveAvgPool2d(1)} and {@code flatten}), the
 * pooling before the dense head of a ResNet (He et al., CVPR 2016, §3.4).
 *
 * <p>Linear: {@code R{y}} is the same mean of {@code R{x}}, {@code ∂x = g / HW} spread over every
 * position, and the R-backward pass is the backward pass of {@code R{g}} (no second-order term).
 */
final class GlobalAvgPoolOp extends Op {
  private final boolean collapse;

  GlobalAvgPoolOp(String where, boolean collapse) {
    super(where);
    this.collapse = collapse;
  }

  @Override
  Node forward(INDArray x, INDArray[] p, boolean keep) {
    if (x.rank() != 4) {
      throw new IllegalArgumentException(
          where + ": needs NCHW input but got shape " + java.util.Arrays.toString(x.shape()));
    }
    return new N(this, x.shape()).at(x);
  }

  private static final class N extends LinearNode {
    final GlobalAvgPoolOp op;
    final long[] inShape;

    N(GlobalAvgPoolOp op, long[] inShape) {
      this.op = op;
      this.inShape = inShape;
    }

    @Override
    INDArray apply(INDArray x) {
      INDArray s = Nd4jArrays.sum(x, false, 2, 3).divi((double) (inShape[2] * inShape[3]));
      return op.collapse ? s : s.reshape('c', inShape[0], inShape[1], 1, 1);
    }

    @Override
    INDArray adjoint(INDArray g) {
      INDArray spread = Nd4j.zeros(g.dataType(), inShape);
      return spread.addi(g.reshape('c', inShape[0], inShape[1], 1, 1))
          .divi((double) (inShape[2] * inShape[3]));
    }
  }
}
