package io.github.sgdph.dl4j;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Max or average pooling on NCHW input: DL4J's {@code SubsamplingLayer} ({@code MAX},
 * {@code AVG}).
 *
 * <p>With {@code X [n, c, K, oh, ow]} the {@code K = kh·kw} window entries of the padded input,
 * both poolings are {@code y = Σ_K M ⊙ X} for a mask {@code M} that is locally constant in the
 * input: for max pooling the one-hot of the first largest entry of each window (padding never
 * wins: it is {@code −∞}), for average pooling {@code 1/K}, or one over the number of real
 * entries of the window when DL4J's {@code avgPoolIncludePadInDivisor} is off. So the map is
 * linear at the point: {@code R{y} = Σ_K M ⊙ R{X}}, {@code ∂x = col2im(M ⊙ g)}, and the R-backward
 * pass has no second-order term: {@code R{∂x} = col2im(M ⊙ R{g})}.
 */
final class PoolOp extends Op {
  private final Window win;
  private final boolean max;
  private final boolean includePadInDivisor;

  PoolOp(String where, Window win, boolean max, boolean includePadInDivisor) {
    super(where);
    this.win = win;
    this.max = max;
    this.includePadInDivisor = includePadInDivisor;
  }

  @Override
  Node forward(INDArray x, INDArray[] p, boolean keep) {
    return new N(this, x);
  }

  private static final class N extends Node {
    final PoolOp op;
    final long n;
    final long c;
    final long h;
    final long w;
    final int[] pad;
    final long hp;
    final long wp;
    final long oh;
    final long ow;
    /** The mask, {@code [n, c, K, oh, ow]} (max) or broadcastable {@code [1, 1, 1, oh, ow]}. */
    INDArray mask;
    INDArray y;

    N(PoolOp op, INDArray x) {
      this.op = op;
      this.n = x.size(0);
      this.c = x.size(1);
      this.h = x.size(2);
      this.w = x.size(3);
      this.pad = op.win.padding(h, w);
      this.hp = h + pad[0] + pad[1];
      this.wp = w + pad[2] + pad[3];
      this.oh = op.win.outH(hp);
      this.ow = op.win.outW(wp);
      int k = op.win.size();
      INDArray cols =
          op.win.im2col(Nd4jArrays.pad(x, pad, op.max ? Double.NEGATIVE_INFINITY : 0.0))
              .reshape('c', n, c, k, oh, ow);
      boolean padded = pad[0] + pad[1] + pad[2] + pad[3] > 0;
      if (op.max) {
        INDArray idx = Nd4j.argMax(cols, 2).castTo(x.dataType()).reshape('c', n, c, 1, oh, ow);
        INDArray positions =
            Nd4j.arange(0, k).castTo(x.dataType()).reshape('c', 1, 1, k, 1, 1);
        this.mask = positions.eq(idx).castTo(x.dataType());
      } else if (!padded || op.includePadInDivisor) {
        this.mask = Nd4j.valueArrayOf(new long[] {1, 1, 1, oh, ow}, 1.0 / k, x.dataType());
      } else {
        INDArray ones = Nd4j.ones(x.dataType(), 1, 1, h, w);
        INDArray count = op.win.im2col(Nd4jArrays.pad(ones, pad, 0.0))
            .reshape('c', 1, 1, k, oh, ow);
        count = Nd4jArrays.sum(count, false, 2).reshape('c', 1, 1, 1, oh, ow);
        this.mask = count.rdivi(1.0);
      }
      // max: the window maxima themselves (the mask times −∞ padding would give NaN)
      this.y = op.max ? Nd4jArrays.max(cols, 2) : pool(cols);
    }

    private INDArray pool(INDArray cols) {
      return Nd4jArrays.sum(cols.mul(mask), false, 2);
    }

    private INDArray unpool(INDArray g) {
      int k = op.win.size();
      INDArray spread = Nd4j.zeros(g.dataType(), n, c, k, oh, ow);
      spread.addi(g.reshape('c', n, c, 1, oh, ow)).muli(mask);
      return op.win.col2im(
          spread.reshape('c', n, c, op.win.kh, op.win.kw, oh, ow), pad, hp, wp, h, w);
    }

    @Override
    INDArray out() {
      return y;
    }

    @Override
    void keep(Scratch s) {
      mask = s.keep(mask);
      y = s.keep(y);
    }

    @Override
    INDArray backward(INDArray g, boolean[] want, INDArray[] pg, boolean needIn) {
      return needIn ? unpool(g) : null;
    }

    @Override
    RState rForward(INDArray rIn, INDArray[] v) {
      if (rIn == null) {
        return new RState(null, null, null);
      }
      INDArray cols =
          op.win.im2col(Nd4jArrays.pad(rIn, pad, 0.0)).reshape('c', n, c, op.win.size(), oh, ow);
      return new RState(rIn, pool(cols), null);
    }

    @Override
    INDArray rBackward(
        RState r, INDArray[] v, INDArray g, INDArray rg, boolean[] want, INDArray[] rpg,
        boolean needIn) {
      return needIn && rg != null ? unpool(rg) : null;
    }
  }
}
