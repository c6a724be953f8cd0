/**
 * sgdph on Deep Java Library with the PyTorch engine.
 *
 * <ul>
 *   <li>{@link io.github.sgdph.djl.DjlAlgebra} / {@link io.github.sgdph.djl.DjlTensor}: the
 *       tensor algebra over {@code NDArray}s, float32 and float64, on any device;
 *   <li>{@link io.github.sgdph.djl.BlockCurvatureModel}: the curvature SPI over a user's own
 *       {@code Block} and loss ({@link io.github.sgdph.djl.OutputLoss});
 *   <li>{@link io.github.sgdph.djl.DjlBackend} / {@link io.github.sgdph.djl.DjlSpecModel}: the
 *       {@code djl} backend of the neutral model spec (case replay, conformance kit);
 *   <li>{@link io.github.sgdph.djl.SecondOrderTraining}: SGD-PH, SGN and block-diagonal
 *       Hessian-free steps inside a DJL training loop.
 * </ul>
 *
 * <p>Gradients, Hessian-, Gauss-Newton-, Jacobian- and transposed-Jacobian-vector products,
 * {@code ∂L/∂z} and the per-term gradients of a batch loss (one forward pass, exact with
 * train-mode batch norm) are exact: PyTorch autograd with double backward (Pearlmutter 1994;
 * Schraudolph 2002) through
 * {@code torch.autograd.grad}, reached from Java through a small TorchScript module, which does
 * not leak where DJL's {@code backward(create_graph=true)} does ({@link
 * io.github.sgdph.djl.DjlCurvature}).
 *
 * <p>A spec {@code lstm} layer is built <em>unrolled through time from ordinary operations</em>
 * ({@code matmul}, {@code add}, {@code mul}, {@code sigmoid}, {@code tanh}, {@code split},
 * {@code stack}), in the case format's own layout (gates {@code i, f, g, o}, one bias per stacked
 * layer), so that the double backward pass behind every Hessian-, Gauss-Newton- and
 * Jacobian-vector product is exact through the recurrence on every device. It does <em>not</em>
 * use DJL's fused {@code ai.djl.nn.recurrent.LSTM} block: on a GPU PyTorch runs that as cuDNN's
 * fused LSTM kernel, which has no double backward, so second-order products through it would
 * fail. A user's own block with DJL's {@code LSTM} works on the CPU, where PyTorch's {@code
 * lstm} is composed of differentiable operations (its products match finite differences); give
 * it float64 zero initial states in float64, as DJL makes float32 ones.
 */
package io.github.sgdph.djl;
