package io.github.sgdph.curvature;

import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.ArrayList;
import java.util.List;

/**
 * The loss of a model on one batch, its gradient and its curvature products, all at the
 * parameters the model had when this object was made.
 *
 * <p>One {@code Curvature} serves the many products of one conjugate-gradient solve or one
 * Lanczos run: backends do the forward (and backward) pass once and keep what the products
 * need. Once the model's parameters change, the object is stale and every method throws
 * {@link IllegalStateException}.
 *
 * <p>The products take a vector over the model's {@linkplain #layout() layout} or over a
 * {@linkplain ParameterLayout#select sub-layout} of it; for a sub-layout {@code S} the result
 * is the product with the diagonal block {@code A_SS}: {@code (A [v; 0])_S}. This is how
 * block-diagonal methods and per-layer analysis restrict a product.
 *
 * <p>Returned vectors are new and owned by the caller (close them). Products and the
 * gradient refer to the <em>mean</em> loss over the batch.
 */
public interface Curvature extends AutoCloseable {

  /**
   * The layout of the model's trainable parameters (a root layout).
   *
   * @return the root layout the products and the gradient are over
   */
  ParameterLayout layout();

  /**
   * The number of samples in the batch.
   *
   * @return the number of samples the loss is averaged over
   */
  int batchSize();

  /**
   * The mean loss over the batch.
   *
   * @return the loss averaged over the batch's samples
   */
  double loss();

  /**
   * The gradient of the mean loss.
   *
   * @return a new vector over {@link #layout()}
   */
  ParameterVector gradient();

  /**
   * The Hessian-vector product {@code H v} (on the blocks of {@code v}'s layout).
   *
   * @param v the vector, over {@link #layout()} or a selection of it; not modified
   * @return a new vector over {@code v}'s layout
   * @throws IllegalArgumentException if {@code v} is not over this layout or a selection of it
   */
  ParameterVector hvp(ParameterVector v);

  /**
   * The gradient and a Hessian-vector product together, as SGD-PH's step asks for them. The
   * default is {@link #gradient()} then {@link #hvp}; a backend whose every product runs the
   * forward and backward passes again (TensorFlow's graph mode) computes both in one pass,
   * since the double-backward pass of {@code H v} computes the gradient on its way. Either way
   * the results are those of the two calls, and {@link #loss()} is known afterwards without
   * another pass where {@link #gradient()} gives it so.
   *
   * @param v the vector, over {@link #layout()} or a selection of it; not modified
   * @return the gradient (a new vector over {@link #layout()}) and {@code H v} (a new vector
   *     over {@code v}'s layout); the caller closes both
   * @throws IllegalArgumentException if {@code v} is not over this layout or a selection of it
   */
  default GradientAndHvp gradientAndHvp(ParameterVector v) {
    ParameterVector g = gradient();
    try {
      return new GradientAndHvp(g, hvp(v));
    } catch (RuntimeException | Error e) {
      g.close();
      throw e;
    }
  }

  /**
   * The result of {@link #gradientAndHvp}: two vectors owned by the caller.
   *
   * @param gradient the gradient of the mean loss, over the curvature's layout
   * @param hvp the Hessian-vector product, over the layout of the vector it was asked for
   */
  record GradientAndHvp(ParameterVector gradient, ParameterVector hvp) implements AutoCloseable {
    /** Closes both vectors. */
    @Override
    public void close() {
      try {
        gradient.close();
      } finally {
        hvp.close();
      }
    }
  }

  /**
   * The generalized-Gauss-Newton-vector product {@code G v = Jᵀ H_L J v}, with {@code J} the
   * Jacobian of the network outputs and {@code H_L} the Hessian of the loss with respect to them
   * (on the blocks of {@code v}'s layout).
   *
   * @param v the vector, over {@link #layout()} or a selection of it; not modified
   * @return a new vector over {@code v}'s layout
   */
  ParameterVector ggnvp(ParameterVector v);

