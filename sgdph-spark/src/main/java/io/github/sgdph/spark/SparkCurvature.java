package io.github.sgdph.spark;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.apache.spark.broadcast.Broadcast;

/**
 * The curvature of a {@link SparkObjective} at the parameters it was opened at: one job runs the
 * forward pass (and the loss) on every partition, whose replicas keep it for the products that
 * follow; each product broadcasts its vector and adds the partitions' {@code n_p·(product)} in
 * partition order.
 */
final class SparkCurvature implements Curvature {
  private final SparkObjective o;
  private final SparkModel model;
  private final long id;
  private final long version;
  private final int n;
  private final double loss;
  private double[] gradient;
  private boolean closed;

  SparkCurvature(SparkObjective o) {
    this.o = o;
    this.model = o.model;
    this.id = model.newId();
    this.version = model.version();
    this.n = o.batchSize();
    this.loss = model.sum(o, id, ctx -> new double[] {ctx.share * ctx.curvature().loss()})[0] / n;
  }

  private void requireCurrent() {
    if (closed) {
      throw new IllegalStateException("SparkCurvature: closed");
    }
    if (model.version() != version) {
      throw new IllegalStateException(
          "SparkCurvature: stale, the parameters changed since it was made");
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
    requireCurrent();
    return loss;
  }

  private double[] mean(double[] sums) {
    for (int i = 0; i < sums.length; i++) {
      sums[i] /= n;
    }
    return sums;
  }

  @Override
  public ParameterVector gradient() {
    requireCurrent();
    if (gradient == null) {
      gradient = mean(model.sum(o, id, ctx -> {
        try (ParameterVector g = ctx.curvature().gradient()) {
          return ctx.times(g.toDoubleArray());
        }
      }));
    }
    return ParameterVector.fromArray(model.algebra(), layout(), gradient);
  }

  private enum Product { HVP, GGNVP }

  private ParameterVector product(ParameterVector v, Product kind) {
    requireCurrent();
    Objects.requireNonNull(v, "v");
    Payloads.Vector p = Payloads.Vector.of(v, layout(), "v");
    Broadcast<Payloads.Vector> b = model.broadcast(p, p.bytes());
    try {
      double[] s = model.sum(o, id, ctx -> {
        try (ParameterVector x = ctx.vector(b.value());
            ParameterVector r = kind == Product.HVP
                ? ctx.curvature().hvp(x) : ctx.curvature().ggnvp(x)) {
          return ctx.times(r.toDoubleArray());
        }
      });
      return ParameterVector.fromArray(model.algebra(), v.layout(), mean(s));
    } finally {
      b.destroy();
    }
  }

  @Override
  public ParameterVector hvp(ParameterVector v) {
    return product(v, Product.HVP);
  }

  @Override
  public ParameterVector ggnvp(ParameterVector v) {
    return product(v, Product.GGNVP);
  }

  /** The gradient and {@code Hv} in one job (SGD-PH's step). */
  @Override
  public GradientAndHvp gradientAndHvp(ParameterVector v) {
    requireCurrent();
    Objects.requireNonNull(v, "v");
    Payloads.Vector p = Payloads.Vector.of(v, layout(), "v");
    Broadcast<Payloads.Vector> b = model.broadcast(p, p.bytes());
    double[] s;
    try {
      s = mean(model.sum(o, id, ctx -> {
        try (ParameterVector x = ctx.vector(b.value());
            GradientAndHvp r = ctx.curvature().gradientAndHvp(x)) {
          double[] g = r.gradient().toDoubleArray();
          double[] h = r.hvp().toDoubleArray();
          double[] both = Arrays.copyOf(g, g.length + h.length);
          System.arraycopy(h, 0, both, g.length, h.length);
          return ctx.times(both);
        }
      }));
    } finally {
      b.destroy();
    }
    int d = Math.toIntExact(layout().dimension());
    if (gradient == null) {
      gradient = Arrays.copyOf(s, d);
    }
    ParameterVector g = ParameterVector.fromArray(model.algebra(), layout(), gradient);
    try {
      return new GradientAndHvp(g, ParameterVector.fromArray(model.algebra(), v.layout(),
          Arrays.copyOfRange(s, d, s.length)));
    } catch (RuntimeException e) {
      g.close();
      throw e;
    }
  }

  /** Rows of the partitions' results placed at their batch positions, {@code k} per sample. */
  private double[] assemble(double[][] parts, int k) {
    double[] out = new double[n * k];
    Payloads.Selection sel = o.selectionValue();
    for (int p = 0; p < parts.length; p++) {
      if (o.shares[p] == 0) {
        continue;
      }
      int[] pos = sel.positions(p, o.shares[p]);
      double[] r = parts[p];
      if (r.length != pos.length * k) {
        throw new IllegalStateException("partition " + p + ": " + r.length + " values for "
            + pos.length + " samples of " + k);
      }
      for (int i = 0; i < pos.length; i++) {
        System.arraycopy(r, i * k, out, pos[i] * k, k);
      }
    }
    return out;
  }

  private int[] outputTensorShape() {
    int[] s = model.outputShape();
    int[] out = new int[s.length + 1];
    out[0] = n;
    System.arraycopy(s, 0, out, 1, s.length);
    return out;
  }

  @Override
  public Tensor jvp(ParameterVector v) {
    requireCurrent();
    Objects.requireNonNull(v, "v");
    Payloads.Vector p = Payloads.Vector.of(v, layout(), "v");
    Broadcast<Payloads.Vector> b = model.broadcast(p, p.bytes());
    try {
      double[][] parts = model.perPartition(o, id, ctx -> {
        try (ParameterVector x = ctx.vector(b.value()); Tensor j = ctx.curvature().jvp(x)) {
          return j.toDoubleArray();
        }
      });
      return model.algebra().fromArray(assemble(parts, model.outputsPerSample()),
          outputTensorShape());
    } finally {
      b.destroy();
    }
  }

  /** Row {@code i} is {@code (1/N) ∂ℓ_i/∂z_i}: a partition's rows times {@code n_p/N}. */
  @Override
  public Tensor outputGradient() {
    requireCurrent();
    double[][] parts = model.perPartition(o, id, ctx -> {
      try (Tensor dz = ctx.curvature().outputGradient()) {
        return ctx.times(dz.toDoubleArray());
      }
    });
    return model.algebra().fromArray(mean(assemble(parts, model.outputsPerSample())),
        outputTensorShape());
  }

  /** {@code Jᵀu = Σ_p J_pᵀ u_p}, {@code u_p} the rows of partition {@code p}'s samples. */
  @Override
  public ParameterVector vjp(Tensor u) {
    requireCurrent();
    Objects.requireNonNull(u, "u");
    if (!Arrays.equals(u.shape(), outputTensorShape())) {
      throw new IllegalArgumentException("u: shape " + Arrays.toString(u.shape())
          + " but the outputs are " + Arrays.toString(outputTensorShape()));
    }
    double[] values = u.toDoubleArray();
    Broadcast<double[]> b = model.broadcast(values, 8L * values.length);
    int k = model.outputsPerSample();
    int[] tail = model.outputShape();
    Payloads.Selection sel = o.selectionValue();
    try {
      double[] s = model.sum(o, id, ctx -> {
        int[] pos = sel.positions(ctx.partition, ctx.share);
        double[] all = b.value();
        double[] mine = new double[pos.length * k];
        for (int i = 0; i < pos.length; i++) {
          System.arraycopy(all, pos[i] * k, mine, i * k, k);
        }
        int[] shape = new int[tail.length + 1];
        shape[0] = pos.length;
        System.arraycopy(tail, 0, shape, 1, tail.length);
        try (Tensor up = ctx.replica.model.algebra().fromArray(mine, shape);
            ParameterVector r = ctx.curvature().vjp(up)) {
          return r.toDoubleArray();
        }
      }, false);
      return ParameterVector.fromArray(model.algebra(), layout(), s);
    } finally {
      b.destroy();
    }
  }

  /**
   * Refused with synchronised statistics: each term's backward pass would need every partition
   * (the batch norm spreads a one-sample seed over the whole batch), {@code N} barrier rounds per
   * layer.
   */
  @Override
  public List<ParameterVector> perTermGradients() {
    requireCurrent();
    if (model.synchronizedStatistics()) {
      throw new UnsupportedOperationException("perTermGradients: not available with"
          + " SYNCHRONIZED batch-norm statistics (each term's backward pass spans every"
          + " partition); use PER_PARTITION, or isolatedSampleGradients()");
    }
    double[][] parts = model.perPartition(o, id, ctx -> {
      List<ParameterVector> gs = ctx.curvature().perTermGradients();
      try {
        int d = Math.toIntExact(ctx.replica.model.layout().dimension());
        double[] out = new double[gs.size() * d];
        for (int i = 0; i < gs.size(); i++) {
          System.arraycopy(gs.get(i).toDoubleArray(), 0, out, i * d, d);
        }
        return out;
      } finally {
        gs.forEach(ParameterVector::close);
      }
    });
    int d = Math.toIntExact(layout().dimension());
    double[] all = assemble(parts, d);
    List<ParameterVector> out = new ArrayList<>(n);
    try {
      for (int i = 0; i < n; i++) {
        out.add(ParameterVector.fromArray(model.algebra(), layout(),
            Arrays.copyOfRange(all, i * d, (i + 1) * d)));
      }
    } catch (RuntimeException e) {
      out.forEach(ParameterVector::close);
      throw e;
    }
    return out;
  }

  /** Idempotent; the executors' replicas drop the forward pass when evicted or stale. */
  @Override
  public void close() {
    closed = true;
  }
}
