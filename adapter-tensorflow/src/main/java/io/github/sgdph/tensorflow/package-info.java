/**
 * The TensorFlow Java backend of sgdph: exact gradients, Hessian-vector products (Pearlmutter,
 * "Fast exact multiplication by the Hessian", 1994), Jacobian-vector products and
 * generalized-Gauss-Newton-vector products {@code Jᵀ H_L J v} (Schraudolph, "Fast curvature
 * matrix-vector products for second-order gradient descent", 2002) in TensorFlow Java 1.1.0's
 * graph mode, in float32 and float64.
 *
 * <ul>
 *   <li>{@link io.github.sgdph.tensorflow.TfBackend} ({@code --backend tensorflow}) builds
 *       {@link io.github.sgdph.tensorflow.TfSpecModel}s from the neutral spec, parameters in
 *       PyTorch layout;
 *   <li>{@link io.github.sgdph.tensorflow.TfGraphModel} is the same curvature interface over a
 *       user's own graph: a {@link io.github.sgdph.tensorflow.TfForward} builds the forward pass
 *       from the graph's {@code Ops}, input placeholders and parameter operands;
 *   <li>{@link io.github.sgdph.tensorflow.SecondOrderGradients} registers the gradients of
 *       TensorFlow's backprop ops ({@code TanhGrad}, {@code ReluGrad}, {@code
 *       Conv2DBackpropFilter}, {@code MaxPoolGrad}, ...) that a second backward pass needs and
 *       TensorFlow Java lacks; {@link io.github.sgdph.tensorflow.TfLosses} gives losses that
 *       stay exact twice differentiated in both dtypes.
 * </ul>
 *
 * <p>The gradient, HVP, JVP, GGN, {@code Jᵀu} and {@code ∂ℓ/∂z} subgraphs are added once per
 * model (see {@code CurvatureGraph}); each product is then one {@code Session.run}. Per-term
 * gradients ({@link io.github.sgdph.tensorflow.TfCurvature#perTermGradients()}) add their own
 * backward passes on first use and compute a chunk of terms per run from one shared forward
 * pass, about one backward pass per term.
 *
 * <h2>Where parameters and directions live between runs</h2>
 *
 * <p>A {@link io.github.sgdph.tensorflow.TfTensor} <em>is</em> a TensorFlow {@code TFloat32} /
 * {@code TFloat64} tensor in native memory. The model's parameters and the direction of a
 * product are fed to {@code Session.run} as they are, and the product's result tensors are
 * handed to the caller as they come out of the {@code Result} (the {@code Result} itself is
 * closed when the last of them is): one conjugate-gradient iteration costs one {@code
 * Session.run} and no copy of a parameter-sized vector. The algebra of the optimizers (axpy,
 * dot, ...) runs in Java on those native buffers through bulk copies into scratch arrays, about
 * 0.1 ms per 270,000 float32 entries.
 *
 * <p>Measured on the 784-256-256-10 ReLU MLP (269,322 parameters), batch 128, float32, on the
 * 2-core build machine: an HVP with the direction fed and the result returned as TensorFlow
 * tensors takes 5.27 ms (median of 300); the same HVP with the direction kept in host arrays,
 * copied into new TensorFlow tensors for the run and the result copied back, takes 6.27 ms, 1.0
 * ms (19 %) more. Graph variables would save nothing on the CPU, where feeding an existing
 * tensor is already free, while every update would become an extra {@code Session.run} of
 * assign ops, and TensorFlow Java's {@code VariableV2} under {@code Square} crashed the JVM
 * during gradient construction (FRAMEWORKS.md); parameters are therefore placeholders.
 *
 * <h2>What TensorFlow Java needs</h2>
 *
 * <ul>
 *   <li>Gradients exist in graph mode only; the first backward pass is seeded with a constant 1
 *       (the default seed {@code OnesLike} would have to be differentiated again).
 *   <li>JavaCPP allows 10 native gradient callbacks per process, and TensorFlow Java's {@code
 *       registerCustomGradient} uses one per op type: the eleventh registration crashes the JVM
 *       when used. All second-order gradients share one callback here.
 *   <li>A Java exception must not cross that callback; a failing gradient is recorded and
 *       rethrown after {@code Graph.addGradients} returns.
 *   <li>LSTMs: a spec {@code lstm} is unrolled through time with ordinary ops ({@code
 *       MatMul}, {@code Sigmoid}, {@code Tanh}, {@code Mul}, {@code AddV2}, {@code Split},
 *       {@code Unpack}, {@code Pack}; {@code TfLstm}) on the case format's own weights.
 *       TensorFlow's fused recurrent kernels ({@code LSTMBlockCell}, {@code BlockLSTM}, {@code
 *       CudnnRNN}) are not used: their gradient ops have no gradient, so no Hessian-vector
 *       product could pass through them. A user's own graph with an LSTM works the same way
 *       when its cell is written with ordinary ops (Keras' {@code LSTMCell} computation
 *       unrolled, as {@code keras.layers.LSTM(unroll=True)} does); its weights map to the case
 *       format's as {@code kernel = weight_ihᵀ}, {@code recurrent_kernel = weight_hhᵀ}, {@code
 *       bias = bias} (docs/CASE-FORMAT.md).
 *   <li>The fused {@code SoftmaxCrossEntropyWithLogits} fails in float64: the cross-entropy is
 *       written with {@code LogSoftmax}. Batch norm is written with primitive ops.
 *   <li>Every {@code Result}, fed tensor, {@code Session} and {@code Graph} is closed: an
 *       unclosed {@code Result} grows native memory without bound.
 * </ul>
 *
 * <p>Devices: {@link io.github.sgdph.tensorflow.TfDevice} (CPU, a GPU, or TensorFlow's choice);
 * the native artifact decides what exists ({@code tensorflow-core-native} classifier {@code
 * linux-x86_64} for the CPU, {@code linux-x86_64-gpu} for CUDA).
 */
package io.github.sgdph.tensorflow;
