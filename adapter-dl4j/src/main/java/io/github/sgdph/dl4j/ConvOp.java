package io.github.sgdph.dl4j;

import static io.github.sgdph.dl4j.Nd4jArrays.matmul;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A 2-D convolution (cross-correlation, as PyTorch and DL4J) on NCHW input: DL4J's
 * {@code ConvolutionLayer} without its activation. Weight {@code W [o, c, kh, kw]} (slot 0),
 * bias {@code b [1, o]} (slot 1, if any).
 *
 * <p>With {@code X} the window matrix of the padded input ({@code im2col}, one row per output
 * position, {@code [n·oh·ow, c·kh·kw]}) and {@code W₂ = W} reshaped to {@code [o, c·kh·kw]},
 * {@code Z = X W₂ᵀ + b}: the map is bilinear in {@code (X, W)} and {@code X} is linear in the
 * input, so {@code ∂W₂ = Gᵀ X}, {@code ∂x = col2im(G W₂)}, {@code R{Z} = R{X} W₂ᵀ + X V₂ᵀ + V_b},
 * {@code R{∂W₂} = R{G}ᵀ X + Gᵀ R{X}} and {@code R{∂x} = col2im(R{G} W₂ + G V₂)}.
 */
final class ConvOp extends Op {
  private final Window win;
  private final boolean bias;

  ConvOp(String where, Window win, boolean bias) {
    super(where);
    this.win = win;
    this.bias = bias;
  }

  @Override
  int slots() {
    return bias ? 2 : 1;
  }

  @Override
  Node forward(INDArray x, INDArray[] p, boolean keep) {
    return new N(this, x, p);
  }

  private static final class N extends Node implements FactoredNode {
    final ConvOp op;
    final long n;
    final long c;
    final long h;
    final long w;
    final int[] pad;
    final long hp;
    final long wp;
    final long oh;
    final long ow;
    final long o;
    /** The window matrix {@code [n·oh·ow, c·kh·kw]}. */
    INDArray cols;
    INDArray w2;
    INDArray z;

    N(ConvOp op, INDArray x, INDArray[] p) {
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
      this.o = p[0].size(0);
      this.w2 = p[0].reshape('c', o, c * op.win.size());
      this.cols = columns(x);
      INDArray z2 = matmul(cols, w2, false, true);
      if (op.bias) {
        Nd4jArrays.addRowInPlace(z2, p[1]);
      }
      this.z = toNchw(z2);
    }

    /** The window matrix of an (unpadded) input-shaped array. */
    private INDArray columns(INDArray a) {
      INDArray ap = Nd4jArrays.pad(a, pad, 0.0);
      INDArray buf = Nd4j.createUninitialized(a.dataType(),
          new long[] {n, oh, ow, c, op.win.kh, op.win.kw}, 'c');
      op.win.im2col(ap, buf.permute(0, 3, 4, 5, 1, 2));
      return buf.reshape('c', n * oh * ow, c * op.win.size());
    }

    private INDArray toNchw(INDArray m) {
      return m.reshape('c', n, oh, ow, o).permute(0, 3, 1, 2).dup('c');
    }

    private INDArray toMatrix(INDArray a) {
      return a.permute(0, 2, 3, 1).dup('c').reshape('c', n * oh * ow, o);
    }

    private INDArray g2(INDArray g) {
      return toMatrix(g);
    }

    /** {@code col2im} of a window-matrix gradient {@code [n·oh·ow, c·kh·kw]}. */
    private INDArray fromColumns(INDArray m) {
      INDArray col = m.reshape('c', n, oh, ow, c, op.win.kh, op.win.kw).permute(0, 3, 4, 5, 1, 2);
      return op.win.col2im(col, pad, hp, wp, h, w);
    }

    private INDArray weightShape(INDArray m) {
      return m.reshape('c', o, c, op.win.kh, op.win.kw);
    }

    @Override
    INDArray out() {
      return z;
    }

    @Override
    void keep(Scratch s) {
      cols = s.keep(cols);
      w2 = s.keep(w2);
      z = s.keep(z);
    }

    @Override
    public io.github.sgdph.curvature.FactoredLayer.Kind kind() {
      return io.github.sgdph.curvature.FactoredLayer.Kind.CONV2D;
    }

    @Override
    public long inputDim() {
      return c * op.win.size();
    }

    @Override
    public long outputDim() {
      return o;
    }

    @Override
    public long positions() {
      return oh * ow;
    }

    /** The window matrix's rows {@code (i, oy, ox)} as {@code [n, c·kh·kw, oh·ow]}. */
    @Override
    public INDArray factorInputs() {
      return cols.reshape('c', n, oh * ow, c * op.win.size()).permute(0, 2, 1);
    }

    @Override
    public INDArray factorOutputGradient(INDArray g) {
      return g.reshape('c', n, o, oh * ow);
    }

    @Override
    INDArray backward(INDArray g, boolean[] want, INDArray[] pg, boolean needIn) {
      INDArray gm = g2(g);
      if (wants(want, 0)) {
        pg[0] = weightShape(matmul(gm, cols, true, false));
      }
      if (wants(want, 1)) {
        pg[1] = Nd4jArrays.sum(gm, true, 0);
      }
      return needIn ? fromColumns(matmul(gm, w2, false, false)) : null;
    }

    @Override
    RState rForward(INDArray rIn, INDArray[] v) {
      INDArray vw = slot(v, 0);
      INDArray vb = slot(v, 1);
      INDArray rcols = rIn == null ? null : columns(rIn);
      INDArray r = rcols == null ? null : matmul(rcols, w2, false, true);
      if (vw != null) {
        r = Nd4jArrays.addInto(
            r, matmul(cols, vw.reshape('c', o, c * op.win.size()), false, true));
      }
      if (vb != null) {
        if (r == null) {
          r = Nd4j.zeros(z.dataType(), n * oh * ow, o);
        }
        Nd4jArrays.addRowInPlace(r, vb);
      }
      return new RState(rIn, r == null ? null : toNchw(r), rcols);
    }

    @Override
    INDArray rBackward(
        RState r, INDArray[] v, INDArray g, INDArray rg, boolean[] want, INDArray[] rpg,
        boolean needIn) {
      INDArray gm = g2(g);
      INDArray rgm = rg == null ? null : toMatrix(rg);
      INDArray rcols = r.aux;
      INDArray vw = slot(v, 0);
      if (wants(want, 0)) {
        INDArray a = rgm == null ? null : matmul(rgm, cols, true, false);
        if (rcols != null) {
          a = Nd4jArrays.addInto(a, matmul(gm, rcols, true, false));
        }
        rpg[0] = a == null ? null : weightShape(a);
      }
      if (wants(want, 1)) {
        rpg[1] = rgm == null ? null : Nd4jArrays.sum(rgm, true, 0);
      }
      if (!needIn) {
        return null;
      }
      INDArray m = rgm == null ? null : matmul(rgm, w2, false, false);
      if (vw != null) {
        m = Nd4jArrays.addInto(
            m, matmul(gm, vw.reshape('c', o, c * op.win.size()), false, false));
      }
      return m == null ? null : fromColumns(m);
    }
  }
}
