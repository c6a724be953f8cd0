package io.github.sgdph.dl4j;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A stage of several inputs in a {@code ComputationGraph}: DL4J's {@code ElementWiseVertex}
 * with {@code Add} ({@code y = Σ_k x_k}, the residual merge of He et al., CVPR 2016, eq. 1–2)
 * or {@code MergeVertex} ({@code y = [x_1, …, x_K]} concatenated along dimension 1: features of
 * {@code [n, F]}, channels of NCHW).
 *
 * <p>Both are linear and have no parameters, so the Jacobian is constant: {@code R{y}} is the
 * same map of the inputs' R-derivatives, the backward pass is its transpose (for the sum, every
 * input receives {@code g}; for the concatenation, input {@code k} its slice of {@code g}), and
 * the R-backward pass is the backward pass applied to {@code R{g}}: no second-order term. Fan-in
 * is handled here; fan-out (one array read by several stages) by the plan, which adds the
 * gradients of all consumers.
 */
final class JoinOp extends Op {

  /** What the stage computes. */
  enum Kind {
    /** {@code ElementWiseVertex(Add)}: the element-wise sum of inputs of one shape. */
    ADD,
    /** {@code MergeVertex}: the concatenation along dimension 1. */
    CONCAT
  }

  final Kind kind;

  JoinOp(String where, Kind kind) {
    super(where);
    this.kind = kind;
  }

  @Override
  Node forward(INDArray x, INDArray[] p, boolean keep) {
    return forwardInputs(new INDArray[] {x}, p, keep, false);
  }

  @Override
  Node forwardInputs(INDArray[] xs, INDArray[] p, boolean keep, boolean eval) {
    long[][] shapes = new long[xs.length][];
    for (int k = 0; k < xs.length; k++) {
      shapes[k] = xs[k].shape();
      if (kind == Kind.ADD && !java.util.Arrays.equals(shapes[k], shapes[0])) {
        throw new IllegalArgumentException(
            where + ": input " + k + " has shape " + java.util.Arrays.toString(shapes[k])
                + " but input 0 has " + java.util.Arrays.toString(shapes[0]));
      }
    }
    return new N(this, shapes, apply(xs, shapes));
  }

  /** The stage's map (linear) at {@code xs}; a null entry stands for zeros, all null gives null. */
  private INDArray apply(INDArray[] xs, long[][] shapes) {
    if (kind == Kind.ADD) {
      INDArray y = null;
      for (INDArray x : xs) {
        if (x != null) {
          y = y == null ? x.dup('c') : y.addi(x);
        }
      }
      return y;
    }
    boolean any = false;
    INDArray[] parts = new INDArray[xs.length];
    for (int k = 0; k < xs.length; k++) {
      any |= xs[k] != null;
      parts[k] = xs[k] != null ? xs[k] : Nd4j.zeros(dataType(xs), shapes[k]);
    }
    return any ? Nd4j.concat(1, parts) : null;
  }

  private static org.nd4j.linalg.api.buffer.DataType dataType(INDArray[] xs) {
    for (INDArray x : xs) {
      if (x != null) {
        return x.dataType();
      }
    }
    throw new IllegalStateException("no input");
  }

  private static final class N extends Node {
    final JoinOp op;
    final long[][] shapes;
    INDArray y;

    N(JoinOp op, long[][] shapes, INDArray y) {
      this.op = op;
      this.shapes = shapes;
      this.y = y;
    }

    @Override
    INDArray out() {
      return y;
    }

    @Override
    void keep(Scratch s) {
      y = s.keep(y);
    }

    /** The transpose of the map: per input, its part of {@code g} (null where not needed). */
    private INDArray[] transpose(INDArray g, boolean[] needIn) {
      INDArray[] out = new INDArray[shapes.length];
      if (g == null) {
        return out;
      }
      long offset = 0;
      for (int k = 0; k < shapes.length; k++) {
        long width = shapes[k][1];
        if (needIn[k]) {
          if (op.kind == Kind.ADD) {
            out[k] = g;
          } else {
            INDArrayIndex[] at = new INDArrayIndex[g.rank()];
            java.util.Arrays.fill(at, NDArrayIndex.all());
            at[1] = NDArrayIndex.interval(offset, offset + width);
            out[k] = g.get(at).dup('c');
          }
        }
        offset += op.kind == Kind.ADD ? 0 : width;
      }
      return out;
    }

    @Override
    INDArray backward(INDArray g, boolean[] want, INDArray[] pg, boolean needIn) {
      return backwardInputs(g, want, pg, new boolean[] {needIn})[0];
    }

    @Override
    INDArray[] backwardInputs(INDArray g, boolean[] want, INDArray[] pg, boolean[] needIn) {
      return transpose(g, needIn);
    }

    @Override
    RState rForward(INDArray rIn, INDArray[] v) {
      return rForwardInputs(new INDArray[] {rIn}, v);
    }

    @Override
    RState rForwardInputs(INDArray[] rIn, INDArray[] v) {
      return new RState(null, op.apply(rIn, shapes), null);
    }

    @Override
    INDArray rBackward(
        RState r, INDArray[] v, INDArray g, INDArray rg, boolean[] want, INDArray[] rpg,
        boolean needIn) {
      return rBackwardInputs(r, v, g, rg, want, rpg, new boolean[] {needIn})[0];
    }

    @Override
    INDArray[] rBackwardInputs(
        RState r, INDArray[] v, INDArray g, INDArray rg, boolean[] want, INDArray[] rpg,
        boolean[] needIn) {
      return transpose(rg, needIn);
    }
  }
}
