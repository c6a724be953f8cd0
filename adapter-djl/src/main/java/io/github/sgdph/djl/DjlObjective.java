package io.github.sgdph.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.kfac.LabelledObjective;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The mean loss of a DJL block on one batch. {@link #curvature()} runs a forward pass with grad
 * mode on and keeps its graph for the gradient and the products ({@link DjlCurvature});
 * {@link #loss()} and {@link #lossAt} are forward passes with grad mode off.
 *
 * <p>The objective holds no native memory: the batch is materialised on the model's device for
 * each call, in a scope closed before the call returns. Not thread-safe (separate objectives of
 * one model may be used from separate threads for products).
 */
// try-with-resources guards (NDScope, grad mode) are used for their scope only
@SuppressWarnings("try")
public final class DjlObjective implements LabelledObjective {
  private final BlockNetwork net;
  private final BatchSource source;
  private final AtomicBoolean runningStatsAdvanced;
  private volatile Consumer<NDList> outputsListener;

  DjlObjective(BlockNetwork net, BatchSource source) {
    this(net, source, new AtomicBoolean());
  }

  private DjlObjective(BlockNetwork net, BatchSource source, AtomicBoolean statsAdvanced) {
    this.net = net;
    this.source = source;
    this.runningStatsAdvanced = statsAdvanced;
  }

  /**
   * {@inheritDoc}
   *
   * @throws UnsupportedOperationException for a user's own block ({@link BlockCurvatureModel}),
   *     whose DJL loss is not one of the spec's
   */
  @Override
  public LossKind lossKind() {
    ModelSpec spec = net.spec();
    if (spec == null) {
      throw new UnsupportedOperationException(noSpec("lossKind"));
    }
    return spec.loss();
  }

  /**
   * {@inheritDoc}
   *
   * @throws UnsupportedOperationException for a user's own block ({@link BlockCurvatureModel})
   */
  @Override
  public double[] labels() {
    double[] y = net.spec() == null ? null : source.hostLabels();
    if (y == null) {
      throw new UnsupportedOperationException(noSpec("labels"));
    }
    return y;
  }

  private static String noSpec(String what) {
    return what + ": a DJL user's own block (BlockCurvatureModel) has no spec loss and labels for"
        + " the Monte-Carlo or exact Fisher; use the empirical Fisher";
  }

  BlockNetwork network() {
    return net;
  }

  BatchSource source() {
    return source;
  }

  /** True once: the first forward pass of this objective (and its sub-batches) may advance running statistics. */
  boolean claimRunningStatsUpdate() {
    return runningStatsAdvanced.compareAndSet(false, true);
  }

  /**
   * Receives the block's outputs of the first curvature computed on this objective (detached
   * copies, valid during the call), e.g. to update DJL's training evaluators.
   */
  void onFirstOutputs(Consumer<NDList> listener) {
    this.outputsListener = listener;
  }

  boolean wantsOutputs() {
    return outputsListener != null;
  }

  void publishOutputs(NDList outputs) {
    Consumer<NDList> l = outputsListener;
    if (l != null) {
      outputsListener = null;
      l.accept(outputs);
    }
  }

  @Override
  public ParameterLayout layout() {
    return net.layout;
  }

  @Override
  public DjlAlgebra algebra() {
    return net.algebra;
  }

  @Override
  public Capabilities capabilities() {
    return Capabilities.exact(net.algebra.dtype());
  }

  @Override
  public int batchSize() {
    return source.size();
  }

  @Override
  public DjlCurvature curvature() {
    net.ensureOpen();
    return new DjlCurvature(this);
  }

  @Override
  public double loss() {
    net.ensureOpen();
    return evaluate(null, 0, "direction");
  }

  @Override
  public double lossAt(ParameterVector direction, double alpha) {
    net.ensureOpen();
    Objects.requireNonNull(direction, "direction");
    return evaluate(direction, alpha, "direction");
  }

  private double evaluate(ParameterVector d, double alpha, String what) {
    if (d != null && !Double.isFinite(alpha)) {
      throw new IllegalArgumentException("alpha: must be finite but was " + alpha);
    }
    NDManager m = net.algebra.manager();
    try (NDScope scope = new NDScope();
        PyTorchRuntime.GradMode off = PyTorchRuntime.GradMode.off()) {
      NDList values = new NDList(net.trainable.length);
      for (int i = 0; i < net.trainable.length; i++) {
        values.add(net.trainable[i].getArray());
      }
      if (d != null) {
        int[] idx = net.rootIndices(d.layout(), what);
        NDArray[] step = net.perturbations(d, alpha, idx, what);
        for (int i = 0; i < idx.length; i++) {
          values.set(idx[i], values.get(idx[i]).add(step[i]));
        }
      }
      BatchSource.Materialized b = source.materialize(m, net.device(), net.dataType());
      // as a curvature's forward pass (fused batch norms where the model allows), so that a
      // loss here and a curvature's loss are the same number
      NDList out = net.forward(m, values, b.data(), this, true);
      NDArray l = evaluateLoss(b.labels(), out);
      return DjlAlgebra.scalar(l);
    }
  }

  /** The loss on outputs, checked to be a scalar. */
  NDArray evaluateLoss(NDList labels, NDList outputs) {
    NDArray l;
    try {
      l = net.loss.evaluate(labels, outputs);
    } catch (ai.djl.engine.EngineException | IllegalStateException
        | UnsupportedOperationException e) {
      throw new IllegalArgumentException(
          "batch: the loss '" + net.loss.name() + "' failed on this batch: " + e.getMessage(), e);
    }
    if (l == null || l.size() != 1) {
      throw new IllegalStateException(
          "loss: '" + net.loss.name() + "' must return a scalar (the batch mean) but returned "
              + (l == null ? "null" : l.getShape()));
    }
    return l;
  }

  @Override
  public void applyUpdate(ParameterVector delta, double alpha) {
    net.applyUpdate(delta, alpha, "delta");
  }

  @Override
  public ParameterVector parameters() {
    return net.parameters();
  }

  /**
   * {@inheritDoc}
   *
   * <p>On a {@link DjlSpecModel}: one forward pass with grad mode off at the current parameters
   * (the objective keeps no forward pass between calls), whose batch statistics are folded into
   * the model's running statistics on its device. On a {@link BlockCurvatureModel} (a user's
   * block) this refuses: DJL's own {@code BatchNorm} in training mode advances its running
   * statistics in the objective's first forward pass, in DJL's convention.
   *
   * @throws UnsupportedOperationException on a user's block
   */
  @Override
  public void updateRunningStatistics() {
    net.ensureOpen();
    BlockNetwork.RunningStatisticsTracker t = net.runningStatisticsTracker();
    if (t == null) {
      LabelledObjective.super.updateRunningStatistics();
      return;
    }
    t.update(source);
  }

  @Override
  public DjlObjective subBatch(int... indices) {
    net.ensureOpen();
    io.github.sgdph.curvature.SpiChecks.subBatchIndices(indices, source.size());
    return new DjlObjective(net, source.subset(indices.clone()), runningStatsAdvanced);
  }

  /**
   * {@inheritDoc}
   *
   * <p>One forward and one backward pass per sample, each sample a one-sample batch. With
   * train-mode batch norm this is another function than the batch loss's terms: a model of the
   * spec (whose batch norm is sgdph's own, as the reference backend's) normalises the sample by
   * its own statistics, so a 1-d batch norm outputs its bias {@code β} whatever its input, as on
   * the reference backend. DJL's fused {@code BatchNorm} in a user's block refuses a channel with
   * one value (PyTorch's "Expected more than 1 value per channel when training": a 1-d batch norm,
   * or a 2-d one on {@code 1×1} feature maps); this fails at the first sample. A 2-d batch norm on
   * larger feature maps normalises one sample over its spatial positions, and works.
   *
   * @throws UnsupportedOperationException naming {@code isolatedSampleGradients}, at the first
   *     sample, if a train-mode batch norm of the block cannot normalise one sample; {@link
   *     #perTermGradients()} are the terms of the batch loss
   */
  @Override
  public List<ParameterVector> isolatedSampleGradients() {
    net.ensureOpen();
    List<ParameterVector> out = new ArrayList<>(batchSize());
    try {
      for (int i = 0; i < batchSize(); i++) {
        try (DjlCurvature c = subBatch(i).curvature()) {
          out.add(c.gradient());
        }
      }
    } catch (IllegalArgumentException e) {
      out.forEach(ParameterVector::close);
      if (oneValuePerChannel(e)) {
        throw new UnsupportedOperationException(
            "isolatedSampleGradients: a train-mode batch norm of the block cannot normalise one"
                + " sample (a channel with a single value has no batch variance; PyTorch refuses"
                + " it); a sample's gradient within the batch is perTermGradients()", e);
      }
      throw e;
    } catch (RuntimeException | Error e) {
      out.forEach(ParameterVector::close);
      throw e;
    }
    return out;
  }

  /** Whether PyTorch refused a train-mode batch norm over one value per channel. */
  private static boolean oneValuePerChannel(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = t.getMessage();
      if (m != null && m.contains("more than 1 value per channel")) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return "DjlObjective[" + source.size() + " samples, loss " + net.loss.name() + "]";
  }
}
