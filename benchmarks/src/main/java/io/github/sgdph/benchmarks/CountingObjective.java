package io.github.sgdph.benchmarks;

import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.FactoredLayer;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.kfac.LabelledObjective;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.List;
import java.util.Locale;

/**
 * An objective that counts what an optimizer asks of it — gradients, Gauss-Newton- and
 * Hessian-vector products, loss evaluations — so that a report can say what one step is made
 * of. Every call is passed on to the backend's objective unchanged (sub-batches and curvature
 * objects are counted too); the counting costs a few field increments.
 */
class CountingObjective implements Objective {
  /** The shared counters of an objective and its sub-batches. */
  static final class Counts {
    long gradients;
    long ggnvps;
    long hvps;
    long losses;
    long cgIterations;
    final java.util.Set<String> cgStops = new java.util.TreeSet<>();

    /**
     * Adds a step's conjugate-gradient iterations and stop reason (of its last block).
     *
     * @param r the step's report
     */
    void record(io.github.sgdph.optim.StepReport r) {
      if (r.cgIterations() > 0) {
        cgIterations += r.cgIterations();
        if (r.cgStopReason() != null) {
          cgStops.add(r.cgStopReason());
        }
      }
    }

    /**
     * The counts per call, e.g. {@code 1 gradient, 10 GGN-vector, 1.0 loss}.
     *
     * @param calls the number of calls the counts were gathered over
     * @return a short description; zero counts are left out
     */
    String perCall(long calls) {
      if (calls <= 0) {
        return "";
      }
      StringBuilder sb = new StringBuilder();
      append(sb, gradients, calls, "gradient");
      append(sb, ggnvps, calls, "GGN-vector");
      append(sb, hvps, calls, "Hessian-vector");
      append(sb, losses, calls, "loss");
      if (cgIterations > 0) {
        sb.append("; ");
        append(sb, cgIterations, calls, "CG iterations");
        sb.append(" (").append(String.join(", ", cgStops)).append(')');
      }
      return sb.toString();
    }

    private static void append(StringBuilder sb, long n, long calls, String what) {
      if (n == 0) {
        return;
      }
      if (sb.length() > 0 && !sb.toString().endsWith("; ")) {
        sb.append(", ");
      }
      double per = (double) n / calls;
      sb.append(per == Math.rint(per)
          ? String.format(Locale.ROOT, "%d", (long) per)
          : String.format(Locale.ROOT, "%.1f", per)).append(' ').append(what);
    }
  }

  private final Objective delegate;
  private final Counts counts;

  private CountingObjective(Objective delegate, Counts counts) {
    this.delegate = delegate;
    this.counts = counts;
  }

  /**
   * Counts the calls on {@code delegate}; a {@link LabelledObjective} stays one (KFAC's
   * Monte-Carlo Fisher needs its loss and labels).
   *
   * @param delegate the backend's objective
   * @return the counting objective
   */
  static CountingObjective of(Objective delegate) {
    return of(delegate, new Counts());
  }

  private static CountingObjective of(Objective delegate, Counts counts) {
    return delegate instanceof LabelledObjective l
        ? new Labelled(l, counts) : new CountingObjective(delegate, counts);
  }

  /** A counting objective that passes on the loss and labels. */
  private static final class Labelled extends CountingObjective implements LabelledObjective {
    private final LabelledObjective labelled;

    Labelled(LabelledObjective delegate, Counts counts) {
      super(delegate, counts);
      this.labelled = delegate;
    }

    @Override
    public LossKind lossKind() {
      return labelled.lossKind();
    }

    @Override
    public double[] labels() {
      return labelled.labels();
    }
  }

  /**
   * The counters, shared with sub-batches.
   *
   * @return the live counters
   */
  Counts counts() {
    return counts;
  }

  @Override
  public ParameterLayout layout() {
    return delegate.layout();
  }

  @Override
  public TensorAlgebra algebra() {
    return delegate.algebra();
  }

  @Override
  public Capabilities capabilities() {
    return delegate.capabilities();
  }

  @Override
  public int batchSize() {
    return delegate.batchSize();
  }

  @Override
  public Curvature curvature() {
    return new Counting(delegate.curvature(), counts);
  }

  @Override
  public double loss() {
    counts.losses++;
    return delegate.loss();
  }

  @Override
  public double lossAt(ParameterVector direction, double alpha) {
    counts.losses++;
    return delegate.lossAt(direction, alpha);
  }

  @Override
  public void applyUpdate(ParameterVector delta, double alpha) {
    delegate.applyUpdate(delta, alpha);
  }

  @Override
  public ParameterVector parameters() {
    return delegate.parameters();
  }

  /** Passed on (a forward pass, not counted as a loss: the backend's running statistics). */
  @Override
  public void updateRunningStatistics() {
    delegate.updateRunningStatistics();
  }

  @Override
  public Objective subBatch(int... indices) {
    return of(delegate.subBatch(indices), counts);
  }

  @Override
  public List<ParameterVector> perTermGradients() {
    return delegate.perTermGradients();
  }

  @Override
  public List<ParameterVector> isolatedSampleGradients() {
    return delegate.isolatedSampleGradients();
  }

  /** A curvature object that counts its products. */
  private static final class Counting implements Curvature {
    private final Curvature c;
    private final Counts counts;

    Counting(Curvature c, Counts counts) {
      this.c = c;
      this.counts = counts;
    }

    @Override
    public ParameterLayout layout() {
      return c.layout();
    }

    @Override
    public int batchSize() {
      return c.batchSize();
    }

    @Override
    public double loss() {
      return c.loss();
    }

    @Override
    public ParameterVector gradient() {
      counts.gradients++;
      return c.gradient();
    }

    @Override
    public ParameterVector hvp(ParameterVector v) {
      counts.hvps++;
      return c.hvp(v);
    }

    /** Counted as one gradient and one Hessian-vector product; the backend's own pass. */
    @Override
    public GradientAndHvp gradientAndHvp(ParameterVector v) {
      counts.gradients++;
      counts.hvps++;
      return c.gradientAndHvp(v);
    }

    @Override
    public ParameterVector ggnvp(ParameterVector v) {
      counts.ggnvps++;
      return c.ggnvp(v);
    }

    @Override
    public Tensor jvp(ParameterVector v) {
      return c.jvp(v);
    }

    @Override
    public Tensor outputGradient() {
      return c.outputGradient();
    }

    @Override
    public ParameterVector vjp(Tensor u) {
      return c.vjp(u);
    }

    @Override
    public List<ParameterVector> perTermGradients() {
      return c.perTermGradients();
    }

    @Override
    public List<FactoredLayer> factoredLayers() {
      return c.factoredLayers();
    }

    @Override
    public Tensor layerInputs(int layer) {
      return c.layerInputs(layer);
    }

    @Override
    public List<Tensor> layerOutputGradients(Tensor u) {
      return c.layerOutputGradients(u);
    }

    @Override
    public void close() {
      c.close();
    }
  }
}
