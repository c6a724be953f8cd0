package io.github.sgdph.tensorflow;

import io.github.sgdph.model.LayerSpec;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Unstack;
import org.tensorflow.op.linalg.MatMul;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TFloating;

/**
 * A spec {@code lstm} layer ({@link LayerSpec.Lstm}; docs/CASE-FORMAT.md, "LSTM and sequence
 * data") as a TensorFlow graph <em>unrolled through time with ordinary ops</em> — {@code MatMul},
 * {@code Reshape}, {@code AddV2}, {@code Mul}, {@code Sigmoid}, {@code Tanh}, {@code Split},
 * {@code Unpack} and {@code Pack} — so that TensorFlow's symbolic gradients, with the
 * second-order gradients of {@link SecondOrderGradients} ({@code SigmoidGrad}, {@code
 * TanhGrad}), differentiate the recurrence twice and the Hessian-, Gauss-Newton- and
 * Jacobian-vector products of {@link CurvatureGraph} are exact through time (Pearlmutter, "Fast
 * exact multiplication by the Hessian", Neural Computation 6(1), 1994, §4; Hochreiter and
 * Schmidhuber 1997 for the cell). TensorFlow's fused recurrent kernels ({@code LSTMBlockCell},
 * {@code BlockLSTM}, {@code CudnnRNN}) are deliberately not used: their gradient ops ({@code
 * LSTMBlockCellGrad}, {@code BlockLSTMGrad}, {@code CudnnRNNBackprop}) have no gradient
 * themselves, so a Hessian-vector product through them cannot be formed.
 *
 * <p>The parameters are the spec's own, in its layout (PyTorch's {@code nn.LSTM} with one bias):
 * per stacked layer {@code k}, {@code weight_ih_lk [4H, F_k]}, {@code weight_hh_lk [4H, H]} and
 * {@code bias_lk [4H]}, rows the gates {@code i, f, g, o} in that order; the graph multiplies by
 * their transposes ({@code MatMul} with {@code transpose_b}), so Keras' {@code kernel = W_ihᵀ},
 * {@code recurrent_kernel = W_hhᵀ} appear nowhere as separate tensors. Each step computes {@code
 * z = x_t W_ihᵀ + h_{t−1} W_hhᵀ + b}, {@code i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)},
 * {@code c_t = f ∘ c_{t−1} + i ∘ g}, {@code h_t = o ∘ tanh(c_t)}, from zero initial states; the
 * first step, where {@code h_0 = c_0 = 0}, computes {@code z = x_1 W_ihᵀ + b} and {@code c_1 = i
 * ∘ g} (the same function and derivatives, without products by zero); with a single time step
 * it adds {@code 0 · W_hhᵀ} so that {@code W_hh} is in the graph (TensorFlow refuses to
 * differentiate with respect to an input the loss does not reach) with gradient exactly 0. The input products of all
 * steps are one {@code MatMul} of the sequence reshaped to {@code [N·T, F_k]}. Input {@code [N,
 * T, F]}; output {@code [N, H]} ({@code h_T} of the top layer) or {@code [N, T, H]} with {@code
 * return_sequences}.
 */
final class TfLstm {
  private TfLstm() {}

