package io.github.sgdph.spark;

import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.curvature.SpiChecks;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.Objects;
import org.apache.spark.broadcast.Broadcast;

/**
 * The mean loss of a {@link SparkModel} on a batch of global sample indices (or the whole
 * dataset): {@code L = (1/N) Σ_p n_p L_p} with partition {@code p}'s share of {@code n_p}
 * samples evaluated by its replica. Parameters live in the model's driver replica.
 */
final class SparkObjective implements Objective {
  final SparkModel model;
  final long id;
  final int[] shares;
  private final int[] indices; // null: the whole dataset
  private final int size;
  private final Payloads.Selection selection;
  private Broadcast<Payloads.Selection> broadcast;

  SparkObjective(SparkModel model, int[] indices, int[] shares, Payloads.Selection selection) {
    this.model = model;
    this.id = model.newId();
    this.indices = indices;
    this.shares = shares;
    this.selection = selection;
    int n = 0;
    for (int s : shares) {
      n += s;
    }
    this.size = n;
  }

  /** The selection broadcast, made on first use and kept with this objective. */
  Broadcast<Payloads.Selection> selection() {
    if (broadcast == null) {
      broadcast = model.broadcast(selection, selection.bytes());
    }
    return broadcast;
  }

  Payloads.Selection selectionValue() {
    return selection;
  }

  int contributing() {
    int c = 0;
    for (int s : shares) {
      if (s > 0) {
        c++;
      }
    }
    return c;
  }

  @Override
  public ParameterLayout layout() {
    return model.layout();
  }

  @Override
  public TensorAlgebra algebra() {
    return model.algebra();
  }

  @Override
  public Capabilities capabilities() {
    return model.capabilities();
  }

  @Override
  public int batchSize() {
    return size;
  }

  @Override
  public Curvature curvature() {
    return new SparkCurvature(this);
  }

  @Override
  public double loss() {
    return model.sum(this, 0, ctx -> new double[] {ctx.share * ctx.objective.loss()})[0] / size;
  }

  @Override
  public double lossAt(ParameterVector direction, double alpha) {
    Objects.requireNonNull(direction, "direction");
    Payloads.Vector d = Payloads.Vector.of(direction, layout(), "direction");
    Broadcast<Payloads.Vector> b = model.broadcast(d, d.bytes());
    try {
      return model.sum(this, 0, ctx -> {
        try (ParameterVector v = ctx.vector(b.value())) {
          return new double[] {ctx.share * ctx.objective.lossAt(v, alpha)};
        }
      })[0] / size;
    } finally {
      b.destroy();
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

  @Override
  public Objective subBatch(int... sub) {
    int[] s = SpiChecks.subBatchIndices(sub, size);
    int[] global = new int[s.length];
    for (int i = 0; i < s.length; i++) {
      global[i] = indices == null ? s[i] : indices[s[i]];
    }
    return model.objective(global);
  }

  /** See {@link BatchNormStatistics#PER_PARTITION}. */
  @Override
  public void updateRunningStatistics() {
    model.updateRunningStatistics(this);
  }

  @Override
  public String toString() {
    return "SparkObjective[" + size + " samples, shares " + java.util.Arrays.toString(shares)
        + "]";
  }
}
