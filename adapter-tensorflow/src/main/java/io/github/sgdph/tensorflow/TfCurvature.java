package io.github.sgdph.tensorflow;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.FactoredLayer;
import io.github.sgdph.kfac.SpecFactoring;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.types.TInt32;

/**
 * Loss, gradient and exact curvature products of a TensorFlow model on one batch, at the
 * parameters the model had when this object was made.
 *
 * <p>The batch is uploaded once, when this object is made; each product is then one {@code
 * Session.run} of its subgraph ({@link CurvatureGraph}), fed with the model's parameter tensors,
 * the batch tensors and the direction's own tensors (zeros for the blocks outside a sub-layout),
 * fetching only the requested blocks and returning them without a copy. In graph mode every run
 * evaluates its forward pass again: TensorFlow Java cannot keep activations between runs. The
 * first of {@link #loss()} and {@link #gradient()} runs the gradient subgraph and keeps the
 * loss; a later {@code gradient()} runs it again.
 *
 * <p>{@link #perTermGradients()} therefore does not take the interface's default (one {@link
 * #vjp} per term, each a forward and a backward pass): one run computes the terms of a chunk of
 * {@value #PER_TERM_CHUNK}, each its own backward pass from the outputs, from one shared forward
 * pass ({@link CurvatureGraph.PerTerm}).
 *
 * <p>When the model's parameters change, or after {@link #close()}, every method throws {@link
 * IllegalStateException}.
 */
public final class TfCurvature implements Curvature {
  /**
   * How many per-term gradients one {@code Session.run} computes (the backward passes added to
   * the graph, once per model, on the first {@link #perTermGradients()}). Measured on the
   * 2-core build machine (TfPerTermTiming, float32, batch 32, medians of 60 interleaved rounds),
   * the time per term in gradients (forward and backward pass) at chunks of 1, 4, 8, 16 and 32:
   * 0.98, 0.58, 0.52, 0.51, 0.50 on a 784-256-BN-ReLU-10 MLP (the interface's default, one
   * {@link #vjp} per term: 0.89), 1.02, 0.64, 0.58, 0.55, 0.54 on a two-convolution batch-norm
   * CNN (default 0.98): about one backward pass per term from a chunk of 8 on. The first call
   * (adding the backward passes, TensorFlow's first run) took 0.45 / 0.52 s at 8, 1.1 / 1.0 s at
   * 16 and 2.3 / 4.5 s at 32; the graph and the intermediate values of a run grow with the
   * chunk.
   */
  static final int PER_TERM_CHUNK = 8;

  private final TfModelBase<?> model;
  private final long version;
  private final int n;
  private org.tensorflow.Tensor[] batch;
  private Double loss;
  private int[] outputShape;
  /** The Kronecker-factor SPI of a spec model: layers, their spec indices, host inputs. */
  private List<FactoredLayer> factored;
  private int[] factoredAt;
  private double[][] hostInputs;

  TfCurvature(TfModelBase<?> model, HostBatch batch) {
    this.model = model;
    this.version = model.version();
    this.n = batch.size();
    this.batch = batch.upload(model.algebra());
  }