  /**
   * The Jacobian-vector product {@code J v}: the directional derivative of the outputs.
   *
   * @param v the direction in parameter space, over {@link #layout()} or a selection of it (zero
   *     elsewhere); not modified
   * @return a new tensor of the network outputs' shape (batch first)
   */
  Tensor jvp(ParameterVector v);

  /**
   * The gradient of the mean loss with respect to the network outputs, {@code ∂L/∂z}. With
   * {@code L = (1/n) Σ_i ℓ_i} and each term {@code ℓ_i} a function of row {@code i} of the
   * outputs only, row {@code i} is {@code (1/n) ∂ℓ_i/∂z_i}.
   *
   * <p>The default throws: a backend that cannot give it cannot give {@link #vjp} seeds either,
   * so {@link #perTermGradients()} refuses rather than computing another quantity.
   *
   * @return a new tensor of the network outputs' shape (batch first)
   * @throws UnsupportedOperationException naming the backend, if it does not expose it
   */
  default Tensor outputGradient() {
    throw new UnsupportedOperationException(
        "outputGradient: " + getClass().getName() + " does not expose ∂L/∂z");
  }

  /**
   * The transposed-Jacobian (vector-Jacobian) product {@code Jᵀu}, with {@code J} the Jacobian
   * of the network outputs with respect to all parameters, at this object's forward pass: the
   * backward pass seeded with {@code u} instead of {@code ∂L/∂z}. With train-mode batch norm the
   * outputs of every sample depend on the whole batch, and so does {@code Jᵀu}.
   *
   * @param u a tensor of the outputs' shape (batch first), of this backend's algebra; not
   *     modified
   * @return a new vector over {@link #layout()}
   * @throws IllegalArgumentException if {@code u} has another shape or algebra
   * @throws UnsupportedOperationException naming the backend, if it does not implement it
   */
  default ParameterVector vjp(Tensor u) {
    throw new UnsupportedOperationException(
        "vjp: " + getClass().getName() + " does not implement transposed-Jacobian products");
  }

  /**
   * The per-term gradients {@code g_i = ∂ℓ_i/∂θ} of the batch loss {@code L = (1/n) Σ_i ℓ_i}, in
   * this one forward pass of the whole batch (what BackPACK's {@code BatchGrad} and curvlinops
   * call per-sample gradients of a mini-batch loss). Every term includes its dependence on the
   * batch through train-mode batch norm, so {@code (1/n) Σ_i g_i} is {@link #gradient()}. For
   * MSE and sigmoid BCE, {@code ℓ_i} is the mean over sample {@code i}'s output elements.
   *
   * <p>The default computes {@code g_i = Jᵀ u_i} ({@link #vjp}) with {@code u_i} row {@code i}
   * of {@code n ∂L/∂z} ({@link #outputGradient()}) and zeros elsewhere: one backward pass per
   * term, the forward pass shared. Backends may batch the terms.
   *
   * @return {@link #batchSize()} new vectors over {@link #layout()}, in sample order; the caller
   *     closes them
   * @throws UnsupportedOperationException naming the backend, if it implements neither this
   *     nor {@link #outputGradient()} and {@link #vjp}
   */
  default List<ParameterVector> perTermGradients() {
    return perTermGradientsByVjp(this);
  }

  /**
   * The per-term gradients of {@code c} by the default route: {@code g_i = Jᵀ u_i} ({@link
   * #vjp}) with {@code u_i} row {@code i} of {@code n ∂L/∂z} ({@link #outputGradient()}) and zeros
   * elsewhere, one backward pass per term. For backends that override {@link
   * #perTermGradients()} and want this route as a fallback, and for tests comparing the two.
   *
   * @param c the curvature
   * @return {@code c.batchSize()} new vectors over {@code c.layout()}, in sample order
   * @throws UnsupportedOperationException naming the backend, if {@code c} implements neither
   *     {@link #outputGradient()} nor {@link #vjp}
   */
  static List<ParameterVector> perTermGradientsByVjp(Curvature c) {
    int n = c.batchSize();
    double[] d;
    int[] shape;
    TensorAlgebra algebra;
    try (Tensor dz = c.outputGradient()) {
      d = dz.toDoubleArray();
      shape = dz.shape();
      algebra = dz.algebra();
    }
    if (shape.length == 0 || shape[0] != n || d.length % n != 0) {
      throw new IllegalStateException(
          "outputGradient: shape " + java.util.Arrays.toString(shape) + " is not batch-first for "
              + n + " samples");
    }
    int k = d.length / n;
    List<ParameterVector> out = new ArrayList<>(n);
    try {
      for (int i = 0; i < n; i++) {
        double[] seed = new double[d.length];
        for (int j = i * k; j < (i + 1) * k; j++) {
          seed[j] = n * d[j];
        }
        try (Tensor u = algebra.fromArray(seed, shape)) {
          out.add(c.vjp(u));
        }
      }
    } catch (RuntimeException | Error e) {
      out.forEach(ParameterVector::close);
      throw e;
    }
    return out;
  }

