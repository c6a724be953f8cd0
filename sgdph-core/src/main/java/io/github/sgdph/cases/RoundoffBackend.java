package io.github.sgdph.cases;

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
import io.github.sgdph.tensor.DType;
import io.github.sgdph.tensor.Tensor;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A backend whose models perturb what they compute as rounding would (for {@link
 * Float32Tolerance}): every loss, gradient, Hessian- and Gauss-Newton-vector product entry by a
 * relative {@code ±product}, the parameters after every update by a relative {@code ±storage}.
 * Host copies: for measuring on the reference, not for speed.
 */
final class RoundoffBackend implements SpecBackend {
  private final SpecBackend delegate;
  private final SplittableRandom random;
  private final double storage;
  private final double product;

  RoundoffBackend(SpecBackend delegate, SplittableRandom random, double storage, double product) {
    this.delegate = delegate;
    this.random = random;
    this.storage = storage;
    this.product = product;
  }

  static void perturb(double[] v, SplittableRandom r, double amplitude) {
    for (int i = 0; i < v.length; i++) {
      v[i] *= 1 + amplitude * r.nextDouble(-1, 1);
    }
  }

  private double perturb(double x) {
    return x * (1 + product * random.nextDouble(-1, 1));
  }

  private ParameterVector perturb(ParameterVector v, double amplitude) {
    try (v) {
      double[] x = v.toDoubleArray();
      perturb(x, random, amplitude);
      return ParameterVector.fromArray(v.algebra(), v.layout(), x);
    }
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public Set<DType> supportedDTypes() {
    return delegate.supportedDTypes();
  }

  @Override
  public SpecModel build(ModelSpec spec, List<NamedArray> parameters, DType dtype) {
    return new Model(delegate.build(spec, parameters, dtype));
  }

  private final class Model implements SpecModel {
    private final SpecModel m;

    Model(SpecModel m) {
      this.m = m;
    }

    void roundParameters() {
      try (ParameterVector p = perturb(m.parameters(), storage)) {
        m.setParameters(p);
      }
    }

    @Override
    public ModelSpec spec() {
      return m.spec();
    }

    @Override
    public List<NamedArray> exportParameters() {
      return m.exportParameters();
    }

    @Override
    public ParameterLayout layout() {
      return m.layout();
    }

    @Override
    public TensorAlgebra algebra() {
      return m.algebra();
    }

    @Override
    public Capabilities capabilities() {
      return m.capabilities();
    }

    @Override
    public Objective objective(ArrayBatch batch) {
      return new Obj(this, m.objective(batch));
    }

    @Override
    public ParameterVector parameters() {
      return m.parameters();
    }

    @Override
    public void setParameters(ParameterVector values) {
      m.setParameters(values);
    }

    @Override
    public void applyUpdate(ParameterVector delta, double alpha) {
      m.applyUpdate(delta, alpha);
      roundParameters();
    }

    @Override
    public void close() {
      m.close();
    }
  }

  private final class Obj implements Objective {
    private final Model model;
    private final Objective o;

    Obj(Model model, Objective o) {
      this.model = model;
      this.o = o;
    }

    @Override
    public ParameterLayout layout() {
      return o.layout();
    }

    @Override
    public TensorAlgebra algebra() {
      return o.algebra();
    }

    @Override
    public Capabilities capabilities() {
      return o.capabilities();
    }

    @Override
    public int batchSize() {
      return o.batchSize();
    }

    @Override
    public Curvature curvature() {
      return new Cur(o.curvature());
    }

    @Override
    public double loss() {
      return perturb(o.loss());
    }

    @Override
    public double lossAt(ParameterVector direction, double alpha) {
      return perturb(o.lossAt(direction, alpha));
    }

    @Override
    public void applyUpdate(ParameterVector delta, double alpha) {
      o.applyUpdate(delta, alpha);
      model.roundParameters();
    }

    @Override
    public ParameterVector parameters() {
      return o.parameters();
    }

    @Override
    public Objective subBatch(int... indices) {
      return new Obj(model, o.subBatch(indices));
    }

    @Override
    public void updateRunningStatistics() {
      o.updateRunningStatistics();
    }
  }

  private final class Cur implements Curvature {
    private final Curvature c;

    Cur(Curvature c) {
      this.c = c;
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
      return perturb(c.loss());
    }

    @Override
    public ParameterVector gradient() {
      return perturb(c.gradient(), product);
    }

    @Override
    public ParameterVector hvp(ParameterVector v) {
      return perturb(c.hvp(v), product);
    }

    @Override
    public ParameterVector ggnvp(ParameterVector v) {
      return perturb(c.ggnvp(v), product);
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
      return perturb(c.vjp(u), product);
    }

    @Override
    public List<ParameterVector> perTermGradients() {
      List<ParameterVector> terms = new java.util.ArrayList<>(c.perTermGradients());
      terms.replaceAll(t -> perturb(t, product));
      return terms;
    }

    @Override
    public void close() {
      c.close();
    }
  }
}
