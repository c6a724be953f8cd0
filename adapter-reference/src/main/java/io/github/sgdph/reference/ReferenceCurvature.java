package io.github.sgdph.reference;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.FactoredLayer;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Loss, gradient and exact curvature products of a {@link ReferenceModel} on one batch at the
 * parameters it had when this object was made.
 *
 * <p>The constructor runs one forward pass and keeps every layer's activations. The first call
 * of {@link #gradient()} or {@link #hvp} runs the backward pass and keeps the gradient with
 * respect to each layer's output. Then, for a direction {@code v}:
 * <ul>
 *   <li>{@link #jvp}: Pearlmutter's R-forward pass, {@code R{a_{l+1}} = J_a R{a_l} + J_θ v_l},
 *       gives {@code J v};
 *   <li>{@link #hvp}: R-forward, {@code R{g_L} = H_L J v}, then the R-backward pass with each
 *       layer's second-order terms (Pearlmutter 1994, §4) gives {@code H v} exactly;
 *   <li>{@link #ggnvp}: R-forward, {@code H_L J v}, then an ordinary backward pass (transposed
 *       Jacobians only) gives {@code G v = Jᵀ H_L J v} (Schraudolph 2002).
 * </ul>
 * A vector over a {@linkplain ParameterLayout#select sub-layout} is the direction with zeros
 * elsewhere, and only its blocks are returned (the diagonal block of the product); the passes
 * then start at the first layer the direction touches and stop at the first layer asked for.
 *
 * <p>On a graph model ({@link Network}) every pass follows the edges: a layer's input and
 * R-input are sums over its inputs, and the backward and R-backward passes add the
 * contributions of all consumers of a layer's output (fan-out), so each product is exact on
 * residual networks as on chains.
 *
 * <p>When the model's parameters change, or after {@link #close()}, every method throws
 * {@link IllegalStateException}.
 */
public final class ReferenceCurvature implements Curvature {
  private final ReferenceModel model;
  private final Network net;
  private final long version;
  private final int n;
  private Layer.Node[] nodes;
  private Loss loss;
  /** {@code ∂ℓ/∂(output of layer l)}, filled by the backward pass. */
  private double[][] gOut;
  /** The gradient per trainable block, filled by the backward pass. */
  private double[][] grad;
  /** The factored layers and their network layer indices, computed on first use. */
  private List<FactoredLayer> factored;

  private int[] factoredAt;

  ReferenceCurvature(ReferenceModel model, ArrayBatch batch) {
    this.model = model;
    this.net = model.network();
    this.version = model.version();
    this.n = batch.size();
    this.nodes = net.forward(model.values(), batch.xView(), n);
    this.loss =
        new Loss(net.loss, nodes[nodes.length - 1].out, batch.yView(), n, net.outputs);
  }

  private void ensureLive() {
    if (nodes == null) {
      throw new IllegalStateException("curvature: used after close()");
    }
    model.ensureOpen();
    if (model.version() != version) {
      throw new IllegalStateException(
          "curvature: stale, the model's parameters changed since it was computed");
    }
  }

  @Override
  public ParameterLayout layout() {
    return model.layout();
  }

  @Override
  public int batchSize() {
    return n;
  }

  @Override
  public double loss() {
    ensureLive();
    return loss.value();
  }

  /**
   * Each sample's loss at these parameters.
   *
   * @return {@code n} values whose mean is {@link #loss()}
   */
  public double[] sampleLosses() {
    ensureLive();
    return loss.sampleLosses();
  }

  /**
   * The network outputs at these parameters.
   *
   * @return a copy, row-major {@code [n, k]}
   */
  public double[] outputs() {
    ensureLive();
    return nodes[nodes.length - 1].out.clone();
  }

  private void backward() {
    if (gOut != null) {
      return;
    }
    Backward b = backwardFrom(loss.gradient());
    this.grad = b.grad;
    this.gOut = b.gOut;
  }

  private record Backward(double[][] grad, double[][] gOut) {}

  @Override
  public Tensor outputGradient() {
    ensureLive();
    return ReferenceAlgebra.INSTANCE.wrap(loss.gradient().clone(), n, net.outputs);
  }

  @Override
  public ParameterVector vjp(Tensor u) {
    double[][] g = backwardFrom(seed(u)).grad;
    ParameterLayout layout = model.layout();
    ReferenceTensor[] t = new ReferenceTensor[g.length];
    for (int b = 0; b < t.length; b++) {
      t[b] = ReferenceAlgebra.INSTANCE.wrap(g[b], layout.block(b).shape());
    }
    return ParameterVector.of(layout, t);
  }

  /**
   * The dense and convolutional layers with a trainable weight, in forward order. The reference
   * backend keeps every layer's input (and a convolution's im2col patches) from its forward pass
   * and every layer's output gradient from its backward pass, so the Kronecker-factor SPI reads
   * them off directly.
   */
  @Override
  public List<FactoredLayer> factoredLayers() {
    ensureLive();
    if (factored == null) {
      List<FactoredLayer> out = new ArrayList<>();
      List<Integer> at = new ArrayList<>();
      for (int l = 0; l < net.layers.length; l++) {
        int w = blockOf(l, Network.WEIGHT);
        if (w < 0) {
          continue;
        }
        int b = blockOf(l, Network.BIAS);
        String name = model.layout().block(w).name();
        if (net.layers[l] instanceof DenseLayer d) {
          out.add(new FactoredLayer(FactoredLayer.Kind.DENSE, name, w, b, d.inFeatures(),
              d.outFeatures(), 1));
          at.add(l);
        } else if (net.layers[l] instanceof Conv2dLayer c) {
          out.add(new FactoredLayer(FactoredLayer.Kind.CONV2D, name, w, b, c.patchSize(),
              c.outChannels(), c.positions()));
          at.add(l);
        }
      }
      factored = List.copyOf(out);
      factoredAt = at.stream().mapToInt(Integer::intValue).toArray();
    }
    return factored;
  }

  /** The trainable block in slot {@code slot} of layer {@code l}, or -1. */
  private int blockOf(int l, int slot) {
    for (int b = 0; b < net.blockLayer.length; b++) {
      if (net.blockLayer[b] == l && net.blockSlot[b] == slot) {
        return b;
      }
    }
    return -1;
  }

  @Override
  public Tensor layerInputs(int layer) {
    List<FactoredLayer> layers = factoredLayers();
    java.util.Objects.checkIndex(layer, layers.size());
    FactoredLayer f = layers.get(layer);
    return ReferenceAlgebra.INSTANCE.wrap(
        nodes[factoredAt[layer]].factorInput().clone(), n, f.inputDim(), f.positions());
  }

  @Override
  public List<Tensor> layerOutputGradients(Tensor u) {
    List<FactoredLayer> layers = factoredLayers();
    double[][] go = backwardFrom(seed(u)).gOut;
    List<Tensor> out = new ArrayList<>(layers.size());
    for (int i = 0; i < layers.size(); i++) {
      FactoredLayer f = layers.get(i);
      double[] g = go[factoredAt[i]];
      out.add(ReferenceAlgebra.INSTANCE.wrap(
          g == null ? new double[n * f.outputDim() * f.positions()] : g.clone(),
          n, f.outputDim(), f.positions()));
    }
    return out;
  }

  /** A host copy of the seed {@code u} of a backward pass, checked against the outputs. */
  private double[] seed(Tensor u) {
    ensureLive();
    java.util.Objects.requireNonNull(u, "u");
    if (!(u instanceof ReferenceTensor)) {
      throw new IllegalArgumentException(
          "u: a tensor of " + u.algebra().backendName() + ", not of the reference backend");
    }
    int[] shape = u.shape();
    if (shape.length != 2 || shape[0] != n || shape[1] != net.outputs) {
      throw new IllegalArgumentException(
          "u: shape " + java.util.Arrays.toString(shape) + " is not the outputs' [" + n + ", "
              + net.outputs + "]");
    }
    return ReferenceModel.host(u).clone();
  }

  private Backward backwardFrom(double[] seed) {
    int blocks = net.blockLayer.length;
    double[][] g = new double[blocks][];
    double[][][] gP = new double[nodes.length][][];
    for (int b = 0; b < blocks; b++) {
      g[b] = new double[model.values()[net.blockEntry[b]].length];
      int l = net.blockLayer[b];
      if (gP[l] == null) {
        gP[l] = net.newTrainableSlots(l);
      }
      gP[l][net.blockSlot[b]] = g[b];
    }
    double[][] go = new double[nodes.length][];
    int first = net.firstTrainableLayer();
    go[nodes.length - 1] = seed;
    for (int l = nodes.length - 1; l >= first; l--) {
      double[] gIn = nodes[l].backward(go[l], gP[l], net.needsInputGradient(l, first));
      net.accumulate(go, gIn, l, first);
    }
    return new Backward(g, go);
  }

  @Override
  public ParameterVector gradient() {
    ensureLive();
    backward();
    ReferenceTensor[] t = new ReferenceTensor[grad.length];
    ParameterLayout layout = model.layout();
    for (int b = 0; b < t.length; b++) {
      t[b] = ReferenceAlgebra.INSTANCE.wrap(grad[b].clone(), layout.block(b).shape());
    }
    return ParameterVector.of(layout, t);
  }

  /** Per-layer direction slots of {@code v} (null where zero). */
  private double[][][] directionSlots(ParameterVector v, int[] idx) {
    double[][][] vP = new double[nodes.length][][];
    for (int i = 0; i < idx.length; i++) {
      int b = idx[i];
      int l = net.blockLayer[b];
      if (vP[l] == null) {
        vP[l] = net.newTrainableSlots(l);
      }
      vP[l][net.blockSlot[b]] = ReferenceModel.host(v.block(i));
    }
    return vP;
  }

  /**
   * The R-forward pass; {@code rs[l]} null where {@code R{out_l}} is zero. A layer's R-input is
   * the sum of its inputs' {@code R{out}} ({@link Network#rInputOf}).
   */
  private Layer.RState[] rForward(double[][][] vP) {
    Layer.RState[] rs = new Layer.RState[nodes.length];
    double[][] rOut = new double[nodes.length][];
    for (int l = 0; l < nodes.length; l++) {
      double[] rIn = net.rInputOf(rOut, l);
      if (rIn == null && vP[l] == null) {
        continue;
      }
      rs[l] = nodes[l].rForward(rIn, vP[l]);
      rOut[l] = rs[l] == null ? null : rs[l].rOut;
    }
    return rs;
  }

  private double[] rOutput(Layer.RState[] rs) {
    Layer.RState last = rs[rs.length - 1];
    return last == null ? new double[n * net.outputs] : last.rOut;
  }

  private ParameterVector product(ParameterVector v, boolean second, String what) {
    ensureLive();
    java.util.Objects.requireNonNull(v, what);
    int[] idx = model.rootIndices(v.layout(), what);
    double[][][] vP = directionSlots(v, idx);
    ParameterLayout root = model.layout();
    double[][] out = new double[idx.length][];
    double[][][] rgP = new double[nodes.length][][];
    int lowest = nodes.length;
    for (int i = 0; i < idx.length; i++) {
      int b = idx[i];
      int l = net.blockLayer[b];
      out[i] = new double[root.block(b).size()];
      if (rgP[l] == null) {
        rgP[l] = net.newTrainableSlots(l);
      }
      rgP[l][net.blockSlot[b]] = out[i];
      lowest = Math.min(lowest, l);
    }
    if (second) {
      backward();
    }
    Layer.RState[] rs = rForward(vP);
    double[][] rg = new double[nodes.length][];
    rg[nodes.length - 1] = loss.hessianVector(rOutput(rs));
    for (int l = nodes.length - 1; l >= lowest; l--) {
      boolean need = net.needsInputGradient(l, lowest);
      double[] rgIn =
          second
              ? nodes[l].rBackward(rs[l], vP[l], gOut[l], rg[l], rgP[l], need)
              : nodes[l].rBackward(null, null, null, rg[l], rgP[l], need);
      net.accumulate(rg, rgIn, l, lowest);
    }
    ReferenceTensor[] t = new ReferenceTensor[idx.length];
    for (int i = 0; i < t.length; i++) {
      t[i] = ReferenceAlgebra.INSTANCE.wrap(out[i], root.block(idx[i]).shape());
    }
    return ParameterVector.of(v.layout(), t);
  }

  @Override
  public ParameterVector hvp(ParameterVector v) {
    return product(v, true, "v");
  }

  @Override
  public ParameterVector ggnvp(ParameterVector v) {
    return product(v, false, "v");
  }

  /** {@code J v} as a {@code [n, k]} tensor of the reference backend. */
  @Override
  public Tensor jvp(ParameterVector v) {
    ensureLive();
    java.util.Objects.requireNonNull(v, "v");
    int[] idx = model.rootIndices(v.layout(), "v");
    double[] r = rOutput(rForward(directionSlots(v, idx)));
    return ReferenceAlgebra.INSTANCE.wrap(r.clone(), n, net.outputs);
  }

  @Override
  public void close() {
    nodes = null;
    loss = null;
    gOut = null;
    grad = null;
  }
}
