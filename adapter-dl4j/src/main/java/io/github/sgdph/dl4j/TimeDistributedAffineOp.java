package io.github.sgdph.dl4j;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The affine part of DL4J's {@code RnnOutputLayer}: the same {@link AffineOp}
 * {@code z_t = x_t W + b} at every time step of a sequence {@code [n, F, T]}, giving
 * {@code [n, k, T]} (DL4J reshapes the sequence to rows, {@code TimeSeriesUtils.reshape3dTo2d},
 * multiplies and reshapes back; {@code NCW} data). Here the rows are time-major
 * ({@link LstmOp#toTimeMajor});
 * every derivative is the affine map's on those rows, reshaped back to sequences.
 */
final class TimeDistributedAffineOp extends Op {
  private final AffineOp affine;

  TimeDistributedAffineOp(String where, boolean bias) {
    super(where);
    this.affine = new AffineOp(where, bias, 'c');
  }

  @Override
  int slots() {
    return affine.slots();
  }

  @Override
  Node forward(INDArray x, INDArray[] p, boolean keep) {
    if (x.rank() != 3) {
      throw new IllegalArgumentException(where + ": input of shape " + Arrays.toString(x.shape())
          + " but the layer takes sequences [n, features, time steps]");
    }
    long n = x.size(0);
    Node inner = affine.forward(LstmOp.toTimeMajor(x, false), p, keep);
    return new N(inner, n, LstmOp.fromTimeMajor(inner.out(), n, false));
  }

  private static final class N extends Node {
    final Node inner;
    final long n;
    INDArray y;

    N(Node inner, long n, INDArray y) {
      this.inner = inner;
      this.n = n;
      this.y = y;
    }

    @Override
    INDArray out() {
      return y;
    }

    @Override
    void keep(Scratch s) {
      inner.keep(s);
      y = s.keep(y);
    }

    private INDArray seq(INDArray rows) {
      return rows == null ? null : LstmOp.fromTimeMajor(rows, n, false);
    }

    private static INDArray rows(INDArray seq) {
      return seq == null ? null : LstmOp.toTimeMajor(seq, false);
    }

    @Override
    INDArray backward(INDArray g, boolean[] want, INDArray[] pg, boolean needIn) {
      return seq(inner.backward(rows(g), want, pg, needIn));
    }

    @Override
    RState rForward(INDArray rIn, INDArray[] v) {
      RState r = inner.rForward(rows(rIn), v);
      return new RState(rIn, seq(r.rOut), null);
    }

    @Override
    INDArray rBackward(
        RState r, INDArray[] v, INDArray g, INDArray rg, boolean[] want, INDArray[] rpg,
        boolean needIn) {
      // the affine map's R-backward reads only R{x}
      RState innerR = new RState(rows(r.rIn), null, null);
      return seq(inner.rBackward(innerR, v, rows(g), rows(rg), want, rpg, needIn));
    }
  }
}
