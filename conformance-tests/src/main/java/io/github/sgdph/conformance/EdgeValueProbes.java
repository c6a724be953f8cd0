package io.github.sgdph.conformance;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LayerSpec.ActivationKind;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Tiny models whose activations, losses and batch-norm statistics sit exactly at the edges where
 * frameworks replace a function by an approximation: PyTorch's softplus returns {@code z} above
 * 20; TensorFlow's returns {@code z} above {@code −log ε − 2} (34.04 in float64, 13.94 in
 * float32) and {@code eᶻ} below {@code log ε + 2}; {@code log(1 + u)} instead of {@code
 * log1p(u)} loses everything below {@code ε}; {@code exp} overflows above 709.8 (88.7 in
 * float32); the logistic function saturates to 1 above 36.7; a batch-norm {@code ε} passed as a
 * float32 (DJL's API) is {@code 9.99999974·10⁻⁶}, not {@code 10⁻⁵}.
 *
 * <p>Each probe is built so that the quantity under test is not drowned by larger terms: the
 * activation probes are {@code x → a·act(w x)} with {@code w = 1} (so the pre-activation is
 * exactly the chosen point), no bias and a zero target, so every loss, gradient and product is a
 * product of the activation's value and derivatives, and a relative error in them is a relative
 * error of the result. Binary cross-entropy targets are chosen where {@code σ(z) − y} has no
 * cancellation (it loses all relative accuracy at {@code z ≫ 0, y = 1} in every implementation,
 * the reference included).
 *
 * @param label what is probed, for test names
 * @param spec the model
 * @param parameters its parameters
 * @param batch its one batch
 * @param conditioning the factor by which rounding in the curvature products of a correct
 *     implementation may be amplified: 1, except for a saturating sigmoid (see {@link
 *     #SIGMOID_POINTS}) and for softmax cross-entropy, whose Hessian {@code
 *     diag(p) − ppᵀ} applied to {@code u} as autograd does ({@code p ⊙ (u − pᵀu)}, PyTorch's and
 *     TensorFlow's softmax backward) cancels to a relative accuracy of {@code ε / p_min}: 1/p_min
 *     with {@code p_min} the smallest class probability (1 where it underflows to 0: the
 *     Hessian is then exactly 0 in every implementation)
 */
record EdgeValueProbes(
    String label, ModelSpec spec, List<NamedArray> parameters, ArrayBatch batch,
    double conditioning) {

  /** Softplus and binary cross-entropy points: around and beyond every threshold above. */
  static final double[] SOFTPLUS_POINTS = {
    -800, -100, -40, -34.5, -34.04, -30, -25, -20.5, -20, -15, -13.94, -13, -1, 0, 1, 13,
    13.94, 15, 19.9, 20, 20.5, 25, 30, 34.04, 34.5, 40, 100, 800
  };

  /**
   * Logistic-function points: saturation, overflow of {@code e^{−z}} below −709.8. Every
   * implementation (PyTorch's {@code sigmoid_backward}, TensorFlow's {@code SigmoidGrad}, the
   * reference) takes the derivative from the rounded output, {@code σ(1 − σ)}, whose relative
   * accuracy for {@code z > 0} is {@code ε e^z} (the {@linkplain #conditioning() conditioning}
   * of those probes); between ~20 and 37.4 it is decided by how {@code σ} rounds next to 1, so no
   * point is probed there; above 37.4, {@code σ} rounds to 1 everywhere and the derivative is 0.
   */
  static final double[] SIGMOID_POINTS = {-800, -40, -36.8, -20, -1, 0, 1, 20, 40, 800};

  /**
   * Hyperbolic tangent points. Its derivative {@code 1 − y²} from the rounded output has the
   * same limit as the sigmoid's: near ±19.1, where {@code tanh} rounds to ±1 or not depending on
   * the implementation's last bit (ND4J's and Java's differ at ±19), nothing is probed; at ±20
   * it rounds to ±1 everywhere.
   */
  static final double[] TANH_POINTS = {-400, -20, -1, 0, 1, 20, 400};

  /** Rectifier points, including the kink itself (its derivative there is 0 by convention). */
  static final double[] RELU_POINTS = {-1, 0, 1e-300, 1};

  /**
   * Softmax cross-entropy logit gaps: saturation and {@code exp} overflow. Between 20 and the
   * underflow of the smaller probability (~745) the Hessian-vector product has no meaningful
   * relative accuracy in any autograd implementation (see {@link #conditioning()}).
   */
  static final double[] SOFTMAX_POINTS = {-1000, -20, -1, 0, 1, 20, 1000};

  static List<EdgeValueProbes> all() {
    List<EdgeValueProbes> out = new ArrayList<>();
    for (double z : SOFTPLUS_POINTS) {
      out.add(activation(ActivationKind.SOFTPLUS, z));
    }
    for (double z : SIGMOID_POINTS) {
      out.add(activation(ActivationKind.SIGMOID, z));
    }
    for (double z : TANH_POINTS) {
      out.add(activation(ActivationKind.TANH, z));
    }
    for (double z : RELU_POINTS) {
      out.add(activation(ActivationKind.RELU, z));
    }
    for (double z : SOFTPLUS_POINTS) {
      out.add(binaryCrossEntropy(z, 0));
      if (z < 0) {
        out.add(binaryCrossEntropy(z, 1));
      }
    }
    for (double z : SOFTMAX_POINTS) {
      out.add(softmaxCrossEntropy(z, 0));
      out.add(softmaxCrossEntropy(z, 1));
    }
    for (double spread : new double[] {1e-1, 1e-3, 1e-4}) {
      out.add(batchNorm(spread));
    }
    return out;
  }

  private static String num(double z) {
    return String.format(Locale.ROOT, "%s", z);
  }

  /** {@code [z, z + 1/4] → dense(w = 1) → act → dense(a = 3/4) → mse against 0}. */
  static EdgeValueProbes activation(ActivationKind kind, double z) {
    ModelSpec spec =
        new ModelSpec(
            new int[] {1},
            List.of(
                new LayerSpec.Dense(1, 1, false),
                new LayerSpec.Activation(kind),
                new LayerSpec.Dense(1, 1, false)),
            LossKind.MSE);
    List<NamedArray> params =
        List.of(
            new NamedArray("0.weight", new int[] {1, 1}, new double[] {1.0}),
            new NamedArray("2.weight", new int[] {1, 1}, new double[] {0.75}));
    ArrayBatch batch =
        new ArrayBatch(new double[] {z, z + 0.25}, new int[] {2, 1}, new double[2], new int[] {2, 1});
    double conditioning =
        kind == ActivationKind.SIGMOID && z > 0 && z <= 20 ? 1 + Math.exp(z + 0.25) : 1;
    return new EdgeValueProbes(
        kind.jsonName() + " at " + num(z), spec, params, batch, conditioning);
  }

  /** Logits {@code [z, z + 1/4]} through {@code dense(w = 1)}, both with target {@code y}. */
  static EdgeValueProbes binaryCrossEntropy(double z, double y) {
    ModelSpec spec =
        new ModelSpec(
            new int[] {1}, List.of(new LayerSpec.Dense(1, 1, false)),
            LossKind.SIGMOID_BINARY_CROSS_ENTROPY);
    List<NamedArray> params =
        List.of(new NamedArray("0.weight", new int[] {1, 1}, new double[] {1.0}));
    ArrayBatch batch =
        new ArrayBatch(
            new double[] {z, z + 0.25}, new int[] {2, 1}, new double[] {y, y}, new int[] {2, 1});
    return new EdgeValueProbes(
        "sigmoid binary cross-entropy at logit " + num(z) + ", target " + num(y), spec, params,
        batch, 1);
  }

  /** Logits {@code (z, 0)} and {@code (0, z)} through {@code dense(I)}, both of class {@code c}. */
  static EdgeValueProbes softmaxCrossEntropy(double z, int c) {
    ModelSpec spec =
        new ModelSpec(
            new int[] {2}, List.of(new LayerSpec.Dense(2, 2, false)),
            LossKind.SOFTMAX_CROSS_ENTROPY);
    List<NamedArray> params =
        List.of(new NamedArray("0.weight", new int[] {2, 2}, new double[] {1, 0, 0, 1}));
    ArrayBatch batch =
        new ArrayBatch(
            new double[] {z, 0, 0, z}, new int[] {2, 2}, new double[] {c, c}, new int[] {2});
    double pMin = 1 / (1 + Math.exp(Math.abs(z)));
    return new EdgeValueProbes(
        "softmax cross-entropy at logit gap " + num(z) + ", class " + c, spec, params, batch,
        pMin == 0 ? 1 : 1 / pMin);
  }

  /**
   * A train-mode batch norm ({@code ε = 10⁻⁵}) of four samples whose spread makes the batch
   * variance comparable to {@code ε}: a float32 {@code ε} would show at {@code 10⁻⁹} relative.
   */
  static EdgeValueProbes batchNorm(double spread) {
    // no layer before the batch norm: a weight there would be scale-invariant, its gradient a
    // difference of terms ~1/σ larger, conditioned worse than the 1e-14 this test asks for
    ModelSpec spec =
        new ModelSpec(
            new int[] {1},
            List.of(
                new LayerSpec.BatchNorm(1, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
                new LayerSpec.Dense(1, 1, false)),
            LossKind.MSE);
    List<NamedArray> params =
        List.of(
            new NamedArray("0.weight", new int[] {1}, new double[] {1.5}),
            new NamedArray("0.bias", new int[] {1}, new double[] {0.25}),
            new NamedArray("1.weight", new int[] {1, 1}, new double[] {0.75}));
    double s = spread;
    ArrayBatch batch =
        new ArrayBatch(
            new double[] {0.5, 0.5 + s, 0.5 - 2 * s, 0.5 + 3 * s}, new int[] {4, 1},
            new double[] {1, -1, 0.5, 2}, new int[] {4, 1});
    return new EdgeValueProbes(
        "train-mode batch norm, batch spread " + num(spread), spec, params, batch, 1);
  }
}
