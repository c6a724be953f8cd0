package io.github.sgdph.dl4j;

import static io.github.sgdph.dl4j.Nd4jArrays.matmul;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The affine part of a DL4J {@code DenseLayer} or {@code OutputLayer}: {@code z = x W + b} with
 * DL4J's weight {@code W [in, out]} (slot 0) and bias {@code b [1, out]} (slot 1, if any).
 *
 * <p>Derivatives: {@code ∂W = xᵀ g}, {@code ∂b = Σ_rows g}, {@code ∂x = g Wᵀ};
 * {@code R{z} = R{x} W + x V_W + V_b}; and, the map being bilinear in {@code (x, W)},
 * {@code R{∂W} = R{x}ᵀ g + xᵀ R{g}}, {@code R{∂b} = Σ_rows R{g}},
 * {@code R{∂x} = R{g} Wᵀ + g V_Wᵀ}. Every product is one BLAS gemm
 * ({@link Nd4jArrays#matmul}).
 */
final class AffineOp extends Op {
  private final boolean bias;
  /** The memory order of the weight gradients {@code [in, out]} ('c' or 'f'). */
  private final char gradientOrder;

  /**
   * @param gradientOrder the memory order in which to compute the weight gradients
   *     {@code ∂W} and {@code R{∂W}} ({@code [in, out]}): {@code 'f'} when the weight's block
   *     is PyTorch's {@code [out, in]} (its row-major memory), {@code 'c'} when it is DL4J's
   *     {@code [in, out]}
   */
  AffineOp(String where, boolean bias, char gradientOrder) {
    super(where);
    if (gradientOrder != 'c' && gradientOrder != 'f') {
      throw new IllegalArgumentException("gradientOrder: 'c' or 'f' but was " + gradientOrder);
    }
    this.bias = bias;
    this.gradientOrder = gradientOrder;
  }

  @Override
  int slots() {
    return bias ? 2 : 1;
  }

  @Override
  Node forward(INDArray x, INDArray[] p, boolean keep) {
    INDArray w = p[0];
    INDArray z = matmul(x, w, false, false);
    if (bias) {
      Nd4jArrays.addRowInPlace(z, p[1]);
    }
    return new N(x, w, z, gradientOrder);
  }

  private static final class N extends Node implements FactoredNode {
    INDArray x;
    INDArray w;
    INDArray z;
    final char gradientOrder;

    N(INDArray x, INDArray w, INDArray z, char gradientOrder) {
      this.x = x;
      this.w = w;
      this.z = z;
      this.gradientOrder = gradientOrder;
    }

    @Override
    INDArray out() {
      return z;
    }

    @Override
    void keep(Scratch s) {
      x = s.keep(x);
      w = s.keep(w);
      z = s.keep(z);
    }

    @Override
    public io.github.sgdph.curvature.FactoredLayer.Kind kind() {
      return io.github.sgdph.curvature.FactoredLayer.Kind.DENSE;
    }

    @Override
    public long inputDim() {
      return x.size(1);
    }

    @Override
    public long outputDim() {
      return z.size(1);
    }

    @Override
    public long positions() {
      return 1;
    }

    @Override
    public INDArray factorInputs() {
      return x.reshape(x.ordering(), x.size(0), x.size(1), 1);
    }

    @Override
    public INDArray factorOutputGradient(INDArray g) {
      return g.reshape(g.ordering(), g.size(0), g.size(1), 1);
    }

    @Override
    INDArray backward(INDArray g, boolean[] want, INDArray[] pg, boolean needIn) {
      if (wants(want, 0)) {
        pg[0] = matmul(x, g, true, false, gradientOrder);
      }
      if (wants(want, 1)) {
        pg[1] = Nd4jArrays.sum(g, true, 0);
      }
      return needIn ? matmul(g, w, false, true) : null;
    }

    @Override
    RState rForward(INDArray rIn, INDArray[] v) {
      INDArray vw = slot(v, 0);
      INDArray vb = slot(v, 1);
      INDArray r = rIn == null ? null : matmul(rIn, w, false, false);
      if (vw != null) {
        r = Nd4jArrays.addInto(r, matmul(x, vw, false, false));
      }
      if (vb != null) {
        if (r == null) {
          r = org.nd4j.linalg.factory.Nd4j.zeros(z.dataType(), z.shape());
        }
        Nd4jArrays.addRowInPlace(r, vb);
      }
      return new RState(rIn, r, null);
    }

    @Override
    INDArray rBackward(
        RState r, INDArray[] v, INDArray g, INDArray rg, boolean[] want, INDArray[] rpg,
        boolean needIn) {
      INDArray vw = slot(v, 0);
      if (wants(want, 0)) {
        INDArray a = r.rIn == null ? null : matmul(r.rIn, g, true, false, gradientOrder);
        rpg[0] = rg == null
            ? a : Nd4jArrays.addInto(a, matmul(x, rg, true, false, gradientOrder));
      }
      if (wants(want, 1)) {
        rpg[1] = rg == null ? null : Nd4jArrays.sum(rg, true, 0);
      }
      if (!needIn) {
        return null;
      }
      INDArray a = rg == null ? null : matmul(rg, w, false, true);
      return vw == null ? a : Nd4jArrays.addInto(a, matmul(g, vw, false, true));
    }
  }
}
