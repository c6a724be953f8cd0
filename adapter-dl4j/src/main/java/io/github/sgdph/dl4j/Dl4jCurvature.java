package io.github.sgdph.dl4j;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.FactoredLayer;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Loss, gradient and exact curvature products of a Deeplearning4j network on one batch, at the
 * parameters it had when this object was made, by a forward pass, a backward pass and
 * Pearlmutter's R-operator written per layer with ND4J ops (see {@link Op}).
 *
 * <p>The constructor runs the forward pass. The first call of {@link #gradient()} or
 * {@link #hvp} runs the backward pass and keeps the gradient with respect to every op's output.
 * Then, for a direction {@code v}:
 * <ul>
 *   <li>{@link #jvp}: the R-forward pass {@code R{a_{l+1}} = J_a R{a_l} + J_θ v_l} gives
 *       {@code J v} at the network outputs;
 *   <li>{@link #hvp}: R-forward, {@code R{∇_z L} = H_L J v}, then the R-backward pass with every
 *       op's second-order terms gives {@code H v} (Pearlmutter 1994);
 *   <li>{@link #ggnvp}: R-forward, {@code H_L J v}, then the plain backward pass gives
 *       {@code G v = Jᵀ H_L J v} (Schraudolph 2002);
 *   <li>{@link #vjp}: the plain backward pass seeded with {@code u} instead of
 *       {@code ∂L/∂z} ({@link #outputGradient()}) gives {@code Jᵀu}, and
 *       {@link #perTermGradients()} is one such backward pass per term;
 *   <li>the Kronecker-factor SPI (KFAC, Martens and Grosse 2015; KFC, Grosse and Martens
 *       2016): {@link #layerInputs} reads a dense op's input or a convolution's im2col window
 *       matrix off the forward pass, and {@link #layerOutputGradients} is the backward pass
 *       seeded with {@code u} read at the factored ops' pre-activation outputs.
 * </ul>
 * A vector over a {@linkplain ParameterLayout#select sub-layout} is the direction with zeros
 * elsewhere; only its blocks are returned (the diagonal block of the product), and the passes
 * start at the ops the direction touches and run back only through ops that lead to one asked
 * for.
 *
 * <p>The ops form a directed acyclic graph ({@link NetworkPlan}; a chain for a
 * {@code MultiLayerNetwork}). Every pass runs over it in topological order (forward, R-forward)
 * or its reverse (backward, R-backward); where an op's output is read by several ops, its
 * gradient and the R-derivative of its gradient are the sums over those consumers, and a
 * {@link JoinOp} hands each of its inputs its part.
 *
 * <p>When the model's parameters change through the model (or after {@link #close()}), every
 * method throws {@link IllegalStateException}.
 */
final class Dl4jCurvature implements Curvature {
  private final NetworkCore core;
  private final long version;
  private final int n;
  /** The arrays kept across passes (forward caches, backward gradients). */
  private final Scratch kept = new Scratch();
  private Op.Node[] nodes;
  private INDArray output;
  private LossHead.Eval eval;
  /** {@code ∂L/∂(output of op l)}, from the backward pass. */
  private INDArray[] gOut;
  /** The gradient per op and slot (network shapes). */
  private INDArray[][] grad;
  /** The Kronecker-factored layers and the op of each, computed on first use. */
  private List<FactoredLayer> factored;

  private int[] factoredOp;

  Dl4jCurvature(NetworkCore core, INDArray x, INDArray y) {
    this.core = core;
    this.version = core.version();
    this.n = (int) x.size(0);
    try (MemoryWorkspace ws = Scratch.scope()) {
      NetworkCore.Pass pass = core.forward(core.plan.liveParams(), x, true);
      LossHead.Eval e = core.plan.head.evaluate(pass.output(), y);
      for (Op.Node node : pass.nodes()) {
        node.keep(kept);
      }
      e.keep(kept);
      this.output = kept.keep(pass.output());
      this.nodes = pass.nodes();
      this.eval = e;
      kept.endScope();
    }
  }

  private void ensureLive() {
    if (nodes == null) {
      throw new IllegalStateException("curvature: used after close()");
    }
    core.ensureOpen();
    if (core.version() != version) {
      throw new IllegalStateException(
          "curvature: stale, the model's parameters changed since it was computed");
    }
  }

  @Override
  public ParameterLayout layout() {
    return core.layout;
  }

  @Override
  public int batchSize() {
    return n;
  }

  @Override
  public double loss() {
    ensureLive();
    return eval.value;
  }

  /**
   * The network outputs (logits for the cross-entropies) at these parameters.
   *
   * @return the live output array {@code [n, k]}; do not modify it
   */
  INDArray outputs() {
    ensureLive();
    return output;
  }

  private boolean[][] wantAll() {
    List<Op> ops = core.plan.ops;
    boolean[][] w = new boolean[ops.size()][];
    for (NetworkCore.Block b : core.blocks) {
      int op = b.param().op();
      if (w[op] == null) {
        w[op] = new boolean[ops.get(op).slots()];
      }
      w[op][b.param().slot()] = true;
    }
    return w;
  }

  private void backward() {
    if (gOut != null) {
      return;
    }
    INDArray[] go = new INDArray[nodes.length];
    INDArray[][] g;
    try (MemoryWorkspace ws = Scratch.scope()) {
      g = backwardFrom(eval.gradient(), go);
      for (INDArray[] slots : g) {
        if (slots != null) {
          for (int s = 0; s < slots.length; s++) {
            slots[s] = kept.keep(slots[s]);
          }
        }
      }
      kept.endScope();
    }
    this.gOut = go;
    this.grad = g;
  }

  /**
   * The backward pass from {@code seed} (a gradient with respect to the network outputs, not
   * modified) at this forward pass, in reverse topological order through the ops that lead to a
   * trainable one, in the current scope. An op's output gradient is complete when it is reached:
   * every consumer comes later in the order and has added its part.
   *
   * @param go if not null, receives the gradient with respect to every op's output, kept out
   *     of the scope
   * @return the gradient of every trainable slot per op and slot (null where the op has none)
   */
  private INDArray[][] backwardFrom(INDArray seed, INDArray[] go) {
    boolean[][] want = wantAll();
    return backwardFrom(seed, want, marked(want), go == null ? null : (l, d) -> {
      go[l] = kept.keep(d);
      return go[l];
    });
  }

  /** What a backward pass does with an op's output gradient once it is complete. */
  private interface OutputGradientHook {
    /**
     * Called with op {@code l}'s complete output gradient {@code d}.
     *
     * @return the array the pass continues with (the same values)
     */
    INDArray at(int l, INDArray d);
  }

  /**
   * {@link #backwardFrom(INDArray, INDArray[])} through the ops at or after the {@code marked}
   * ones, computing the gradients of the slots in {@code want}, and handing every op's output
   * gradient to {@code hook} (if not null) when it is complete.
   */
  private INDArray[][] backwardFrom(
      INDArray seed, boolean[][] want, boolean[] marked, OutputGradientHook hook) {
    NetworkPlan plan = core.plan;
    boolean[] reach = plan.atOrAfter(marked);
    INDArray[][] g = new INDArray[nodes.length][];
    INDArray[] acc = new INDArray[nodes.length];
    if (plan.output != NetworkPlan.INPUT) {
      acc[plan.output] = seed;
    }
    for (int l = nodes.length - 1; l >= 0; l--) {
      INDArray d = acc[l];
      acc[l] = null;
      if (!reach[l] || d == null) {
        continue;
      }
      if (hook != null) {
        d = hook.at(l, d);
      }
      g[l] = want[l] == null ? null : new INDArray[want[l].length];
      plan.accumulate(
          l, nodes[l].backwardInputs(d, want[l], g[l], plan.needIn(l, reach)), acc);
    }
    return g;
  }

  /** Which ops have a slot in {@code want}. */
  private static boolean[] marked(boolean[][] want) {
    boolean[] m = new boolean[want.length];
    for (int i = 0; i < m.length; i++) {
      m[i] = want[i] != null;
    }
    return m;
  }

  /** A new vector over the layout from the gradient per op and slot (copied out of any scope). */
  private ParameterVector vectorOf(INDArray[][] g) {
    Tensor[] t = new Tensor[core.blocks.size()];
    try {
      for (int b = 0; b < t.length; b++) {
        NetworkPlan.Param p = core.blocks.get(b).param();
        t[b] = core.blockTensor(b, g[p.op()] == null ? null : g[p.op()][p.slot()]);
      }
    } catch (RuntimeException | Error e) {
      for (Tensor x : t) {
        if (x != null) {
          x.close();
        }
      }
      throw e;
    }
    return ParameterVector.of(core.layout, t);
  }

  @Override
  public ParameterVector gradient() {
    ensureLive();
    backward();
    return vectorOf(grad);
  }

  /** The shape of the network outputs, {@code [n, k]} ({@code [n, k, T]} for sequences). */
  private int[] outputShape() {
    int[] s = new int[output.rank()];
    for (int i = 0; i < s.length; i++) {
      s[i] = Math.toIntExact(output.size(i));
    }
    return s;
  }

  /**
   * {@code ∂L/∂z}: the gradient of the mean loss with respect to the network outputs (the
   * logits for the two cross-entropies, the output activations for squared error), the seed of
   * {@link #gradient()}'s backward pass. Row {@code i} is {@code (1/n) ∂ℓ_i/∂z_i}, with
   * {@code ℓ_i} the loss of sample {@code i} as {@link LossHead} defines it (for a loss that is
   * the mean over all elements, {@code ℓ_i} is the mean over sample {@code i}'s outputs).
   *
   * @return a new tensor {@code [n, k]} of this model's dtype, owned by the caller
   * @throws IllegalStateException if this curvature is stale or closed
   */
  @Override
  public Tensor outputGradient() {
    ensureLive();
    try (MemoryWorkspace ws = Scratch.scope()) {
      return core.algebra.own(Scratch.detach(eval.gradient()), outputShape());
    }
  }

  /**
   * {@code Jᵀu}: the backward pass of this curvature's forward pass seeded with {@code u}
   * instead of {@code ∂L/∂z}, over every trainable block. With train-mode batch norm every
   * sample's outputs depend on the whole batch, and the backward pass carries that dependence.
   * Costs one backward pass (no forward pass).
   *
   * @param u a tensor {@code [n, k]} of the outputs' shape, of this model's backend and dtype;
   *     not modified
   * @return a new vector over {@link #layout()}
   * @throws IllegalArgumentException naming {@code u} if it has another shape, backend or dtype
   * @throws IllegalStateException if this curvature is stale or closed
   */
  @Override
  public ParameterVector vjp(Tensor u) {
    INDArray a = seedArray(u);
    try (MemoryWorkspace ws = Scratch.scope()) {
      return vectorOf(backwardFrom(rowMajor(a), null));
    }
  }

  /**
   * The array of a seed {@code u} of a backward pass, checked: live curvature, the outputs'
   * shape, this backend and dtype.
   */
  private INDArray seedArray(Tensor u) {
    ensureLive();
    Objects.requireNonNull(u, "u");
    int[] shape = outputShape();
    if (!Arrays.equals(u.shape(), shape)) {
      throw new IllegalArgumentException(
          "u: shape " + Arrays.toString(u.shape()) + " is not the outputs' "
              + Arrays.toString(shape));
    }
    return core.arrayOf(u, "u");
  }

  /** {@code a}, or a row-major copy in the current scope of a view or a column-major array. */
  private static INDArray rowMajor(INDArray a) {
    // the ops' fast paths
    return a.ordering() == 'c' && !a.isView() ? a : a.dup('c');
  }

  /**
   * The per-term gradients {@code g_i = ∂ℓ_i/∂θ} of the batch loss {@code L = (1/n) Σ_i ℓ_i}
   * at this curvature's forward pass of the whole batch: {@code g_i = Jᵀ u_i} with {@code u_i}
   * row {@code i} of {@code n ∂L/∂z} and zeros elsewhere. With train-mode batch norm every term
   * includes its dependence on the batch statistics, and {@code (1/n) Σ_i g_i} is
   * {@link #gradient()} up to rounding. For a loss that is the mean over all elements (MSE, the
   * spec's sigmoid binary cross-entropy), {@code ℓ_i} is the mean over sample {@code i}'s
   * outputs; for DL4J's {@code L2}, {@code XENT} and {@code MCXENT} the sum over them.
   *
   * <p>The same values as the interface's default, without its round trips through the host:
   * one device array holds the seed, and each term writes its row of {@code n ∂L/∂z} into it
   * and clears it afterwards ({@code O(k)} per term, where the default builds and uploads a
   * dense {@code n × k} seed per term). Every term costs one backward pass, in its own
   * workspace scope; the forward pass is this object's.
   *
   * @return {@link #batchSize()} new vectors over {@link #layout()}, in sample order; the
   *     caller closes them
   * @throws IllegalStateException if this curvature is stale or closed
   */
  @Override
  public List<ParameterVector> perTermGradients() {
    ensureLive();
    List<ParameterVector> out = new ArrayList<>(n);
    INDArray scaled = null;
    INDArray seed = null;
    try {
      try (MemoryWorkspace ws = Scratch.scope()) {
        scaled = Scratch.detach(eval.gradient().muli(n));
      }
      seed = Scratch.detach(Nd4j.zeros(scaled.dataType(), scaled.shape()));
      for (int i = 0; i < n; i++) {
        // sample i's outputs (a row, or its [k, T] sequence)
        INDArray row = seed.slice(i);
        row.assign(scaled.slice(i));
        try (MemoryWorkspace ws = Scratch.scope()) {
          out.add(vectorOf(backwardFrom(seed, null)));
        }
        row.assign(0);
      }
    } catch (RuntimeException | Error e) {
      out.forEach(ParameterVector::close);
      throw e;
    } finally {
      close(scaled);
      close(seed);
    }
    return out;
  }

  private static void close(INDArray a) {
    if (a != null && a.closeable()) {
      a.close();
    }
  }

  /**
   * The R-forward pass in topological order; {@code rs[l]} is null where nothing reaches op l
   * (no direction on its parameters and none on its inputs).
   */
  private Op.RState[] rForward(INDArray[][] v) {
    NetworkPlan plan = core.plan;
    Op.RState[] rs = new Op.RState[nodes.length];
    for (int l = 0; l < nodes.length; l++) {
      int[] in = plan.inputsOf(l);
      INDArray[] rIn = new INDArray[in.length];
      boolean any = v[l] != null;
      for (int k = 0; k < in.length; k++) {
        rIn[k] = in[k] == NetworkPlan.INPUT || rs[in[k]] == null ? null : rs[in[k]].rOut;
        any |= rIn[k] != null;
      }
      if (any) {
        rs[l] = nodes[l].rForwardInputs(rIn, v[l]);
      }
    }
    return rs;
  }

  private INDArray rOutput(Op.RState[] rs) {
    int out = core.plan.output;
    return out == NetworkPlan.INPUT || rs[out] == null ? null : rs[out].rOut;
  }

  private ParameterVector product(ParameterVector v, boolean second) {
    ensureLive();
    Objects.requireNonNull(v, "v");
    int[] idx = core.rootIndices(v.layout(), "v");
    INDArray[][] vs = core.directionSlots(v, idx, "v");
    List<Op> ops = core.plan.ops;
    boolean[][] want = new boolean[nodes.length][];
    for (int i : idx) {
      NetworkPlan.Param p = core.blocks.get(i).param();
      if (want[p.op()] == null) {
        want[p.op()] = new boolean[ops.get(p.op()).slots()];
      }
      want[p.op()][p.slot()] = true;
    }
    if (second) {
      backward();
    }
    try (MemoryWorkspace ws = Scratch.scope()) {
      return product(v, idx, vs, want, second);
    }
  }

  /**
   * {@code H v} ({@code second}) or {@code G v} over the blocks {@code idx}: the R-forward pass,
   * {@code H_L R{z}} at the output, then in reverse topological order through the ops that lead
   * to a wanted block the R-backward pass (or, for {@code G v}, the plain backward pass of
   * {@code H_L J v}), the R-derivatives of an output's gradient added over its consumers.
   */
  private ParameterVector product(
      ParameterVector v, int[] idx, INDArray[][] vs, boolean[][] want, boolean second) {
    NetworkPlan plan = core.plan;
    boolean[] reach = plan.atOrAfter(marked(want));
    Op.RState[] rs = rForward(vs);
    INDArray[] racc = new INDArray[nodes.length];
    if (plan.output != NetworkPlan.INPUT) {
      racc[plan.output] = eval.hessianVector(rOutput(rs));
    }
    INDArray[][] out = new INDArray[nodes.length][];
    for (int l = nodes.length - 1; l >= 0; l--) {
      INDArray rg = racc[l];
      racc[l] = null;
      if (!reach[l]) {
        continue;
      }
      out[l] = want[l] == null ? null : new INDArray[want[l].length];
      boolean[] need = plan.needIn(l, reach);
      if (second) {
        if (gOut[l] == null) {
          continue; // the op's output does not reach the loss
        }
        Op.RState r = rs[l] == null ? new Op.RState(null, null, null) : rs[l];
        plan.accumulate(
            l, nodes[l].rBackwardInputs(r, vs[l], gOut[l], rg, want[l], out[l], need), racc);
      } else if (rg != null) {
        plan.accumulate(l, nodes[l].backwardInputs(rg, want[l], out[l], need), racc);
      }
    }
    Tensor[] t = new Tensor[idx.length];
    for (int i = 0; i < idx.length; i++) {
      NetworkPlan.Param p = core.blocks.get(idx[i]).param();
      t[i] = core.blockTensor(idx[i], out[p.op()] == null ? null : out[p.op()][p.slot()]);
    }
    return ParameterVector.of(v.layout(), t);
  }

  @Override
  public ParameterVector hvp(ParameterVector v) {
    return product(v, true);
  }

  @Override
  public ParameterVector ggnvp(ParameterVector v) {
    return product(v, false);
  }

  /** {@code J v}: the directional derivative of the network outputs, {@code [n, k]}. */
  @Override
  public Tensor jvp(ParameterVector v) {
    ensureLive();
    Objects.requireNonNull(v, "v");
    int[] idx = core.rootIndices(v.layout(), "v");
    INDArray[][] vs = core.directionSlots(v, idx, "v");
    int[] shape = outputShape();
    try (MemoryWorkspace ws = Scratch.scope()) {
      INDArray r = rOutput(rForward(vs));
      INDArray a = r == null ? Nd4j.zeros(output.dataType(), output.shape()) : r.dup('c');
      return core.algebra.own(Scratch.detach(a), shape);
    }
  }

  // ------------------------------------------------------------------ Kronecker-factor SPI

  /**
   * The affine maps of the {@code DenseLayer}s and {@code OutputLayer} and the {@code
   * ConvolutionLayer}s, in the order of their weight blocks in {@link #layout()} (forward order;
   * a spec model's layer order, as the reference backend's). The same op plan serves a spec model
   * and a user's {@code MultiLayerNetwork} or {@code ComputationGraph}; in a user's network a
   * dense weight block is DL4J's {@code [in, out]}, reported as {@link
   * FactoredLayer#weightTransposed()}. A convolution's {@code positions} are those of this
   * forward pass's input size.
   */
  @Override
  public List<FactoredLayer> factoredLayers() {
    ensureLive();
    if (factored == null) {
      List<FactoredLayer> out = new ArrayList<>();
      List<Integer> ops = new ArrayList<>();
      for (int b = 0; b < core.blocks.size(); b++) {
        NetworkCore.Block k = core.blocks.get(b);
        int op = k.param().op();
        if (k.param().slot() != 0 || !(nodes[op] instanceof FactoredNode f)) {
          continue;
        }
        int bias = -1;
        for (int c = 0; c < core.blocks.size(); c++) {
          NetworkPlan.Param p = core.blocks.get(c).param();
          if (p.op() == op && p.slot() == 1) {
            bias = c;
          }
        }
        boolean transposed = f.kind() == FactoredLayer.Kind.DENSE
            && k.mapping() == NetworkCore.Mapping.RESHAPE;
        out.add(new FactoredLayer(f.kind(), core.layout.block(b).name(), b, bias,
            Math.toIntExact(f.inputDim()), Math.toIntExact(f.outputDim()),
            Math.toIntExact(f.positions()), transposed));
        ops.add(op);
      }
      factored = List.copyOf(out);
      factoredOp = ops.stream().mapToInt(Integer::intValue).toArray();
    }
    return factored;
  }

  /**
   * The inputs of factored layer {@code layer} in this curvature's forward pass, read off what
   * the forward pass keeps for the backward pass: a dense layer's input, a convolution's window
   * matrix (ND4J's im2col of the padded input) — no further pass.
   *
   * @return a new tensor {@code [n, inputDim, positions]} of this model's dtype
   * @throws IndexOutOfBoundsException if {@code layer} is not an index of {@link
   *     #factoredLayers()}
   * @throws IllegalStateException if this curvature is stale or closed
   */
  @Override
  public Tensor layerInputs(int layer) {
    List<FactoredLayer> layers = factoredLayers();
    Objects.checkIndex(layer, layers.size());
    FactoredLayer f = layers.get(layer);
    int[] shape = {n, f.inputDim(), f.positions()};
    try (MemoryWorkspace ws = Scratch.scope()) {
      INDArray a = ((FactoredNode) nodes[factoredOp[layer]]).factorInputs();
      return core.algebra.own(copyOut(a, shape), shape);
    }
  }

  /**
   * The gradients of {@code ⟨u, z⟩} at every factored layer's pre-activation output: one backward
   * pass of this curvature's forward pass seeded with {@code u} (as {@link #vjp}) through the ops
   * at or after the first factored one, computing no parameter gradient, each factored op's
   * output gradient copied out when it is complete.
   *
   * @param u a tensor {@code [n, k]} of the outputs' shape, of this model's backend and dtype;
   *     not modified
   * @return one new tensor {@code [n, outputDim, positions]} per factored layer (zeros for a layer
   *     whose output does not reach the network output); the caller closes them
   * @throws IllegalArgumentException naming {@code u} if it has another shape, backend or dtype
   * @throws IllegalStateException if this curvature is stale or closed
   */
  @Override
  public List<Tensor> layerOutputGradients(Tensor u) {
    List<FactoredLayer> layers = factoredLayers();
    INDArray a = seedArray(u);
    int[] at = new int[nodes.length];
    Arrays.fill(at, -1);
    boolean[] marked = new boolean[nodes.length];
    for (int i = 0; i < factoredOp.length; i++) {
      at[factoredOp[i]] = i;
      marked[factoredOp[i]] = true;
    }
    Tensor[] out = new Tensor[layers.size()];
    try {
      try (MemoryWorkspace ws = Scratch.scope()) {
        backwardFrom(rowMajor(a), new boolean[nodes.length][], marked, (l, d) -> {
          int i = at[l];
          if (i >= 0) {
            FactoredLayer f = layers.get(i);
            int[] shape = {n, f.outputDim(), f.positions()};
            out[i] = core.algebra.own(
                copyOut(((FactoredNode) nodes[l]).factorOutputGradient(d), shape), shape);
          }
          return d;
        });
      }
      for (int i = 0; i < out.length; i++) {
        if (out[i] == null) {
          FactoredLayer f = layers.get(i);
          out[i] = core.algebra.zeros(n, f.outputDim(), f.positions());
        }
      }
    } catch (RuntimeException | Error e) {
      for (Tensor t : out) {
        if (t != null) {
          t.close();
        }
      }
      throw e;
    }
    return List.of(out);
  }

  /** A new row-major array out of any workspace with the values of {@code a} (of that shape). */
  private static INDArray copyOut(INDArray a, int[] shape) {
    try (MemoryWorkspace out = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
      return Nd4j.createUninitialized(a.dataType(), Nd4jAlgebra.toLong(shape), 'c').assign(a);
    }
  }

  @Override
  public void close() {
    nodes = null;
    output = null;
    kept.release();
    eval = null;
    gOut = null;
    grad = null;
  }
}