  /**
   * The dense and convolutional layers whose curvature blocks can be Kronecker-factored, in
   * forward order (KFAC, Martens and Grosse 2015; KFC, Grosse and Martens 2016): the first half
   * of the Kronecker-factor SPI with {@link #layerInputs} and {@link #layerOutputGradients}.
   * Trainable blocks outside these layers (batch-norm scale and shift, …) are not listed.
   *
   * <p>The default throws: a backend without this SPI cannot give Kronecker factors, and the
   * core never substitutes another quantity.
   *
   * @return the factored layers; index {@code l} of this list is the {@code layer} argument of
   *     {@link #layerInputs} and the position in {@link #layerOutputGradients}' result
   * @throws UnsupportedOperationException naming the backend, if it does not implement the SPI
   */
  default java.util.List<FactoredLayer> factoredLayers() {
    throw new UnsupportedOperationException(
        "factoredLayers: " + getClass().getName() + " does not expose Kronecker-factor inputs");
  }

  /**
   * The inputs {@code a_it} of factored layer {@code layer} in this object's forward pass, per
   * sample {@code i} and position {@code t}: for a dense layer its input features, for a
   * convolution the unfolded (im2col) patches — KFC's expanded input.
   *
   * @param layer an index into {@link #factoredLayers()}
   * @return a new tensor {@code [n, inputDim, positions]} (batch first; entry {@code [i][j][t]} is
   *     component {@code j} of {@code a_it}), of this backend's algebra
   * @throws IndexOutOfBoundsException if {@code layer} is not an index of {@link
   *     #factoredLayers()}
   * @throws UnsupportedOperationException naming the backend, if it does not implement the SPI
   */
  default Tensor layerInputs(int layer) {
    throw new UnsupportedOperationException(
        "layerInputs: " + getClass().getName() + " does not expose Kronecker-factor inputs");
  }

  /**
   * The gradients of {@code ⟨u, z⟩} with respect to each factored layer's (pre-activation)
   * output {@code s}, per sample and position: the backward pass seeded with {@code u} instead of
   * {@code ∂L/∂z} (as {@link #vjp}), read at the layers' outputs instead of the parameters. With
   * {@code u} row {@code i} of {@code n ∂L/∂z} this is {@code δ_i = ∂ℓ_i/∂s_i} for every sample
   * at once when the samples do not interact; with train-mode batch norm, row {@code i} of the
   * result is {@code ∂⟨u, z⟩/∂s_i} through the whole batch, what one backward pass gives.
   *
   * @param u a tensor of the outputs' shape (batch first), of this backend's algebra; not
   *     modified
   * @return one new tensor per {@linkplain #factoredLayers() factored layer}, {@code [n,
   *     outputDim, positions]} (for a convolution: NCHW with the spatial axes flattened); the
   *     caller closes them
   * @throws IllegalArgumentException if {@code u} has another shape or algebra
   * @throws UnsupportedOperationException naming the backend, if it does not implement the SPI
   */
  default java.util.List<Tensor> layerOutputGradients(Tensor u) {
    throw new UnsupportedOperationException(
        "layerOutputGradients: " + getClass().getName()
            + " does not expose Kronecker-factor output gradients");
  }

  /** Releases what the backend keeps for the products. Idempotent. */
  @Override
  void close();
}