  /**
   * The layer's output on {@code x}.
   *
   * @param tf the scope to build in
   * @param spec the layer
   * @param steps the number of time steps {@code T} (the spec model's input shape fixes it)
   * @param x the input sequences {@code [N, T, in]}
   * @param weights the layer's entries in spec order: {@code weight_ih_l0, weight_hh_l0,
   *     bias_l0, weight_ih_l1, ...}
   * @return {@code [N, H]} or, with {@code return_sequences}, {@code [N, T, H]}
   */
  static Operand<TFloating> build(
      Ops tf, LayerSpec.Lstm spec, int steps, Operand<TFloating> x,
      List<Operand<TFloating>> weights) {
    if (weights.size() != 3 * spec.numLayers()) {
      throw new IllegalArgumentException("weights: an lstm of " + spec.numLayers()
          + " stacked layers has " + 3 * spec.numLayers() + " entries but got " + weights.size());
    }
    int hidden = spec.hidden();
    Operand<TFloating> seq = x;
    List<Operand<TFloating>> h = null;
    for (int k = 0; k < spec.numLayers(); k++) {
      Ops lk = tf.withSubScope("lstm_l" + k);
      Operand<TFloating> wih = weights.get(3 * k);
      Operand<TFloating> whh = weights.get(3 * k + 1);
      Operand<TFloating> b = weights.get(3 * k + 2);
      // the input products and the bias of every step at once: [N·T, F_k] W_ihᵀ + b, [N, T, 4H]
      Operand<TFloating> flat = lk.reshape(seq, lk.constant(new int[] {-1, spec.inputSizeOf(k)}));
      Operand<TFloating> in = lk.math.add(
          lk.linalg.matMul(flat, wih, MatMul.transposeB(true)), b);
      in = lk.reshape(in, lk.constant(new int[] {-1, steps, 4 * hidden}));
      List<Operand<TFloating>> zs = unstack(lk, in, steps);
      h = new ArrayList<>(steps);
      Operand<TFloating> c = null;
      for (int t = 0; t < steps; t++) {
        Ops s = lk.withSubScope("t" + t);
        Operand<TFloating> z = zs.get(t);
        if (t > 0) {
          z = s.math.add(z, s.linalg.matMul(h.get(t - 1), whh, MatMul.transposeB(true)));
        } else if (steps == 1) {
          // h_0 W_hhᵀ with h_0 = 0 (Fill, no gradient): W_hh reaches the loss, with gradient
          // and products exactly 0, as TensorFlow refuses to differentiate an unreached input
          z = s.math.add(z, s.linalg.matMul(zeroState(s, flat, hidden), whh,
              MatMul.transposeB(true)));
        }
        List<Operand<TFloating>> gates = split4(s, z);
        Operand<TFloating> i = s.math.sigmoid(gates.get(0));
        Operand<TFloating> g = s.math.tanh(gates.get(2));
        Operand<TFloating> o = s.math.sigmoid(gates.get(3));
        Operand<TFloating> ig = s.math.mul(i, g);
        c = t == 0 ? ig : s.math.add(s.math.mul(s.math.sigmoid(gates.get(1)), c), ig);
        h.add(s.math.mul(o, s.math.tanh(c)));
      }
      if (k + 1 < spec.numLayers()) {
        seq = lk.stack(h, org.tensorflow.op.core.Stack.axis(1L));
      }
    }
    return spec.returnSequences()
        ? tf.stack(h, org.tensorflow.op.core.Stack.axis(1L))
        : h.get(steps - 1);
  }

  /** Zeros {@code [N, H]}, {@code N} the rows of {@code flat [N·T, F]} with {@code T = 1}. */
  private static Operand<TFloating> zeroState(Ops tf, Operand<TFloating> flat, int hidden) {
    Operand<TInt32> n =
        tf.slice(tf.shape(flat), tf.constant(new int[] {0}), tf.constant(new int[] {1}));
    Operand<TInt32> dims =
        tf.concat(List.of(n, tf.constant(new int[] {hidden})), tf.constant(0));
    return tf.fill(dims, tf.constantOfSameType(flat, 0.0));
  }

  /** The {@code T} steps {@code [N, 4H]} of {@code [N, T, 4H]} ({@code Unpack} on axis 1). */
  private static List<Operand<TFloating>> unstack(Ops tf, Operand<TFloating> in, int steps) {
    List<Operand<TFloating>> out = new ArrayList<>(steps);
    for (var o : tf.unstack(in, (long) steps, Unstack.axis(1L))) {
      out.add(o);
    }
    return out;
  }

  /** The four gate blocks {@code [N, H]} of {@code z [N, 4H]}, in order ({@code Split}). */
  private static List<Operand<TFloating>> split4(Ops tf, Operand<TFloating> z) {
    List<Operand<TFloating>> out = new ArrayList<>(4);
    for (var o : tf.split(tf.constant(1), z, 4L)) {
      out.add(o);
    }
    return out;
  }
}
