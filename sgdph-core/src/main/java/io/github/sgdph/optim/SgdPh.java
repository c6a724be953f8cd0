package io.github.sgdph.optim;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.param.ChannelWiseRule;
import io.github.sgdph.param.ParameterBlock;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * SGD with Partial Hessian (SGD-PH; Sun, Yong and Zhang, "SGD with Partial Hessian for Deep
 * Neural Networks Optimization"): channel-wise parameters (by default every 1-D tensor —
 * normalisation scale and shift, biases) take a second-order step scaled by their Hessian
 * diagonal, estimated with one Hessian-vector product with the all-ones vector on the tensor;
 * every other parameter takes SGD with momentum. ALGORITHMS.md §1.
 *
 * <p><b>The update</b> (reference mode, the default, reproduces the authors' code, quirks
 * included). {@code M} = the number of channel-wise tensors, in parameter order; state: step
 * counter {@code t = 0}, a momentum buffer per tensor, a curvature estimate {@code D = 0} per
 * channel-wise tensor. Each step:
 *
 * <ol>
 *   <li>{@code k = (t mod M) + 1}; {@code t = t + 1};
 *   <li>{@code h = (H e)_k} with {@code e} = ones on the k-th channel-wise tensor and zeros
 *       elsewhere — computed as the restricted product {@code curvature.hvp(1 on select(k))},
 *       i.e. the row sums of the Hessian block of tensor {@code k}; {@code d = |h|};
 *   <li>for every tensor {@code p} with gradient {@code g}: {@code buf = g} on the first step,
 *       else {@code buf = μ·buf + g};
 *       <ul>
 *         <li>the i-th channel-wise tensor with {@code i < M}: if {@code i = k},
 *             {@code D = μ·D + (1 − μ)·d}; then
 *             {@code u = (τ·c)·buf / (D + eps) + wd·p} with
 *             {@code c = 1 − μ^(⌊t/M⌋ + 1)} (a new vector; {@code buf} is unchanged);
 *         <li>every other tensor, and the <em>last</em> channel-wise tensor:
 *             {@code buf = buf + wd·p} (in place: weight decay enters the buffer); {@code u = buf};
 *       </ul>
 *   <li>{@code p = p − lr·u}.
 * </ol>
 *
 * Quirks kept in reference mode: the last channel-wise tensor takes the SGD branch (its product
 * is never used, so it is skipped — results are identical); the bias-correction exponent
 * {@code ⌊t/M⌋ + 1} uses the global step counter, not how often {@code D} was refreshed; while
 * {@code D = 0} the step is {@code τ·c·buf/eps}. Unlike the reference, momentum {@code μ = 0}
 * works ({@code buf = g}, {@code D = d}, {@code c = 1}).
 *
 * <p><b>Options beyond the reference</b>:
 *
 * <ul>
 *   <li>{@code refresh_every = q}: the partial Hessian is refreshed on steps {@code t ≡ 0 (mod q)}
 *       only; the round robin and the exponent then count refreshes {@code r} instead of steps
 *       ({@code k = (r mod M) + 1}, exponent {@code ⌊r/M⌋ + 1}); {@code q = 1} is the reference.
 *   <li>{@code refresh_all}: one product with ones on all channel-wise tensors of the
 *       second-order branch refreshes every {@code D} at once (exact if the blocks are diagonal
 *       and do not couple; the analysis tools can check this); the exponent is then {@code r},
 *       the number of refreshes of every tensor.
 *   <li>{@code reference = false}: every channel-wise tensor, the last one included, takes the
 *       second-order branch, the round robin cycles over all {@code M} of them, and the exponent
 *       is the number of times the tensor's own {@code D} was refreshed (so a tensor whose
 *       {@code D} was never refreshed does not move, apart from weight decay).
 *   <li>a user-supplied {@link ChannelWiseRule} (or a list of tensor names) instead of the
 *       layout's marks (by default every 1-D tensor). A tensor of rank 2 or more marked
 *       channel-wise gets the row sums of its Hessian block, faithfully to the method.
 * </ul>
 *
 * <p><b>Hyper-parameters</b> (case-file names; defaults of the reference code):
 *
 * <table>
 *   <caption>SGD-PH hyper-parameters</caption>
 *   <tr><th>name</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>{@code lr}</td><td>0.1</td><td>learning rate, &gt;= 0</td></tr>
 *   <tr><td>{@code momentum}</td><td>0.9</td><td>μ in [0, 1), for buffers and for D</td></tr>
 *   <tr><td>{@code tau}</td><td>1e-3</td><td>second-order learning rate τ, &gt;= 0</td></tr>
 *   <tr><td>{@code eps}</td><td>1e-4</td><td>added to D, &gt; 0</td></tr>
 *   <tr><td>{@code weight_decay}</td><td>0</td><td>L2 weight decay, &gt;= 0</td></tr>
 *   <tr><td>{@code reference}</td><td>true</td><td>the reference code's quirks</td></tr>
 *   <tr><td>{@code refresh_every}</td><td>1</td><td>steps between refreshes, &gt;= 1</td></tr>
 *   <tr><td>{@code refresh_all}</td><td>false</td><td>one product for all tensors</td></tr>
 *   <tr><td>{@code channel_wise}</td><td>the layout's marks</td><td>{@code "1d"},
 *       {@code "none"} or a list of tensor names</td></tr>
 * </table>
 *
 * <p><b>State</b> ({@link #saveState()}): scalars {@code t}, {@code refreshes} and, for every
 * tensor whose {@code D} was refreshed at least once, {@code refreshes.<tensor>} (kept in every
 * mode; only the non-reference round robin uses them, for its exponent); buffers
 * {@code momentum_buffer} (every tensor) and {@code hessian_diag} (the tensors of the
 * second-order branch, in order).
 *
 * <p>A NaN or infinite loss, gradient, Hessian-vector product or update throws {@link
 * NonFiniteException} before any state or parameter changes.
 */
public final class SgdPh implements Optimizer {
  /** The name in case files. */
  public static final String NAME = "sgdph";

  private static final String COUNT_PREFIX = "refreshes.";

  private final double lr;
  private final double momentum;
  private final double tau;
  private final double eps;
  private final double weightDecay;
  private final boolean reference;
  private final int refreshEvery;
  private final boolean refreshAll;
  private final ChannelWiseRule rule;
  private final List<String> channelWiseNames;
  private final StepListener listener;

  private final BufferSlot buf = new BufferSlot("momentum_buffer");
  private final BufferSlot diag = new BufferSlot("hessian_diag");
  /** The scratch vector the next momentum buffer is built in (the buffer before last). */
  private ParameterVector spare;
  private long t;
  private long refreshes;
  private Map<String, Long> counts = new LinkedHashMap<>();
  private Plan plan;

  /**
   * Which tensors take which branch, for one parameter layout.
   *
   * @param channelWise root indices of the channel-wise tensors ({@code M} of them)
   * @param secondOrder root indices of the tensors on the second-order branch
   * @param position for each root index, its position in {@code secondOrder}, or -1
   * @param secondOrderLayout the sub-layout of {@code secondOrder} (null if empty)
   * @param cycle the length of the round robin
   */
  private record Plan(
      ParameterLayout layout,
      int[] channelWise,
      int[] secondOrder,
      int[] position,
      ParameterLayout secondOrderLayout,
      int cycle) {}

  private SgdPh(Builder b) {
    this.lr = b.lr;
    this.momentum = b.momentum;
    this.tau = b.tau;
    this.eps = b.eps;
    this.weightDecay = b.weightDecay;
    this.reference = b.reference;
    this.refreshEvery = b.refreshEvery;
    this.refreshAll = b.refreshAll;
    this.rule = b.rule;
    this.channelWiseNames = b.channelWiseNames;
    this.listener = b.listener;
  }

  /**
   * A builder with the reference code's defaults.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String name() {
    return NAME;
  }

  /**
   * The names of the tensors on the second-order branch for this layout, in order (for
   * inspection and tests).
   *
   * @param layout a root parameter layout, e.g. {@link Objective#layout()}
   * @return the parameter names, in layout order (in reference mode without the last channel-wise
   *     tensor)
   * @throws IllegalArgumentException if {@code layout} is not a root layout, or a name given to
   *     {@link Builder#channelWiseNames} is not in it
   */
  public List<String> secondOrderTensors(ParameterLayout layout) {
    Plan p = planFor(layout);
    List<String> out = new ArrayList<>();
    for (int j : p.secondOrder) {
      out.add(layout.block(j).name());
    }
    return out;
  }

  /** The scratch vector, (re)made when it does not fit {@code like}'s layout and algebra. */
  private ParameterVector scratch(ParameterVector like) {
    if (spare != null && (spare.algebra() != like.algebra()
        || !spare.layout().sameBlocksAs(like.layout()))) {
      spare.close();
      spare = null;
    }
    ParameterVector s = spare != null ? spare : like.zerosLike();
    spare = null;
    return s;
  }

  @Override
  public StepReport step(Objective objective) {
    Plan pl = planFor(objective.layout());
    int nSecond = pl.secondOrder.length;
    boolean refresh = nSecond > 0 && t % refreshEvery == 0;
    int[] refreshed = new int[0]; // positions in secondOrder
    double loss;
    ParameterVector g;
    ParameterVector h = null;
    ParameterLayout sel = null;
    if (refresh) {
      if (refreshAll) {
        refreshed = new int[nSecond];
        for (int q = 0; q < nSecond; q++) {
          refreshed[q] = q;
        }
        sel = pl.secondOrderLayout;
      } else {
        int slot = (int) (refreshes % pl.cycle);
        if (slot < nSecond) { // the reference's last tensor: product skipped (unused)
          refreshed = new int[] {slot};
          sel = pl.layout.select(pl.secondOrder[slot]);
        }
      }
    }
    try (Curvature c = objective.curvature()) {
      // the gradient first (with the product, when one is due: one pass on a backend that can):
      // a backend may compute the loss with the gradient, where the loss first would be a
      // forward pass of its own
      if (sel != null) {
        try (ParameterVector ones = ParameterVector.zeros(objective.algebra(), sel)) {
          ones.fill(1.0);
          Curvature.GradientAndHvp gh = c.gradientAndHvp(ones);
          g = gh.gradient();
          h = gh.hvp();
        }
      } else {
        g = c.gradient();
      }
      try {
        loss = c.loss();
        NonFiniteException.check(loss, "loss");
        NonFiniteException.check(g, "gradient");
        if (h != null) {
          NonFiniteException.check(h, "hessian-vector product");
        }
      } catch (RuntimeException e) {
        g.close();
        if (h != null) {
          h.close();
        }
        throw e;
      }
    }

    long tNew = t + 1;
    long refreshesNew = refresh ? refreshes + 1 : refreshes;
    Map<String, Long> countsNew = new LinkedHashMap<>(counts);
    ParameterVector newBuf = null;
    ParameterVector newD = null;
    ParameterVector u = null;
    ParameterVector params = null;
    try {
      ParameterVector oldBuf = buf.get(objective);
      // built in the scratch vector (the buffer before last): no allocation per step
      newBuf = scratch(g);
      if (oldBuf == null) {
        newBuf.assign(g);
      } else {
        newBuf.assign(oldBuf).axpby(1, g, momentum);
      }
      if (weightDecay != 0) {
        params = objective.parameters();
      }
      if (nSecond > 0) {
        ParameterVector oldD = diag.get(objective, pl.secondOrderLayout);
        newD = oldD == null
            ? ParameterVector.zeros(objective.algebra(), pl.secondOrderLayout)
            : oldD.copy();
        if (h != null) {
          h.abs();
          for (int k = 0; k < refreshed.length; k++) {
            int q = refreshed[k];
            newD.block(q).scale(momentum).axpy(1 - momentum, h.block(refreshAll ? q : 0));
            String name = pl.layout.block(pl.secondOrder[q]).name();
            countsNew.merge(name, 1L, Long::sum);
          }
        }
      }
      // SGD branch: weight decay enters the buffer in place.
      if (weightDecay != 0) {
        for (int j = 0; j < pl.layout.blockCount(); j++) {
          if (pl.position[j] < 0) {
            newBuf.block(j).axpy(weightDecay, params.block(j));
          }
        }
      }
      u = newBuf.copy();
      for (int q = 0; q < nSecond; q++) {
        int j = pl.secondOrder[q];
        double c = 1 - Math.pow(momentum, exponent(pl, q, refreshesNew, countsNew));
        Tensor uj = u.block(j);
        try (Tensor den = newD.block(q).copy().addScalar(eps)) {
          uj.scale(tau * c).div(den);
        }
        if (weightDecay != 0) {
          uj.axpy(weightDecay, params.block(j));
        }
      }
      NonFiniteException.check(u, "update");
      objective.applyUpdate(u, -lr);
      // Commit.
      spare = buf.exchange(newBuf);
      newBuf = null;
      if (newD != null) {
        diag.set(newD);
        newD = null;
      }
      t = tNew;
      refreshes = refreshesNew;
      counts = countsNew;
    } finally {
      g.close();
      closeAll(h, params, u, newD);
      if (newBuf != null) {
        spare = newBuf; // only scratch values: kept for the next step
      }
    }
    StepReport r = StepReport.firstOrder(t, loss, lr);
    if (listener != null) {
      listener.onStep(r);
    }
    return r;
  }

  /** The bias-correction exponent of second-order tensor {@code q} after this step. */
  private double exponent(Plan pl, int q, long refreshesNew, Map<String, Long> countsNew) {
    if (refreshAll) {
      return refreshesNew;
    }
    if (reference) {
      return Math.floorDiv(refreshesNew, (long) pl.cycle) + 1;
    }
    return countsNew.getOrDefault(pl.layout.block(pl.secondOrder[q]).name(), 0L);
  }

  private Plan planFor(ParameterLayout layout) {
    if (plan != null && plan.layout == layout) {
      return plan;
    }
    if (!layout.isRoot()) {
      throw new IllegalArgumentException("objective: the parameter layout must be a root layout");
    }
    int[] cw;
    if (rule == null) {
      cw = layout.channelWiseIndices();
    } else {
      if (channelWiseNames != null) {
        for (String n : channelWiseNames) {
          if (layout.indexOf(n) < 0) {
            throw new IllegalArgumentException(
                "channel_wise: no parameter named '" + n + "' in " + layout);
          }
        }
      }
      List<Integer> idx = new ArrayList<>();
      for (int j = 0; j < layout.blockCount(); j++) {
        ParameterBlock b = layout.block(j);
        if (rule.isChannelWise(b.name(), b.shape())) {
          idx.add(j);
        }
      }
      cw = idx.stream().mapToInt(Integer::intValue).toArray();
    }
    int m = cw.length;
    int[] second = reference && m > 0 ? Arrays.copyOf(cw, m - 1) : cw.clone();
    int[] position = new int[layout.blockCount()];
    Arrays.fill(position, -1);
    for (int q = 0; q < second.length; q++) {
      position[second[q]] = q;
    }
    ParameterLayout secondLayout = second.length == 0 ? null : layout.select(second);
    int cycle = reference ? m : second.length;
    plan = new Plan(layout, cw, second, position, secondLayout, cycle);
    return plan;
  }

  private static void closeAll(ParameterVector... vs) {
    for (ParameterVector v : vs) {
      if (v != null) {
        v.close();
      }
    }
  }

  @Override
  public OptimizerState saveState() {
    Map<String, Double> s = new LinkedHashMap<>();
    s.put("t", (double) t);
    s.put("refreshes", (double) refreshes);
    for (Map.Entry<String, Long> e : counts.entrySet()) {
      s.put(COUNT_PREFIX + e.getKey(), (double) e.getValue());
    }
    Map<String, double[][]> b = new LinkedHashMap<>();
    if (buf.isPresent()) {
      b.put(buf.name(), buf.save());
    }
    if (diag.isPresent()) {
      b.put(diag.name(), diag.save());
    }
    return new OptimizerState(NAME, s, b);
  }

  @Override
  public void restoreState(OptimizerState state) {
    state.requireOptimizer(NAME);
    long tt = wholeScalar(state, "t");
    long rr = wholeScalar(state, "refreshes");
    Map<String, Long> c = new LinkedHashMap<>();
    for (String k : state.scalars().keySet()) {
      if (k.startsWith(COUNT_PREFIX)) {
        c.put(k.substring(COUNT_PREFIX.length()), wholeScalar(state, k));
      }
    }
    buf.restore(state.buffer(buf.name()));
    diag.restore(state.buffer(diag.name()));
    t = tt;
    refreshes = rr;
    counts = c;
  }

  static long wholeScalar(OptimizerState state, String key) {
    double v = state.scalar(key, 0);
    if (!(v >= 0) || v != Math.rint(v) || v > 1L << 53) {
      throw new IllegalArgumentException(
          "state." + key + ": expected a whole number >= 0 but was " + v);
    }
    return (long) v;
  }

  /** Validated settings of {@link SgdPh}; defaults as the reference code. */
  public static final class Builder {
    private double lr = 0.1;
    private double momentum = 0.9;
    private double tau = 1e-3;
    private double eps = 1e-4;
    private double weightDecay = 0;
    private boolean reference = true;
    private int refreshEvery = 1;
    private boolean refreshAll = false;
    private ChannelWiseRule rule;
    private List<String> channelWiseNames;
    private StepListener listener;

    private Builder() {}

    /**
     * Learning rate, finite and &gt;= 0 (default 0.1).
     *
     * @param v the learning rate of both branches
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is negative or not finite
     */
    public Builder lr(double v) {
      this.lr = Check.nonNegative(v, "lr");
      return this;
    }

    /**
     * Momentum μ in [0, 1) (default 0.9); also the decay of the curvature estimate D.
     *
     * @param v the momentum factor μ
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is outside [0, 1)
     */
    public Builder momentum(double v) {
      this.momentum = Check.inRange(v, 0, 1, false, "momentum");
      return this;
    }

    /**
     * The second-order learning rate τ, finite and &gt;= 0 (default 1e-3).
     *
     * @param v the second-order learning rate τ
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is negative or not finite
     */
    public Builder tau(double v) {
      this.tau = Check.nonNegative(v, "tau");
      return this;
    }

    /**
     * Added to the curvature estimate, finite and &gt; 0 (default 1e-4).
     *
     * @param v the constant added to the curvature estimate D
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is not positive or not
     *     finite
     */
    public Builder eps(double v) {
      this.eps = Check.positive(v, "eps");
      return this;
    }

    /**
     * L2 weight decay, finite and &gt;= 0 (default 0).
     *
     * @param v the factor of the parameters added to each tensor's update
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code v} is negative or not finite
     */
    public Builder weightDecay(double v) {
      this.weightDecay = Check.nonNegative(v, "weight_decay");
      return this;
    }

    /**
     * Reproduce the reference code's quirks (default true); see the class documentation.
     *
     * @param v {@code true} for the reference code's arithmetic, {@code false} for the variant in
     *     which every channel-wise tensor takes the second-order branch
     * @return this builder
     */
    public Builder reference(boolean v) {
      this.reference = v;
      return this;
    }

    /**
     * Refresh the partial Hessian every {@code k} steps, {@code k >= 1} (default 1).
     *
     * @param k the number of steps between refreshes of the curvature estimate
     * @return this builder
     * @throws IllegalArgumentException naming the parameter if {@code k < 1}
     */
    public Builder refreshEvery(int k) {
      this.refreshEvery = Check.atLeast(k, 1, "refresh_every");
      return this;
    }

    /**
     * One product for all channel-wise tensors per refresh (default false: round robin).
     *
     * @param v {@code true} to refresh every tensor's D on each refresh
     * @return this builder
     */
    public Builder refreshAll(boolean v) {
      this.refreshAll = v;
      return this;
    }

    /**
     * Which tensors are channel-wise (default null: the layout's marks, by default every 1-D
     * tensor).
     *
     * @param r the rule, or null for the layout's own marks; replaces any {@link #channelWiseNames}
     * @return this builder
     */
    public Builder channelWiseRule(ChannelWiseRule r) {
      this.rule = r;
      this.channelWiseNames = null;
      return this;
    }

    /**
     * Exactly these tensors are channel-wise (validated against the layout at the first step).
     *
     * @param names the parameter names of the channel-wise tensors; replaces any {@link
     *     #channelWiseRule}
     * @return this builder
     * @throws IllegalArgumentException for a blank or duplicated name
     */
    public Builder channelWiseNames(List<String> names) {
      Objects.requireNonNull(names, "channel_wise");
      Set<String> set = new LinkedHashSet<>();
      for (String n : names) {
        if (n == null || n.isBlank()) {
          throw new IllegalArgumentException("channel_wise: tensor names must not be blank");
        }
        if (!set.add(n)) {
          throw new IllegalArgumentException("channel_wise: duplicate name '" + n + "'");
        }
      }
      this.channelWiseNames = List.copyOf(set);
      this.rule = (name, shape) -> set.contains(name);
      return this;
    }

    /**
     * Receives every step's report (default none).
     *
     * @param l the listener, or null for none
     * @return this builder
     */
    public Builder listener(StepListener l) {
      this.listener = l;
      return this;
    }

    /**
     * The optimizer with these settings.
     *
     * @return a new optimizer with no state
     */
    public SgdPh build() {
      return new SgdPh(this);
    }
  }
}
