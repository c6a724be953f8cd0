package io.github.sgdph.spark;

import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.reference.ReferenceBackend;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The reference backend whose next {@code ggnvp}s on partition 0 throw once {@link #failNext}
 * armed them: an executor failing in the middle of a CG loop. Registered as {@code flaky-reference} (test
 * resources); in local mode the executors share this JVM's static state.
 */
public final class FlakyBackend implements SpecBackend {
  static final AtomicInteger FAILURES_LEFT = new AtomicInteger();
  static final AtomicInteger FAILED = new AtomicInteger();

  static void failNext(int n) {
    FAILURES_LEFT.set(n);
  }

  private final ReferenceBackend reference = new ReferenceBackend();

  @Override
  public String name() {
    return "flaky-reference";
  }

  @Override
  public Set<DType> supportedDTypes() {
    return reference.supportedDTypes();
  }

  @Override
  public SpecModel build(ModelSpec spec, List<NamedArray> parameters, DType dtype) {
    return new Model(reference.build(spec, parameters, dtype));
  }

  private record Model(SpecModel m) implements SpecModel {
    @Override public ModelSpec spec() { return m.spec(); }
    @Override public List<NamedArray> exportParameters() { return m.exportParameters(); }
    @Override public double[] predict(ArrayBatch batch) { return m.predict(batch); }
    @Override public List<NamedArray> runningStatistics() { return m.runningStatistics(); }
    @Override public void setRunningStatistics(List<NamedArray> v) { m.setRunningStatistics(v); }
    @Override public void setBatchStatisticsReducer(
        io.github.sgdph.model.BatchStatisticsReducer r) { m.setBatchStatisticsReducer(r); }
    @Override public ParameterLayout layout() { return m.layout(); }
    @Override public TensorAlgebra algebra() { return m.algebra(); }
    @Override public Capabilities capabilities() { return m.capabilities(); }
    @Override public Objective objective(ArrayBatch batch) { return new Obj(m.objective(batch)); }
    @Override public ParameterVector parameters() { return m.parameters(); }
    @Override public void setParameters(ParameterVector v) { m.setParameters(v); }
    @Override public void applyUpdate(ParameterVector d, double a) { m.applyUpdate(d, a); }
    @Override public void close() { m.close(); }
  }

  private record Obj(Objective o) implements Objective {
    @Override public ParameterLayout layout() { return o.layout(); }
    @Override public TensorAlgebra algebra() { return o.algebra(); }
    @Override public Capabilities capabilities() { return o.capabilities(); }
    @Override public int batchSize() { return o.batchSize(); }
    @Override public Curvature curvature() { return new Curv(o.curvature()); }
    @Override public double loss() { return o.loss(); }
    @Override public double lossAt(ParameterVector d, double a) { return o.lossAt(d, a); }
    @Override public void applyUpdate(ParameterVector d, double a) { o.applyUpdate(d, a); }
    @Override public ParameterVector parameters() { return o.parameters(); }
    @Override public Objective subBatch(int... i) { return new Obj(o.subBatch(i)); }
    @Override public void updateRunningStatistics() { o.updateRunningStatistics(); }
  }

  private record Curv(Curvature c) implements Curvature {
    @Override public ParameterLayout layout() { return c.layout(); }
    @Override public int batchSize() { return c.batchSize(); }
    @Override public double loss() { return c.loss(); }
    @Override public ParameterVector gradient() { return c.gradient(); }
    @Override public ParameterVector hvp(ParameterVector v) { return c.hvp(v); }
    @Override public Tensor jvp(ParameterVector v) { return c.jvp(v); }
    @Override public void close() { c.close(); }

    @Override
    public ParameterVector ggnvp(ParameterVector v) {
      org.apache.spark.TaskContext task = org.apache.spark.TaskContext.get();
      if (task != null && task.partitionId() == 0
          && FAILURES_LEFT.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        FAILED.incrementAndGet();
        throw new IllegalStateException("flaky-reference: an executor fails (on purpose)");
      }
      return c.ggnvp(v);
    }
  }
}
