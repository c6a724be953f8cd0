package io.github.sgdph.tensorflow;

import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.kfac.LabelledObjective;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.Objects;
import org.tensorflow.Tensor;

/**
 * The mean loss of a TensorFlow model on one validated batch. The batch stays on the host until
 * a {@link TfCurvature} uploads it (once, for all of its products) or a forward-only evaluation
 * ({@link #loss()}, {@link #lossAt}) uploads it for one {@code Session.run}.
 */
public final class TfObjective implements LabelledObjective {
  private final TfModelBase<?> model;
  private final HostBatch batch;

  TfObjective(TfModelBase<?> model, HostBatch batch) {
    this.model = model;
    this.batch = batch;
  }

  @Override
  public ParameterLayout layout() {
    return model.layout();
  }

  @Override
  public TfAlgebra algebra() {
    return model.algebra();
  }

  @Override
  public Capabilities capabilities() {
    return model.capabilities();
  }

  @Override
  public int batchSize() {
    return batch.size();
  }

  @Override
  public TfCurvature curvature() {
    model.ensureOpen();
    return new TfCurvature(model, batch);
  }

  @Override
  public double loss() {
    model.ensureOpen();
    Tensor[] in = batch.upload(model.algebra());
    try {
      return model.runLoss(model.runner(in, null, null));
    } finally {
      HostBatch.close(in);
    }
  }

  @Override
  public double lossAt(ParameterVector direction, double alpha) {
    model.ensureOpen();
    Objects.requireNonNull(direction, "direction");
    int[] idx = model.rootIndices(direction.layout(), "direction");
    TfTensor[] p = model.perturbed(direction, idx, alpha, "direction");
    Tensor[] in = null;
    try {
      in = batch.upload(model.algebra());
      return model.runLoss(model.runner(in, idx, p));
    } finally {
      HostBatch.close(in);
      TfModelBase.closeAll(p);
    }
  }

  @Override
  public void applyUpdate(ParameterVector delta, double alpha) {
    model.applyUpdate(delta, alpha);
  }

  @Override
  public ParameterVector parameters() {
    return model.parameters();
  }

  /**
   * {@inheritDoc}
   *
   * <p>On a {@link TfSpecModel}: one {@code Session.run} of the training-mode forward pass that
   * fetches the updated running statistics (the objective keeps no forward pass between calls).
   * On a {@link TfGraphModel} (a user's graph) this refuses: sgdph does not know the graph's
   * batch norms.
   *
   * @throws UnsupportedOperationException on a user's graph
   */
  @Override
  public void updateRunningStatistics() {
    model.ensureOpen();
    model.updateRunningStatistics(batch);
  }

  /**
   * {@inheritDoc}
   *
   * @throws UnsupportedOperationException for a user's graph ({@link TfGraphModel}), whose loss
   *     is not one of the spec's
   */
  @Override
  public LossKind lossKind() {
    return spec("lossKind").loss();
  }

  /**
   * {@inheritDoc} For softmax cross-entropy the class indices of the one-hot targets the graph
   * is fed.
   *
   * @throws UnsupportedOperationException for a user's graph ({@link TfGraphModel})
   */
  @Override
  public double[] labels() {
    ModelSpec spec = spec("labels");
    double[] y = batch.values().get(1);
    if (spec.loss() != LossKind.SOFTMAX_CROSS_ENTROPY) {
      return y;
    }
    int n = batch.size();
    int k = y.length / n;
    double[] classes = new double[n];
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < k; c++) {
        if (y[i * k + c] == 1.0) {
          classes[i] = c;
        }
      }
    }
    return classes;
  }

  private ModelSpec spec(String what) {
    SpecGraph g = model.specGraph();
    if (g == null) {
      throw new UnsupportedOperationException(what + ": a user's TensorFlow graph (TfGraphModel)"
          + " has no spec loss and labels for the Monte-Carlo or exact Fisher; use the empirical"
          + " Fisher");
    }
    return g.spec;
  }

  @Override
  public TfObjective subBatch(int... indices) {
    model.ensureOpen();
    Objects.requireNonNull(indices, "indices");
    return new TfObjective(model, batch.subset(indices));
  }

  @Override
  public String toString() {
    return "TfObjective[n=" + batch.size() + "]";
  }
}
