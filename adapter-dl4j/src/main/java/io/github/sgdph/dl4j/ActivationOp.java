package io.github.sgdph.dl4j;

import java.util.Locale;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * An element-wise activation {@code y = σ(x)}: the activation of a {@code DenseLayer} or
 * {@code ConvolutionLayer}, an {@code ActivationLayer}, or the output activation before an MSE
 * loss.
 *
 * <p>Derivatives: {@code ∂x = σ'(x) ⊙ g}; {@code R{y} = σ'(x) ⊙ R{x}};
 * {@code R{∂x} = σ'(x) ⊙ R{g} + σ''(x) ⊙ R{x} ⊙ g}, with
 * <ul>
 *   <li>relu: {@code σ' = [x > 0]} (0 at the kink, as PyTorch), {@code σ'' = 0};
 *   <li>tanh: {@code σ' = 1 − y²}, {@code σ'' = −2 y σ'};
 *   <li>sigmoid: {@code σ' = y (1 − y)}, {@code σ'' = σ' (1 − 2y)};
 *   <li>softplus {@code log(1 + eˣ)}, computed as {@code max(x, 0) + log1p(e^{−|x|})} with
 *       {@link ExactMath#log1p} (ND4J's own is {@code log(1 + u)}): {@code σ' = sigmoid(x)},
 *       {@code σ'' = sigmoid(x) sigmoid(−x)};
 *   <li>identity: {@code σ' = 1}, {@code σ'' = 0}.
 * </ul>
 */
final class ActivationOp extends Op {

  /** The supported element-wise activations. */
  enum Kind {
    IDENTITY,
    RELU,
    TANH,
    SIGMOID,
    SOFTPLUS;

    String jsonName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  final Kind kind;

  ActivationOp(String where, Kind kind) {
    super(where);
    this.kind = kind;
  }

  @Override
  Node forward(INDArray x, INDArray[] p, boolean keep) {
    INDArray y;
    INDArray d1 = null;
    INDArray d2 = null;
    switch (kind) {
      case IDENTITY -> y = x;
      case RELU -> {
        y = Transforms.relu(x, true);
        if (keep) {
          d1 = x.gt(0.0).castTo(x.dataType());
        }
      }
      case TANH -> {
        y = Transforms.tanh(x, true);
        if (keep) {
          d1 = y.mul(y).rsubi(1.0);
        }
      }
      case SIGMOID -> {
        y = Transforms.sigmoid(x, true);
        if (keep) {
          d1 = y.sub(y.mul(y));
        }
      }
      case SOFTPLUS -> {
        y = ExactMath.softplus(x);
        if (keep) {
          d1 = Transforms.sigmoid(x, true);
          // σ(x) σ(−x), not σ(1 − σ): no cancellation as σ(x) → 1
          d2 = Transforms.sigmoid(x.neg(), false).muli(d1);
        }
      }
      default -> throw new IllegalStateException(kind.name());
    }
    return new N(kind, y, d1, d2);
  }

  private static final class N extends Node {
    final Kind kind;
    INDArray y;
    /** σ'(x), null for the identity. */
    INDArray d1;
    /**
     * σ''(x): softplus's from the forward pass (it needs {@code x}, not only the output), the
     * others' on first use; stays null where it is zero (relu, identity).
     */
    INDArray d2;

    N(Kind kind, INDArray y, INDArray d1, INDArray d2) {
      this.kind = kind;
      this.y = y;
      this.d1 = d1;
      this.d2 = d2;
    }

    @Override
    INDArray out() {
      return y;
    }

    @Override
    void keep(Scratch s) {
      secondDerivative();
      y = s.keep(y);
      d1 = s.keep(d1);
      d2 = s.keep(d2);
    }

    private INDArray times1(INDArray a) {
      return a == null ? null : d1 == null ? a : a.mul(d1);
    }

    private INDArray secondDerivative() {
      if (d2 == null) {
        d2 =
            switch (kind) {
              case TANH -> y.mul(d1).muli(-2.0);
              case SIGMOID -> y.mul(-2.0).addi(1.0).muli(d1);
              default -> null;
            };
      }
      return d2;
    }

    @Override
    INDArray backward(INDArray g, boolean[] want, INDArray[] pg, boolean needIn) {
      return needIn ? times1(g) : null;
    }

    @Override
    RState rForward(INDArray rIn, INDArray[] v) {
      return new RState(rIn, times1(rIn), null);
    }

    @Override
    INDArray rBackward(
        RState r, INDArray[] v, INDArray g, INDArray rg, boolean[] want, INDArray[] rpg,
        boolean needIn) {
      if (!needIn) {
        return null;
      }
      INDArray out = times1(rg);
      if (r.rIn != null && kind != Kind.RELU && kind != Kind.IDENTITY) {
        INDArray second = r.rIn.mul(secondDerivative()).muli(g);
        out = out == null ? second : out == rg ? second.addi(rg) : out.addi(second);
      }
      return out;
    }
  }
}
