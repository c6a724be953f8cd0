package io.github.sgdph.dl4j;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * DL4J's {@code LastTimeStep} wrapper on a recurrent layer: the last time step
 * {@code y = x[:, :, T − 1]} of a sequence {@code [n, F, T]} ({@code NCW}; {@code x[:, T − 1, :]}
 * of {@code [n, T, F]} in {@code NWC}), {@code [n, F]}. Linear, so every derivative is the same
 * selection or its adjoint (zeros but the last step).
 */
final class LastStepOp extends Op {
  /** The dimension of time: 2 ({@code NCW}) or 1 ({@code NWC}). */
  private final int time;

  LastStepOp(String where, boolean nwc) {
    super(where);
    this.time = nwc ? 1 : 2;
  }

  @Override
  Node forward(INDArray x, INDArray[] p, boolean keep) {
    if (x.rank() != 3) {
      throw new IllegalArgumentException(where + ": input of shape " + Arrays.toString(x.shape())
          + " but the last time step is taken of a sequence of rank 3");
    }
    return new N(x.shape()).at(x);
  }

  /** The index of the last time step of a sequence of shape {@code shape}. */
  private INDArrayIndex[] lastStep(long[] shape) {
    INDArrayIndex[] idx = {NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all()};
    idx[time] = NDArrayIndex.point(shape[time] - 1);
    return idx;
  }

  private INDArray last(INDArray x) {
    return x.get(lastStep(x.shape())).dup('c');
  }

  private final class N extends LinearNode {
    final long[] inShape;

    N(long[] inShape) {
      this.inShape = inShape;
    }

    @Override
    INDArray apply(INDArray x) {
      return last(x);
    }

    /** The adjoint of the selection: {@code g} at the last step, zeros elsewhere. */
    @Override
    INDArray adjoint(INDArray g) {
      INDArray out = Nd4j.zeros(g.dataType(), inShape);
      out.get(lastStep(inShape)).assign(g);
      return out;
    }
  }
}
