package io.github.sgdph.reference;

import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.kfac.LabelledObjective;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;

/**
 * The mean loss of a {@link ReferenceModel} on one validated batch. {@link #curvature()} does
 * one forward pass and keeps the activations for the gradient and the curvature products;
 * {@link #loss()} and {@link #lossAt} are forward passes only.
 */
public final class ReferenceObjective implements Objective, LabelledObjective {
  private final ReferenceModel model;
  private final ArrayBatch batch;

  ReferenceObjective(ReferenceModel model, ArrayBatch batch) {
    this.model = model;
    this.batch = batch;
  }

  /**
   * The batch.
   *
   * @return the batch, validated against the model's spec
   */
  public ArrayBatch batch() {
    return batch;
  }

  @Override
  public ParameterLayout layout() {
    return model.layout();
  }

  @Override
  public ReferenceAlgebra algebra() {
    return ReferenceAlgebra.INSTANCE;
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
  public ReferenceCurvature curvature() {
    model.ensureOpen();
    return new ReferenceCurvature(model, batch);
  }

  @Override
  public double loss() {
    model.ensureOpen();
    return model.evaluate(model.values(), batch).value();
  }

  @Override
  public double lossAt(ParameterVector direction, double alpha) {
    model.ensureOpen();
    return model.evaluate(model.perturbed(direction, alpha, "direction"), batch).value();
  }

  @Override
  public void applyUpdate(ParameterVector delta, double alpha) {
    model.applyUpdate(delta, alpha);
  }

  @Override
  public void updateRunningStatistics() {
    model.updateRunningStatistics(batch);
  }

  @Override
  public ParameterVector parameters() {
    return model.parameters();
  }

  @Override
  public ReferenceObjective subBatch(int... indices) {
    model.ensureOpen();
    io.github.sgdph.curvature.SpiChecks.subBatchIndices(indices, batch.size());
    return new ReferenceObjective(model, batch.subset(indices));
  }

  @Override
  public io.github.sgdph.model.LossKind lossKind() {
    return model.spec().loss();
  }

  @Override
  public double[] labels() {
    return batch.yView();
  }

  @Override
  public String toString() {
    return "ReferenceObjective[" + batch + "]";
  }
}