  private void ensureLive() {
    if (batch == null) {
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
    if (loss == null) {
      loss = model.runLoss(model.runner(batch, null, null));
    }
    return loss;
  }

  @Override
  public ParameterVector gradient() {
    ensureLive();
    CurvatureGraph p = model.program();
    Session.Runner r = model.runner(batch, null, null).fetch(p.loss);
    for (Output<?> g : p.gradient) {
      r.fetch(g);
    }
    Result res = r.run();
    loss = TfModelBase.scalarOf(res.get(0));
    return ParameterVector.of(model.layout(), (Tensor[]) model.adoptAll(res, 1));
  }

  @Override
  public ParameterVector hvp(ParameterVector v) {
    return product(v, model.program().hvp);
  }

  /**
   * The gradient and {@code H v} from one {@code Session.run} of the Hessian-vector product's
   * subgraph, which computes the loss and the gradient on its way (the loss is kept): one forward
   * pass, one backward and one double-backward pass, where {@link #gradient()} then {@link #hvp}
   * would run the forward and backward passes twice.
   */
  @Override
  public GradientAndHvp gradientAndHvp(ParameterVector v) {
    ensureLive();
    Objects.requireNonNull(v, "v");
    int[] idx = model.rootIndices(v.layout(), "v");
    CurvatureGraph p = model.program();
    TfTensor[] t;
    try (Feeds f = new Feeds(v, idx)) {
      Session.Runner r = f.runner().fetch(p.loss);
      for (Output<?> g : p.gradient) {
        r.fetch(g);
      }
      for (int b : idx) {
        r.fetch(p.hvp.get(b));
      }
      Result res = r.run();
      loss = TfModelBase.scalarOf(res.get(0));
      t = model.adoptAll(res, 1);
    }
    int blocks = model.layout().blockCount();
    try {
      return new GradientAndHvp(
          ParameterVector.of(model.layout(), (Tensor[]) Arrays.copyOfRange(t, 0, blocks)),
          ParameterVector.of(v.layout(), (Tensor[]) Arrays.copyOfRange(t, blocks, t.length)));
    } catch (RuntimeException | Error e) {
      TfModelBase.closeAll(t);
      throw e;
    }
  }

  @Override
  public ParameterVector ggnvp(ParameterVector v) {
    return product(v, model.program().ggnvp);
  }

  /** {@code J v} as a {@code [n, k]} tensor (the shape of the network outputs). */
  @Override
  public TfTensor jvp(ParameterVector v) {
    ensureLive();
    Objects.requireNonNull(v, "v");
    int[] idx = model.rootIndices(v.layout(), "v");
    try (Feeds f = new Feeds(v, idx)) {
      Session.Runner r = f.runner().fetch(model.program().jvp);
      return model.adoptAll(r.run(), 0)[0];
    }
  }

  /**
   * {@code ∂L/∂z}, the gradient of the mean loss with respect to the network outputs (one
   * forward and one backward pass to the outputs; the loss is kept).
   *
   * @return a new tensor of the outputs' shape, batch first ({@code [n, k]} for a spec model)
   */
  @Override
  public TfTensor outputGradient() {
    ensureLive();
    CurvatureGraph p = model.program();
    Result res = model.runner(batch, null, null).fetch(p.loss).fetch(p.outputGradient).run();
    loss = TfModelBase.scalarOf(res.get(0));
    return model.adoptAll(res, 1)[0];
  }

  /**
   * {@code Jᵀu}: the backward pass from the network outputs seeded with {@code u} instead of
   * {@code ∂L/∂z}, one {@code Session.run} (forward and backward pass). With train-mode batch
   * norm, every sample's outputs depend on the whole batch, and so does {@code Jᵀu}.
   *
   * @param u a {@link TfTensor} of this model's algebra and the outputs' shape, batch first; fed
   *     as it is, not modified
   * @return a new vector over the model's layout
   * @throws IllegalArgumentException naming {@code u} if it is not a {@link TfTensor} of this
   *     model's algebra or has another shape
   */
  @Override
  public ParameterVector vjp(Tensor u) {
    ensureLive();
    TfTensor tu = outputSeed(u);
    CurvatureGraph p = model.program();
    Session.Runner r = model.runner(batch, null, null).feed(p.u, tu.tensorflowTensor());
    for (Output<?> g : p.jtu) {
      r.fetch(g);
    }
    return ParameterVector.of(model.layout(), (Tensor[]) model.adoptAll(r.run(), 0));
  }

  /** {@code u} checked as a seed of a backward pass from the outputs. */
  private TfTensor outputSeed(Tensor u) {
    Objects.requireNonNull(u, "u");
    if (!(u instanceof TfTensor tu) || tu.algebra() != model.algebra()) {
      throw new IllegalArgumentException(
          "u: expected a tensor of " + model.algebra() + " but got " + u.algebra());
    }
    int[] expected = outputShape();
    if (!tu.hasShape(expected)) {
      throw new IllegalArgumentException(
          "u: shape " + Arrays.toString(u.shape()) + " is not the outputs' "
              + Arrays.toString(expected));
    }
    return tu;
  }

  // ------------------------------------------------------------------------ Kronecker factors

  /**
   * {@inheritDoc}
   *
   * <p>For a spec model ({@link TfSpecModel}): its dense and convolution layers ({@link
   * SpecFactoring#factoredLayers}). The graph fetches every such layer's input as an extra
   * output of the forward pass ({@link #layerInputs}: one {@code Session.run} for all layers, at
   * the first call, kept on the host and unfolded there, {@link SpecFactoring#layerInputs}: KFC's
   * im2col patches for a convolution), and {@link #layerOutputGradients} is one {@code
   * Session.run} of the symbolic gradients of {@code ⟨u, z⟩} with respect to the layers' outputs
   * (a forward and one backward pass, {@code u} fed to the placeholder {@link
   * CurvatureGraph#u}).
   *
   * @throws UnsupportedOperationException for a user's graph ({@link TfGraphModel}), whose layers
   *     sgdph does not know
   */
  @Override
  public List<FactoredLayer> factoredLayers() {
    ensureLive();
    specGraph("factoredLayers");
    return factored;
  }

  /** The spec model's graph, the factored layers computed; throws for a user's graph. */
  private SpecGraph specGraph(String what) {
    SpecGraph g = model.specGraph();
    if (g == null) {
      throw new UnsupportedOperationException(what + ": " + getClass().getName() + " of a user's"
          + " TensorFlow graph (TfGraphModel) does not expose Kronecker-factor inputs: sgdph"
          + " does not know its layers; build the model from a spec (TfSpecModel)");
    }
    if (factored == null) {
      factored = SpecFactoring.factoredLayers(g.spec);
      factoredAt = SpecFactoring.layerIndices(g.spec);
    }
    return g;
  }

  @Override
  public Tensor layerInputs(int layer) {
    ensureLive();
    SpecGraph g = specGraph("layerInputs");
    Objects.checkIndex(layer, factored.size());
    if (hostInputs == null) {
      Session.Runner r = model.runner(batch, null, null);
      for (Output<?> a : g.layerInputs) {
        r.fetch(a);
      }
      double[][] host = new double[factored.size()][];
      TfTensor[] t = model.adoptAll(r.run(), 0);
      try {
        for (int l = 0; l < host.length; l++) {
          host[l] = SpecFactoring.layerInputs(g.spec, factoredAt[l], t[l].toDoubleArray(), n);
        }
      } finally {
        TfModelBase.closeAll(t);
      }
      hostInputs = host;
    }
    FactoredLayer f = factored.get(layer);
    return model.algebra().fromArray(hostInputs[layer], n, f.inputDim(), f.positions());
  }

  @Override
  public List<Tensor> layerOutputGradients(Tensor u) {
    ensureLive();
    SpecGraph g = specGraph("layerOutputGradients");
    TfTensor tu = outputSeed(u);
    Session.Runner r = model.runner(batch, null, null).feed(model.program().u,
        tu.tensorflowTensor());
    for (Output<?> d : g.layerOutputGradients()) {
      r.fetch(d);
    }
    return new ArrayList<>(Arrays.asList((Tensor[]) model.adoptAll(r.run(), 0)));
  }

  /**
   * The shape of the network outputs on this batch: the graph's static shape, with the batch
   * size where the first dimension is open; where the graph leaves another dimension open (a
   * user graph), one forward pass finds it, once per curvature.
   *
   * @throws IllegalStateException if the outputs are not batch-first
   */
  private int[] outputShape() {
    if (outputShape == null) {
      Output<?> z = model.program().outputs;
      org.tensorflow.ndarray.Shape s = z.shape();
      int[] shape = null;
      if (!s.isUnknown() && s.numDimensions() >= 1) {
        shape = new int[s.numDimensions()];
        shape[0] = s.size(0) < 0 ? n : Math.toIntExact(s.size(0));
        for (int i = 1; i < shape.length; i++) {
          long d = s.size(i);
          if (d < 0) {
            shape = null;
            break;
          }
          shape[i] = Math.toIntExact(d);
        }
      }
      if (shape == null) {
        try (Result res = model.runner(batch, null, null).fetch(z).run()) {
          long[] d = res.get(0).shape().asArray();
          shape = new int[d.length];
          for (int i = 0; i < d.length; i++) {
            shape[i] = Math.toIntExact(d[i]);
          }
        }
      }
      if (shape.length == 0 || shape[0] != n) {
        throw new IllegalStateException(
            "outputs: shape " + Arrays.toString(shape) + " is not batch-first for " + n
                + " samples");
      }
      outputShape = shape;
    }
    return outputShape.clone();
  }

  /**
   * The per-term gradients {@code g_i = ∂ℓ_i/∂θ} of the batch loss {@code L = (1/n) Σ_i ℓ_i},
   * all in forward passes of the whole batch: with train-mode batch norm each term includes its
   * dependence on the batch statistics, and {@code (1/n) Σ_i g_i} is {@link #gradient()} (to
   * rounding). {@code g_i = Jᵀ u_i} with {@code u_i} row {@code i} of {@code n ∂L/∂z} and zeros
   * elsewhere, as the interface's default, but {@value #PER_TERM_CHUNK} terms per {@code
   * Session.run}: each run is one forward pass and one backward pass per term, the seeds made in
   * the graph from that run's {@code ∂L/∂z}. For MSE and sigmoid BCE, {@code ℓ_i} is the mean
   * over sample {@code i}'s output elements.
   *
   * @return {@link #batchSize()} new vectors over the model's layout, in sample order; the
   *     caller closes them
   * @throws IllegalStateException if the network outputs are not batch-first
   */
  @Override
  public List<ParameterVector> perTermGradients() {
    return perTermGradients(PER_TERM_CHUNK);
  }

  /** {@link #perTermGradients()} with {@code chunk} terms per run (for measurements). */
  List<ParameterVector> perTermGradients(int chunk) {
    ensureLive();
    outputShape();
    CurvatureGraph.PerTerm p = model.program().perTerm(chunk);
    ParameterLayout layout = model.layout();
    int blocks = layout.blockCount();
    List<ParameterVector> out = new ArrayList<>(n);
    try {
      for (int start = 0; start < n; start += chunk) {
        int m = Math.min(chunk, n - start);
        TfTensor[] t;
        try (TInt32 s = TInt32.scalarOf(start)) {
          Session.Runner r = model.runner(batch, null, null).feed(p.start, s);
          for (int c = 0; c < m; c++) {
            for (Output<?> g : p.terms.get(c)) {
              r.fetch(g);
            }
          }
          t = model.adoptAll(r.run(), 0);
        }
        int c = 0;
        try {
          for (; c < m; c++) {
            out.add(ParameterVector.of(layout, (Tensor[]) Arrays.copyOfRange(t, c * blocks,
                (c + 1) * blocks)));
          }
        } catch (RuntimeException | Error e) {
          TfModelBase.closeAll(Arrays.copyOfRange(t, c * blocks, t.length));
          throw e;
        }
      }
    } catch (RuntimeException | Error e) {
      out.forEach(ParameterVector::close);
      throw e;
    }
    return out;
  }

  private ParameterVector product(ParameterVector v, List<Output<?>> outputs) {
    ensureLive();
    Objects.requireNonNull(v, "v");
    int[] idx = model.rootIndices(v.layout(), "v");
    try (Feeds f = new Feeds(v, idx)) {
      Session.Runner r = f.runner();
      for (int b : idx) {
        r.fetch(outputs.get(b));
      }
      return ParameterVector.of(v.layout(), (Tensor[]) model.adoptAll(r.run(), 0));
    }
  }

  /** The feeds of a product: the direction's blocks and zeros elsewhere. */
  private final class Feeds implements AutoCloseable {
    private final TfTensor[] direction;
    private final TfTensor[] temporary;

    Feeds(ParameterVector v, int[] idx) {
      ParameterLayout root = model.layout();
      direction = new TfTensor[root.blockCount()];
      temporary = new TfTensor[idx.length];
      for (int i = 0; i < idx.length; i++) {
        int b = idx[i];
        Tensor t = v.block(i);
        int[] shape = root.block(b).shape();
        if (t.size() != root.block(b).size()) {
          throw new IllegalArgumentException(
              "v: block '" + root.block(b).name() + "' has " + t.size() + " entries but needs "
                  + root.block(b).size());
        }
        if (t instanceof TfTensor tt && tt.algebra() == model.algebra() && tt.hasShape(shape)) {
          direction[b] = tt;
        } else {
          temporary[i] =
              t instanceof TfTensor tt && tt.algebra() == model.algebra()
                  ? tt.copyAs(shape)
                  : model.algebra().fromArray(t.toDoubleArray(), shape);
          direction[b] = temporary[i];
        }
      }
      for (int b = 0; b < direction.length; b++) {
        if (direction[b] == null) {
          direction[b] = model.zeroBlock(b);
        }
      }
    }

    Session.Runner runner() {
      Session.Runner r = model.runner(batch, null, null);
      List<Output<?>> ph = model.program().directions;
      for (int b = 0; b < direction.length; b++) {
        r.feed(ph.get(b), direction[b].tensorflowTensor());
      }
      return r;
    }

    @Override
    public void close() {
      TfModelBase.closeAll(temporary);
    }
  }

  /** Releases the uploaded batch. Idempotent. */
  @Override
  public void close() {
    org.tensorflow.Tensor[] b = batch;
    batch = null;
    hostInputs = null;
    HostBatch.close(b);
  }
}
