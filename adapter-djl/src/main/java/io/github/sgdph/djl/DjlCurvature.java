package io.github.sgdph.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.FactoredLayer;
import io.github.sgdph.kfac.SpecFactoring;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Loss, gradient and exact curvature products of a DJL block on one batch, by PyTorch autograd
 * (double backward through {@code torch.autograd.grad}, Pearlmutter, "Fast exact multiplication
 * by the Hessian", Neural Computation 6(1), 1994).
 *
 * <p>The constructor runs the forward pass with grad mode on, through leaf aliases {@code θ̃} of
 * the trainable parameters (detached views sharing their storage, so nothing is copied and the
 * parameters' own {@code .grad} is never touched), and keeps the outputs {@code z} and the loss
 * {@code ℓ}. Then, for a direction {@code v} on the blocks {@code S}:
 *
 * <ul>
 *   <li>gradient: {@code g = ∂ℓ/∂θ̃};
 *   <li>{@link #hvp}: {@code H v = ∂(g_S · v_S)/∂θ̃_S} with {@code g} built differentiable
 *       ({@code create_graph});
 *   <li>{@link #jvp}: with {@code u} a leaf of the outputs' shape and {@code w = Jᵀu} built
 *       differentiable, {@code J v = ∂(w_S · v_S)/∂u} (the double-backward trick);
 *   <li>{@link #ggnvp}: {@code G v = Jᵀ (H_L (J v))} (Schraudolph 2002), with {@code H_L} the
 *       loss's analytic output Hessian or autograd's on the loss of detached outputs;
 *   <li>{@link #outputGradient}: {@code ∂ℓ/∂z}, a backward pass through the loss only, kept;
 *   <li>{@link #vjp}: {@code Jᵀu = ∂(z · u)/∂θ̃}, a plain backward pass through the kept forward
 *       graph, whichever {@link GradientGraph} the curvature was made with;
 *   <li>{@link #perTermGradients}: {@code g_i = Jᵀu_i} with {@code u_i} row {@code i} of
 *       {@code n ∂ℓ/∂z} and zeros elsewhere, seeds made on the device, one backward pass per
 *       sample, all from the one forward pass of the whole batch (so train-mode batch norm
 *       couples the terms, and {@code (1/n) Σ g_i} is the gradient).
 * </ul>
 *
 * With {@code u = ∂ℓ/∂z} the graph {@code w = Jᵀu} <em>is</em> the gradient
 * ({@link GradientGraph#GAUSS_NEWTON}). Every array a product creates lives in a scope closed
 * before it returns; the graphs live in this object's manager, released by {@link #close()}:
 * nothing accumulates over any number of products. Every autograd call keeps the graph
 * ({@code retain_graph}) and none uses DJL's {@code backward(create_graph=true)}, which leaks
 * ({@link PyTorchRuntime}).
 *
 * <p>Stale (every method throws {@link IllegalStateException}) once the model's parameters
 * change through the adapter. Not thread-safe; curvatures of one model may be used from separate
 * threads at once (PyTorch's grad mode is per thread).
 */
// try-with-resources guards (NDScope, grad mode) are used for their scope only
@SuppressWarnings("try")
public final class DjlCurvature implements Curvature {
  private final DjlObjective objective;
  private final BlockNetwork net;
  private final long version;
  private final int batchSize;
  private final GradientGraph graph;
  /**
   * Whether the forward pass ran the spec's batch norms fused (float32 spec models with a
   * train-mode batch norm; every forward pass of such a model does, so losses and gradients
   * agree whatever the {@link GradientGraph}): Jacobian- and Gauss-Newton-vector products then
   * differentiate a second forward pass in the primitive form, made on their first use, and the
   * gradient is a plain backward pass even for {@link GradientGraph#GAUSS_NEWTON}.
   */
  private final boolean fused;
  private NDList data;
  private NDList jacobianOutputs;
  private NDManager manager;
  private NDList aliases;
  private NDList outputs;
  private NDList labels;
  private NDArray lossArray;
  private final double loss;
  /** The gradient's values (possibly with a graph). */
  private NDList gradient;
  /** The gradient with its graph for Hessian-vector products. */
  private NDList hessianGraph;
  /** {@code u} and {@code w = Jᵀu} for Jacobian- and Gauss-Newton-vector products. */
  private NDList jtLeaf;
  private NDList jtGraph;
  /** Detached outputs, and for autograd's {@code H_L}: ∂ℓ/∂z̃ with its graph. */
  private NDList outputValues;
  private NDList outputLeaves;
  private NDList lossGradientGraph;
  /** {@code ∂ℓ/∂z} at the forward pass, values only (one per output). */
  private NDList lossOutputGradient;
  /** The Kronecker-factor SPI: factored layers and their spec layer indices (spec models). */
  private List<FactoredLayer> factored;
  private int[] factoredAt;
  /** The tapped forward pass: outputs, factored layers' inputs, zero leaves on their outputs. */
  private NDList tapOutputs;
  private NDList tapInputs;
  private NDList tapProbes;

  DjlCurvature(DjlObjective objective) {
    this.objective = objective;
    this.net = objective.network();
    this.version = net.version();
    this.batchSize = objective.batchSize();
    this.graph = net.effectiveGradientGraph();
    this.fused = net.fusableBatchNorm();
    this.manager = net.algebra.manager().newSubManager();
    try (PyTorchRuntime.GradMode on = PyTorchRuntime.GradMode.on();
        NDScope scope = new NDScope()) {
      BatchSource.Materialized b =
          objective.source().materialize(manager, net.device(), net.dataType());
      NDList al = new NDList(net.trainable.length);
      for (int i = 0; i < net.trainable.length; i++) {
        NDArray a = net.trainable[i].getArray().stopGradient();
        a.setRequiresGradient(true);
        al.add(a);
      }
      NDList out = net.forward(manager, al, b.data(), objective, fused);
      NDArray l = objective.evaluateLoss(b.labels(), out);
      this.aliases = keep(al);
      this.data = fused ? keep(b.data()) : null;
      this.outputs = keep(out);
      this.labels = keep(b.labels());
      this.lossArray = keep(new NDList(l)).get(0);
      this.loss = DjlAlgebra.scalar(l);
      if (objective.wantsOutputs()) {
        publish();
      }
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  private void publish() {
    try (NDScope scope = new NDScope()) {
      NDList copy = new NDList(outputs.size());
      for (NDArray o : outputs) {
        copy.add(o.stopGradient());
      }
      objective.publishOutputs(copy);
    }
  }

  /** Moves arrays from the current scope to this curvature's manager. */
  private NDList keep(NDList arrays) {
    for (NDArray a : arrays) {
      NDScope.unregister(a);
      a.attach(manager);
    }
    return arrays;
  }

  private void ensureLive() {
    if (manager == null) {
      throw new IllegalStateException("curvature: used after close()");
    }
    net.ensureOpen();
    if (net.version() != version) {
      throw new IllegalStateException(
          "curvature: stale, the model's parameters changed since it was computed");
    }
  }

  @Override
  public ParameterLayout layout() {
    return net.layout;
  }

  @Override
  public int batchSize() {
    return batchSize;
  }

  @Override
  public double loss() {
    ensureLive();
    return loss;
  }

  /**
   * The block's outputs at these parameters.
   *
   * @return new arrays (attached to the model's algebra manager; the caller closes them)
   */
  public NDList outputs() {
    ensureLive();
    NDList out = new NDList(outputs.size());
    try (PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
      for (NDArray o : outputs) {
        NDArray c = o.duplicate();
        NDScope.unregister(c);
        c.attach(net.algebra.manager());
        out.add(c);
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------ graphs

  private NDList ones(NDArray a) {
    return new NDList(a.onesLike());
  }

  private void ensureGradient() {
    if (gradient != null) {
      return;
    }
    switch (graph) {
      case HESSIAN -> ensureHessianGraph();
      case GAUSS_NEWTON -> {
        if (fused) { // Jᵀu is of the primitive forward pass, the gradient of this one
          gradient = keep(PyTorchRuntime.grad(new NDList(lossArray), aliases, ones(lossArray),
              false, manager));
        } else {
          ensureJacobianGraph(true);
        }
      }
      default -> gradient =
          keep(PyTorchRuntime.grad(new NDList(lossArray), aliases, ones(lossArray), false,
              manager));
    }
  }

  private void ensureHessianGraph() {
    if (hessianGraph == null) {
      hessianGraph =
          keep(PyTorchRuntime.grad(new NDList(lossArray), aliases, ones(lossArray), true,
              manager));
      if (gradient == null) {
        gradient = hessianGraph;
      }
    }
  }

  /**
   * {@code w = Jᵀu} with graph; {@code u = ∂ℓ/∂z} when {@code w} is to serve as the gradient,
   * else zeros (any {@code u} gives the same {@code J v}).
   */
  private void ensureJacobianGraph(boolean asGradient) {
    if (jtGraph != null) {
      return;
    }
    boolean useLossGradient = !fused && (asGradient || gradient == null);
    NDList outputs = jacobianOutputs();
    NDList u = new NDList(outputs.size());
    if (useLossGradient) {
      for (NDArray d : lossOutputGradient()) {
        u.add(d.stopGradient());
      }
    } else {
      for (NDArray o : outputs) {
        u.add(o.zerosLike());
      }
    }
    for (NDArray a : u) {
      a.setRequiresGradient(true);
    }
    jtLeaf = keep(u);
    jtGraph = keep(PyTorchRuntime.grad(outputs, aliases, jtLeaf, true, manager));
    if (gradient == null && useLossGradient) {
      gradient = jtGraph;
    }
  }

  /**
   * The outputs whose graph Jacobian-vector products differentiate twice: {@link #outputs}, or
   * after a fused forward pass the outputs of a second one in the primitive form (same values to
   * rounding), made once.
   */
  private NDList jacobianOutputs() {
    if (!fused) {
      return outputs;
    }
    if (jacobianOutputs == null) {
      jacobianOutputs = keep(net.forward(manager, aliases, data, objective, false));
    }
    return jacobianOutputs;
  }

  /**
   * {@code ∂ℓ/∂z}, one array per output, computed once by a backward pass through the loss only
   * (the forward graph is retained) and kept without a graph.
   */
  private NDList lossOutputGradient() {
    if (lossOutputGradient == null) {
      NDList dz = PyTorchRuntime.grad(new NDList(lossArray), outputs, ones(lossArray), false,
          manager);
      NDList values = new NDList(dz.size());
      for (NDArray d : dz) {
        values.add(d.stopGradient());
      }
      lossOutputGradient = keep(values);
    }
    return lossOutputGradient;
  }

  private NDList outputValues() {
    if (outputValues == null) {
      NDList v = new NDList(outputs.size());
      for (NDArray o : outputs) {
        v.add(o.stopGradient());
      }
      outputValues = keep(v);
    }
    return outputValues;
  }

  /** {@code H_L r} for the outputs. */
  private NDList outputHessianVector(NDList r) {
    NDList analytic = net.loss.hessianVector(labels, outputValues(), r);
    if (analytic != null) {
      return analytic;
    }
    if (lossGradientGraph == null) {
      NDList leaves = new NDList(outputs.size());
      for (NDArray o : outputs) {
        NDArray z = o.stopGradient();
        z.setRequiresGradient(true);
        leaves.add(z);
      }
      outputLeaves = keep(leaves);
      NDArray l = objective.evaluateLoss(labels, outputLeaves);
      lossGradientGraph = keep(PyTorchRuntime.grad(new NDList(l), outputLeaves, ones(l), true,
          manager));
    }
    return PyTorchRuntime.grad(lossGradientGraph, outputLeaves, r, false, manager);
  }

  // ------------------------------------------------------------------------ products

  @Override
  public ParameterVector gradient() {
    ensureLive();
    try (PyTorchRuntime.GradMode on = PyTorchRuntime.GradMode.on();
        NDScope scope = new NDScope()) {
      ensureGradient();
      DjlTensor[] t = new DjlTensor[gradient.size()];
      try (PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
        for (int i = 0; i < t.length; i++) {
          t[i] = net.algebra.adopt(gradient.get(i).stopGradient().duplicate());
        }
      }
      return ParameterVector.of(net.layout, t);
    }
  }

  @Override
  public ParameterVector hvp(ParameterVector v) {
    ensureLive();
    Objects.requireNonNull(v, "v");
    int[] idx = net.rootIndices(v.layout(), "v");
    try (PyTorchRuntime.GradMode on = PyTorchRuntime.GradMode.on();
        NDScope scope = new NDScope()) {
      net.productAsked(GradientGraph.HESSIAN);
      ensureHessianGraph();
      NDList r = PyTorchRuntime.grad(select(hessianGraph, idx), select(aliases, idx),
          directions(v, idx), false, net.algebra.manager());
      return result(v.layout(), r);
    }
  }

  /** {@code J v}, one array per output, in the current scope. */
  private NDList jacobianVector(ParameterVector v, int[] idx) {
    net.productAsked(GradientGraph.GAUSS_NEWTON);
    ensureJacobianGraph(false);
    return PyTorchRuntime.grad(select(jtGraph, idx), jtLeaf, directions(v, idx), false,
        manager);
  }

  @Override
  public ParameterVector ggnvp(ParameterVector v) {
    ensureLive();
    Objects.requireNonNull(v, "v");
    int[] idx = net.rootIndices(v.layout(), "v");
    try (PyTorchRuntime.GradMode on = PyTorchRuntime.GradMode.on();
        NDScope scope = new NDScope()) {
      NDList jv = jacobianVector(v, idx);
      NDList hjv = outputHessianVector(jv);
      NDList r = PyTorchRuntime.grad(outputs, select(aliases, idx), hjv, false,
          net.algebra.manager());
      return result(v.layout(), r);
    }
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalStateException if the block has more than one output
   */
  @Override
  public Tensor jvp(ParameterVector v) {
    ensureLive();
    Objects.requireNonNull(v, "v");
    requireOneOutput("jvp");
    int[] idx = net.rootIndices(v.layout(), "v");
    try (PyTorchRuntime.GradMode on = PyTorchRuntime.GradMode.on();
        NDScope scope = new NDScope()) {
      NDList jv = jacobianVector(v, idx);
      try (PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
        return net.algebra.adopt(jv.get(0).stopGradient());
      }
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>One backward pass through the loss only, at the first call; later calls copy it.
   *
   * @throws IllegalStateException if the block has more than one output
   */
  @Override
  public Tensor outputGradient() {
    ensureLive();
    requireOneOutput("outputGradient");
    try (PyTorchRuntime.GradMode on = PyTorchRuntime.GradMode.on();
        NDScope scope = new NDScope()) {
      NDArray dz = lossOutputGradient().get(0);
      try (PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
        return net.algebra.adopt(dz.duplicate());
      }
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>One backward pass through the kept forward graph of the network, whichever
   * {@link GradientGraph} this curvature was made with; nothing is kept.
   *
   * @param u a djl tensor of the model's dtype and device, of the outputs' shape; not modified
   * @throws IllegalStateException if the block has more than one output
   */
  @Override
  public ParameterVector vjp(Tensor u) {
    ensureLive();
    DjlTensor t = outputSeed(u, "vjp");
    try (PyTorchRuntime.GradMode on = PyTorchRuntime.GradMode.on();
        NDScope scope = new NDScope()) {
      // a fresh handle: the autograd call names its arguments, and u must stay the caller's
      NDList seed = new NDList(t.array().stopGradient());
      return result(net.layout, PyTorchRuntime.grad(outputs, aliases, seed, false,
          net.algebra.manager()));
    }
  }

  /** {@code u} checked as a seed of a backward pass from the (single) output. */
  private DjlTensor outputSeed(Tensor u, String what) {
    Objects.requireNonNull(u, "u");
    requireOneOutput(what);
    NDArray z = outputs.get(0);
    if (!(u instanceof DjlTensor t)) {
      throw new IllegalArgumentException(
          "u: expected a tensor of the djl algebra but got one of " + u.algebra().backendName());
    }
    if (t.dtype() != net.algebra.dtype() || !t.algebra().device().equals(net.device())) {
      throw new IllegalArgumentException(
          "u: a " + t.dtype().jsonName() + " tensor on " + t.algebra().device() + " but the model"
              + " is " + net.algebra.dtype().jsonName() + " on " + net.device());
    }
    int[] shape = DjlAlgebra.intShape(z.getShape());
    if (!Arrays.equals(t.shape(), shape)) {
      throw new IllegalArgumentException(
          "u: shape " + Arrays.toString(t.shape()) + " is not the outputs' "
              + Arrays.toString(shape));
    }
    return t;
  }

  // ------------------------------------------------------------------------ Kronecker factors

  /**
   * {@inheritDoc}
   *
   * <p>For a spec model ({@link DjlSpecModel}): its dense and convolution layers ({@link
   * SpecFactoring#factoredLayers}). The first call of this SPI runs one more forward pass of
   * the batch (never fused) in which every such layer hands its input to this curvature and
   * adds a zero leaf {@code ε} to its output {@code s}; {@link #layerOutputGradients} is then one
   * backward pass from the outputs to those leaves ({@code ∂⟨u, z⟩/∂ε = ∂⟨u, z⟩/∂s}), and {@link
   * #layerInputs} unfolds a kept input on the host ({@link SpecFactoring#layerInputs}: KFC's
   * im2col patches for a convolution). Both passes' arrays live in this curvature's manager.
   *
   * @throws UnsupportedOperationException for a user's own block ({@link BlockCurvatureModel}),
   *     whose layers sgdph does not know
   */
  @Override
  public List<FactoredLayer> factoredLayers() {
    ensureLive();
    return spec("factoredLayers") == null ? List.of() : factored;
  }

  /** The model's spec, the factored layers computed; throws for a user's block. */
  private ModelSpec spec(String what) {
    ModelSpec spec = net.spec();
    if (spec == null) {
      throw new UnsupportedOperationException(what + ": " + getClass().getName() + " of a DJL"
          + " user's own block (BlockCurvatureModel) does not expose Kronecker-factor inputs:"
          + " sgdph does not know its layers; build the model from a spec (DjlSpecModel)");
    }
    if (factored == null) {
      factored = SpecFactoring.factoredLayers(spec);
      factoredAt = SpecFactoring.layerIndices(spec);
    }
    return spec;
  }

  /** Runs the tapped forward pass once (see {@link #factoredLayers()}). */
  private void ensureTapped() {
    if (tapProbes != null) {
      return;
    }
    int count = factored.size();
    NDArray[] inputs = new NDArray[count];
    NDArray[] probes = new NDArray[count];
    try (PyTorchRuntime.GradMode on = PyTorchRuntime.GradMode.on();
        NDScope scope = new NDScope()) {
      BatchSource.Materialized b =
          objective.source().materialize(manager, net.device(), net.dataType());
      NDList out = net.forward(manager, aliases, b.data(), objective, (layer, input, output) -> {
        int l = Arrays.binarySearch(factoredAt, layer);
        inputs[l] = input.stopGradient();
        NDArray eps = output.zerosLike();
        eps.setRequiresGradient(true);
        probes[l] = eps;
        return output.add(eps);
      });
      for (int l = 0; l < count; l++) {
        if (probes[l] == null) {
          throw new IllegalStateException(
              "factoredLayers: layer " + factored.get(l).name() + " was not run by the forward"
                  + " pass");
        }
      }
      tapOutputs = keep(out);
      tapInputs = keep(new NDList(inputs));
      tapProbes = keep(new NDList(probes));
    }
  }

  @Override
  public Tensor layerInputs(int layer) {
    ensureLive();
    ModelSpec spec = spec("layerInputs");
    Objects.checkIndex(layer, factored.size());
    ensureTapped();
    FactoredLayer f = factored.get(layer);
    double[] x;
    try (PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
      x = DjlTensor.toHost(tapInputs.get(layer));
    }
    return net.algebra.fromArray(SpecFactoring.layerInputs(spec, factoredAt[layer], x, batchSize),
        batchSize, f.inputDim(), f.positions());
  }

  @Override
  public List<Tensor> layerOutputGradients(Tensor u) {
    ensureLive();
    spec("layerOutputGradients");
    DjlTensor t = outputSeed(u, "layerOutputGradients");
    ensureTapped();
    List<Tensor> out = new ArrayList<>(factored.size());
    try (PyTorchRuntime.GradMode on = PyTorchRuntime.GradMode.on();
        NDScope scope = new NDScope()) {
      NDList d = PyTorchRuntime.grad(tapOutputs, tapProbes, new NDList(t.array().stopGradient()),
          false, net.algebra.manager());
      try (PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
        for (int l = 0; l < factored.size(); l++) {
          FactoredLayer f = factored.get(l);
          out.add(net.algebra.adopt(
              d.get(l).reshape(batchSize, f.outputDim(), f.positions())));
        }
      }
    } catch (RuntimeException | Error e) {
      out.forEach(Tensor::close);
      throw e;
    }
    return out;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Here the seeds are made on the model's device from the kept {@code ∂ℓ/∂z} (no copy to
   * the host and back), and each term is one backward pass through the kept forward graph of the
   * network: {@code g_i = Jᵀ u_i} with {@code u_i} row {@code i} of {@code n ∂ℓ/∂z} and zeros
   * elsewhere, for every output of the block (each must have the batch axis first). The
   * decomposition into terms is the loss's dependence on row {@code i} of the outputs: for a loss
   * that is the batch mean of per-sample losses (the spec's three, DJL's losses) {@code g_i} is
   * the gradient of sample {@code i}'s loss, its dependence on the other samples through
   * train-mode batch norm included; unlike the interface's default this also serves blocks with
   * several outputs.
   *
   * <p>Cost: a term is one backward pass of the network, without the loss's. Measured on
   * {@code 784-256-BN-10} in float32 on one CPU thread ({@code PerTermGradientsTiming}, medians
   * of interleaved rounds), a term costs 0.7 to 0.9 of the backward pass of {@link #gradient()}
   * at batch 32; at batch 128 0.8 to 2, the spread from keeping 128 results of 0.8 MB alive on a
   * loaded machine. The interface's default costs the same (its host seeds cost nothing
   * measurable at these sizes). The terms are not batched: PyTorch's batched backward ({@code
   * is_grads_batched}) is vmap in Python, not reachable through TorchScript's {@code
   * torch.autograd.grad}.
   *
   * @throws IllegalStateException if an output of the block has no batch axis of {@link
   *     #batchSize()} first
   */
  @Override
  public List<ParameterVector> perTermGradients() {
    ensureLive();
    for (int k = 0; k < outputs.size(); k++) {
      Shape s = outputs.get(k).getShape();
      if (s.dimension() == 0 || s.get(0) != batchSize) {
        throw new IllegalStateException(
            "perTermGradients: output " + k + " has shape " + s + ", not a batch axis of "
                + batchSize + " first");
      }
    }
    List<ParameterVector> out = new ArrayList<>(batchSize);
    try (PyTorchRuntime.GradMode on = PyTorchRuntime.GradMode.on();
        NDScope scope = new NDScope()) {
      NDList dz = lossOutputGradient();
      NDList scaled = new NDList(dz.size());
      try (PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
        for (NDArray d : dz) {
          scaled.add(d.mul(batchSize));
        }
      }
      for (int i = 0; i < batchSize; i++) {
        try (NDScope term = new NDScope()) {
          NDList seeds = new NDList(scaled.size());
          try (PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
            NDIndex row = new NDIndex(i);
            for (NDArray a : scaled) {
              NDArray seed = a.zerosLike();
              seed.set(row, a.get(row));
              seeds.add(seed);
            }
          }
          out.add(result(net.layout, PyTorchRuntime.grad(outputs, aliases, seeds, false,
              net.algebra.manager())));
        }
      }
    } catch (RuntimeException | Error e) {
      out.forEach(ParameterVector::close);
      throw e;
    }
    return out;
  }

  private void requireOneOutput(String what) {
    if (outputs.size() != 1) {
      throw new IllegalStateException(
          what + ": the block has " + outputs.size() + " outputs; Curvature." + what
              + " takes one tensor");
    }
  }

  private static NDList select(NDList all, int[] idx) {
    NDList out = new NDList(idx.length);
    for (int i : idx) {
      out.add(all.get(i));
    }
    return out;
  }

  /** The blocks of {@code v} as arrays of the parameters' shapes, data type and device. */
  private NDList directions(ParameterVector v, int[] idx) {
    NDList out = new NDList(idx.length);
    for (int i = 0; i < idx.length; i++) {
      NDArray p = aliases.get(idx[i]);
      out.add(net.array(v.block(i), p.getShape(), "v", net.layout.block(idx[i]).name()));
    }
    return out;
  }

  private ParameterVector result(ParameterLayout layout, NDList arrays) {
    DjlTensor[] t = new DjlTensor[arrays.size()];
    for (int i = 0; i < t.length; i++) {
      t[i] = net.algebra.adopt(arrays.get(i));
    }
    return ParameterVector.of(layout, t);
  }

  @Override
  public void close() {
    if (manager != null) {
      manager.close();
      manager = null;
      aliases = null;
      outputs = null;
      jacobianOutputs = null;
      data = null;
      labels = null;
      lossArray = null;
      gradient = null;
      hessianGraph = null;
      jtLeaf = null;
      jtGraph = null;
      outputValues = null;
      outputLeaves = null;
      lossGradientGraph = null;
      lossOutputGradient = null;
      tapOutputs = null;
      tapInputs = null;
      tapProbes = null;
    }
  }

  @Override
  public String toString() {
    return "DjlCurvature[" + batchSize + " samples, loss " + loss + "]";
  }
}
