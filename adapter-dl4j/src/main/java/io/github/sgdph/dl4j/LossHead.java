package io.github.sgdph.dl4j;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The loss on the network outputs {@code z [n, k]} with targets {@code y [n, k]}, its gradient
 * {@code ∇_z L} and its Hessian-vector product {@code H_L u}, all for the batch loss
 * {@code L = c · Σ ℓ} with {@code c = 1/n} (per-sample sums, as DL4J's {@code MCXENT},
 * {@code XENT}, {@code L2}) or {@code c = 1/(n k)} (mean over all elements, as DL4J's
 * {@code MSE} and the spec's {@code mse} and {@code sigmoid_binary_cross_entropy}).
 *
 * <ul>
 *   <li>Softmax cross-entropy on logits: {@code ℓ_i = s_i lse(z_i) − y_iᵀ z_i} with
 *       {@code s_i = Σ_c y_ic} (1 for one-hot labels); {@code ∇ = c (s p − y)} with
 *       {@code p = softmax(z)}; {@code H_L u = c s (p ⊙ u − p (pᵀ u))} row by row.
 *   <li>Squared error: {@code ℓ = Σ (z − y)²}; {@code ∇ = 2c (z − y)}; {@code H_L u = 2c u}.
 *   <li>Sigmoid binary cross-entropy on logits: {@code ℓ = Σ softplus(z) − y z} (computed as
 *       {@code max(z, 0) + log1p(e^{−|z|}) − y z} with {@link ExactMath#log1p}); {@code ∇ = c (σ(z) − y)};
 *       {@code H_L u = c σ(z)(1 − σ(z)) ⊙ u}.
 * </ul>
 * The network outputs {@code z} are the logits for the two cross-entropies and the
 * activations for squared error, so that the generalized Gauss-Newton matrix
 * {@code Jᵀ H_L J} is positive semi-definite (Schraudolph 2002).
 *
 * <p>A <em>sequence</em> head (DL4J's {@code RnnOutputLayer}) takes outputs and targets
 * {@code [n, k, T]}: every time step of every sample is a row of the loss above, and the batch
 * loss is {@code L = c · Σ_i Σ_t ℓ_it} with {@code c = 1/n} ({@code 1/(n k)} for MSE), {@code n}
 * the number of sequences — DL4J's own score ({@code BaseOutputLayer.computeScore} sums the loss
 * over the {@code n·T} rows of {@code TimeSeriesUtils.reshape3dTo2d} and divides by the
 * minibatch size {@code n}); the term of sample {@code i} is its sum over time steps.
 */
final class LossHead {

  /** The loss functions. */
  enum Kind {
    SOFTMAX_CROSS_ENTROPY,
    SQUARED_ERROR,
    SIGMOID_BINARY_CROSS_ENTROPY
  }

  final Kind kind;
  /** Whether the loss is the mean over all elements ({@code 1/(n k)}) rather than over samples. */
  final boolean perElement;
  /** A description for messages, e.g. {@code OutputLayer softmax + MCXENT}. */
  final String description;
  /** Whether outputs and targets are sequences {@code [n, k, T]} (an {@code RnnOutputLayer}). */
  final boolean sequence;

  LossHead(Kind kind, boolean perElement, String description) {
    this(kind, perElement, description, false);
  }

  LossHead(Kind kind, boolean perElement, String description, boolean sequence) {
    this.kind = kind;
    this.perElement = perElement;
    this.description = description;
    this.sequence = sequence;
  }

  /** The loss at outputs {@code z} and targets {@code y}. */
  Eval evaluate(INDArray z, INDArray y) {
    return new Eval(z, y);
  }

  /** The loss evaluated at one point, with its derivatives there. */
  final class Eval {
    private INDArray z;
    private INDArray y;
    final double c;
    final double value;
    /** softmax(z) or sigmoid(z); null for squared error. */
    private INDArray p;
    /** {@code s_i}: the row sums of the labels (cross-entropy only). */
    private INDArray labelMass;

    /** The number of sequences (of a sequence head; else unused). */
    private final long sequences;

    Eval(INDArray z3, INDArray y3) {
      this.sequences = z3.size(0);
      this.z = rows(z3);
      this.y = rows(y3);
      long n = sequences;
      this.c = perElement ? 1.0 / (n * z3.size(1)) : 1.0 / n;
      switch (kind) {
        case SOFTMAX_CROSS_ENTROPY -> {
          INDArray m = Nd4jArrays.max(z, 1);
          INDArray e = Transforms.exp(Nd4jArrays.subColumn(z, m), false);
          INDArray sum = Nd4jArrays.sum(e, false, 1);
          this.p = Nd4jArrays.divColumnInPlace(e, sum);
          INDArray lse = Transforms.log(sum, false).addi(m);
          this.labelMass = Nd4jArrays.sum(y, false, 1);
          this.value =
              c * (Nd4jArrays.sumAll(labelMass.mul(lse)) - Nd4jArrays.sumAll(y.mul(z)));
        }
        case SQUARED_ERROR -> {
          this.p = null;
          this.labelMass = null;
          INDArray d = z.sub(y);
          this.value = c * Nd4jArrays.sumAll(d.mul(d));
        }
        case SIGMOID_BINARY_CROSS_ENTROPY -> {
          this.p = Transforms.sigmoid(z, true);
          this.labelMass = null;
          INDArray l = ExactMath.softplus(z).subi(y.mul(z));
          this.value = c * Nd4jArrays.sumAll(l);
        }
        default -> throw new IllegalStateException(kind.name());
      }
    }

    /** Copies what the derivatives need out of the current scope. */
    void keep(Scratch s) {
      z = s.keep(z);
      y = s.keep(y);
      p = s.keep(p);
      labelMass = s.keep(labelMass);
    }

    /** A sequence head's {@code [n, k, T]} as time-major rows; others as they are. */
    private INDArray rows(INDArray a) {
      return sequence ? LstmOp.toTimeMajor(a, false) : a;
    }

    /** Rows back to the outputs' shape. */
    private INDArray outputs(INDArray rows) {
      return sequence ? LstmOp.fromTimeMajor(rows, sequences, false) : rows;
    }

    /** {@code ∇_z L}. */
    INDArray gradient() {
      return outputs(switch (kind) {
        case SOFTMAX_CROSS_ENTROPY -> Nd4jArrays.mulColumn(p, labelMass).subi(y).muli(c);
        case SQUARED_ERROR -> z.sub(y).muli(2 * c);
        case SIGMOID_BINARY_CROSS_ENTROPY -> p.sub(y).muli(c);
      });
    }

    /** {@code H_L u}; null for {@code u == null}. */
    INDArray hessianVector(INDArray u) {
      if (u == null) {
        return null;
      }
      return outputs(rowsHessianVector(rows(u)));
    }

    private INDArray rowsHessianVector(INDArray u) {
      return switch (kind) {
        case SOFTMAX_CROSS_ENTROPY -> {
          INDArray pu = p.mul(u);
          INDArray d = pu.subi(Nd4jArrays.mulColumn(p, Nd4jArrays.sum(pu, false, 1)));
          yield Nd4jArrays.mulColumnInPlace(d, labelMass).muli(c);
        }
        case SQUARED_ERROR -> u.mul(2 * c);
        // σ(z) σ(−z), not σ(1 − σ): no cancellation as σ(z) → 1
        case SIGMOID_BINARY_CROSS_ENTROPY ->
            Transforms.sigmoid(z.neg(), false).muli(p).muli(u).muli(c);
      };
    }
  }

  @Override
  public String toString() {
    return description;
  }
}
