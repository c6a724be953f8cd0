package io.github.sgdph.dl4j;

import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.kfac.LabelledObjective;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.List;

/**
 * The objective of a {@link Dl4jSpecModel} on one batch: a {@link Dl4jObjective} that also tells
 * its spec loss and the batch's labels as the spec has them ({@link LabelledObjective}), which
 * the Monte-Carlo and exact Fisher of KFAC ({@code fisher: mc | exact}; Martens and Grosse 2015,
 * §5) and the curvature preconditioners read. A user's network has DL4J's losses (some of them
 * sums over outputs, not the spec's means), so its {@link Dl4jObjective} does not claim one.
 * Every other method is the wrapped objective's. Not thread-safe.
 */
public final class Dl4jSpecObjective implements LabelledObjective {
  private final Dl4jObjective objective;
  private final LossKind loss;
  private final double[] labels;
  private final int labelWidth;

  /**
   * @param labels {@code [n]} class indices for softmax cross-entropy, else {@code [n, k]}
   *     row-major targets; not copied
   */
  Dl4jSpecObjective(Dl4jObjective objective, LossKind loss, double[] labels) {
    this.objective = objective;
    this.loss = loss;
    this.labels = labels;
    this.labelWidth = labels.length / objective.batchSize();
  }

  /**
   * The objective of the DL4J network this wraps (its features and one-hot or target arrays).
   *
   * @return the wrapped objective
   */
  public Dl4jObjective network() {
    return objective;
  }

  @Override
  public LossKind lossKind() {
    return loss;
  }

  /**
   * {@inheritDoc}
   *
   * @return the array itself, {@code [n]} class indices for softmax cross-entropy, else {@code
   *     [n, k]} targets row-major; do not modify it
   */
  @Override
  public double[] labels() {
    return labels;
  }

  @Override
  public ParameterLayout layout() {
    return objective.layout();
  }

  @Override
  public Nd4jAlgebra algebra() {
    return objective.algebra();
  }

  @Override
  public Capabilities capabilities() {
    return objective.capabilities();
  }

  @Override
  public int batchSize() {
    return objective.batchSize();
  }

  @Override
  public Dl4jCurvature curvature() {
    return objective.curvature();
  }

  @Override
  public double loss() {
    return objective.loss();
  }

  @Override
  public double lossAt(ParameterVector direction, double alpha) {
    return objective.lossAt(direction, alpha);
  }

  @Override
  public void applyUpdate(ParameterVector delta, double alpha) {
    objective.applyUpdate(delta, alpha);
  }

  @Override
  public ParameterVector parameters() {
    return objective.parameters();
  }

  @Override
  public List<ParameterVector> perTermGradients() {
    return objective.perTermGradients();
  }

  @Override
  public List<ParameterVector> isolatedSampleGradients() {
    return objective.isolatedSampleGradients();
  }

  @Override
  public void updateRunningStatistics() {
    objective.updateRunningStatistics();
  }

  @Override
  public Dl4jSpecObjective subBatch(int... indices) {
    Dl4jObjective sub = objective.subBatch(indices);
    double[] l = new double[indices.length * labelWidth];
    for (int i = 0; i < indices.length; i++) {
      System.arraycopy(labels, indices[i] * labelWidth, l, i * labelWidth, labelWidth);
    }
    return new Dl4jSpecObjective(sub, loss, l);
  }

  @Override
  public String toString() {
    return "Dl4jSpecObjective[" + loss.jsonName() + ", " + objective + "]";
  }
}
