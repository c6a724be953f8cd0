package io.github.sgdph.analysis;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.CurvatureModel;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.linalg.GradientMomentOperator;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.PredictiveDistribution;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * The Fisher matrices of a model over a data set (one batch or many) at its current parameters,
 * and the exact diagonal of its generalized Gauss-Newton matrix — the curvature matrices
 * curvlinops and BackPACK offer beside the Hessian and the GGN. {@code N} is the number of
 * samples, {@code g_i = ∂ℓ_i/∂θ} the per-term gradients of the batches' losses ({@link
 * Curvature#perTermGradients()}), {@code J_i = ∂z_i/∂θ} the Jacobian of sample {@code i}'s
 * outputs and {@code H_ℓ,i = S_i S_iᵀ} its loss Hessian with respect to them ({@link
 * PredictiveDistribution}).
 *
 * <ul>
 *   <li>{@link #empiricalFisher()}: {@code F_emp = (1/N) Σ_i g_i g_iᵀ} with the data's labels —
 *       the gradient second moment ({@link DatasetCurvature#gradientMoment()}). Not the Fisher:
 *       Kunstner, Balles, Hennig (2019), "Limitations of the empirical Fisher approximation for
 *       natural gradient descent", show it can differ from it arbitrarily.
 *   <li>{@link #monteCarloFisher}: {@code F_MC = (1/(N K)) Σ_i Σ_{s=1..K} c g̃_is g̃_isᵀ} with
 *       {@code g̃_is = ∂ℓ_i(θ; ỹ_is)/∂θ} the per-term gradients of the batch with labels {@code
 *       ỹ_s} drawn from the model's predictive distribution, {@code c} its {@linkplain
 *       PredictiveDistribution#fisherScale() Fisher scale}. Since {@code c E[∇_z ℓ ∇_z ℓᵀ] =
 *       H_ℓ}, {@code E[F_MC] = (1/N) Σ_i J_iᵀ H_ℓ,i J_i = G}: the Fisher equals the GGN for these
 *       losses (Martens 2014, "New insights and perspectives on the natural gradient method",
 *       §9.2), and {@code F_MC} is unbiased for it with a variance falling as {@code 1/K}.
 *   <li>{@link #ggnDiagonal()}: BackPACK's {@code DiagGGN} (Dangel, Kunstner, Hennig 2020),
 *       {@code diag G = (1/N) Σ_i Σ_c (J_iᵀ s_ic)²}, {@code s_ic} column {@code c} of {@code S_i}:
 *       exact, by {@code N k} transposed-Jacobian products ({@link Curvature#vjp}), not by probing.
 *   <li>{@link #monteCarloGgnDiagonal}: its Monte-Carlo estimate, the diagonal of {@code F_MC}
 *       ({@code DiagGGNMC}).
 * </ul>
 *
 * <p><b>Train-mode batch norm.</b> Each sample's outputs then depend on the whole batch, the
 * per-term gradients are not those of independent samples, and there is no per-sample model
 * {@code p(y | x)}. What stays well defined, and what this class computes, is the Fisher of the
 * batch's joint label distribution {@code p(Y | X) = Π_i p(y_i | z_i(X))} of the train-mode
 * forward pass, divided by {@code N}: the labels are drawn independently given the outputs, so
 * the cross terms {@code E[g̃_i g̃_jᵀ]}, {@code i ≠ j}, vanish, and {@code E[F_MC] = (1/N) Jᵀ H_L
 * J} with {@code J} the Jacobian of all the batch's outputs — exactly the GGN the backends'
 * products compute. The estimates therefore depend on how the data are split into batches, as
 * the GGN does. The predictive distribution is read from the training-mode forward pass (never
 * from the evaluation-mode {@link SpecModel#predict}).
 *
 * <p>This object holds one open {@link Curvature} per batch and the sampled gradients it made;
 * close it when done. Changing the model's parameters makes it stale.
 */
public final class FisherCurvature implements AutoCloseable {
  private final CurvatureModel<ArrayBatch> model;
  private final List<ArrayBatch> batches;
  private final LossKind loss;
  private final List<Curvature> curvatures = new ArrayList<>();
  private final List<PredictiveDistribution> distributions = new ArrayList<>();
  private final List<ParameterVector> owned = new ArrayList<>();
  private final ParameterLayout layout;
  private final TensorAlgebra algebra;
  private final int samples;
  private List<ParameterVector> perTerm;
  private boolean closed;

  private FisherCurvature(
      CurvatureModel<ArrayBatch> model, List<ArrayBatch> batches, LossKind loss) {
    this.model = model;
    this.batches = batches;
    this.loss = loss;
    this.layout = model.layout().root();
    this.algebra = model.algebra();
    int total = 0;
    try {
      for (ArrayBatch b : batches) {
        Curvature c = model.objective(b).curvature();
        curvatures.add(c);
        distributions.add(PredictiveDistribution.of(loss, c, b.yView()));
        total += b.size();
      }
    } catch (RuntimeException | Error e) {
      curvatures.forEach(Curvature::close);
      throw e;
    }
    this.samples = total;
  }

  /**
   * The Fisher matrices of a model built from a spec, over {@code batches}, with the spec's
   * loss.
   *
   * @param model the model, at the parameters to analyse
   * @param batches the batches of the data set, at least one
   * @return a new object; the caller closes it
   * @throws IllegalArgumentException if {@code batches} is empty or the model rejects a batch
   * @throws UnsupportedOperationException naming the backend if it does not give {@code ∂L/∂z}
   */
  public static FisherCurvature of(SpecModel model, List<ArrayBatch> batches) {
    Objects.requireNonNull(model, "model");
    return of(model, batches, model.spec().loss());
  }

  /**
   * The Fisher matrices of a model over {@code batches}, whose loss is {@code loss}.
   *
   * @param model the model, at the parameters to analyse
   * @param batches the batches of the data set, at least one
   * @param loss the model's loss (it defines the predictive distribution)
   * @return a new object; the caller closes it
   * @throws IllegalArgumentException if {@code batches} is empty or the model rejects a batch
   * @throws UnsupportedOperationException naming the backend if it does not give {@code ∂L/∂z}
   */
  public static FisherCurvature of(
      CurvatureModel<ArrayBatch> model, List<ArrayBatch> batches, LossKind loss) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(batches, "batches");
    Objects.requireNonNull(loss, "loss");
    if (batches.isEmpty()) {
      throw new IllegalArgumentException("batches: at least one batch is needed");
    }
    for (int b = 0; b < batches.size(); b++) {
      Objects.requireNonNull(batches.get(b), "batches[" + b + "]");
    }
    return new FisherCurvature(model, List.copyOf(batches), loss);
  }

  /**
   * The model's root parameter layout.
   *
   * @return the layout the operators and diagonals are over
   */
  public ParameterLayout layout() {
    return layout;
  }

  /**
   * The algebra of the model's tensors.
   *
   * @return the model's algebra
   */
  public TensorAlgebra algebra() {
    return algebra;
  }

  /**
   * The number of samples {@code N}.
   *
   * @return the sum of the batch sizes
   */
  public int sampleCount() {
    return samples;
  }

  /**
   * The predictive distribution of batch {@code b}'s labels at the current parameters.
   *
   * @param b the batch index
   * @return the distribution read from that batch's forward pass
   */
  public PredictiveDistribution predictiveDistribution(int b) {
    requireOpen();
    return distributions.get(b);
  }

  /**
   * The empirical Fisher {@code F_emp = (1/N) Σ_i g_i g_iᵀ}, over the data's labels.
   *
   * @return the operator on {@link #layout()}; it references gradients owned by this object
   */
  public GradientMomentOperator empiricalFisher() {
    return empiricalFisher(layout);
  }

  /**
   * The diagonal block of the empirical Fisher on a selection of blocks.
   *
   * @param blocks a selection of the model's layout, or that layout itself
   * @return the operator on {@code blocks}; it references gradients owned by this object
   * @throws IllegalArgumentException if {@code blocks} is not a layout of this model
   */
  public GradientMomentOperator empiricalFisher(ParameterLayout blocks) {
    requireDomain(blocks);
    if (perTerm == null) {
      List<ParameterVector> all = new ArrayList<>(samples);
      try {
        for (Curvature c : curvatures) {
          for (ParameterVector g : c.perTermGradients()) {
            all.add(onRoot(g));
          }
        }
      } catch (RuntimeException | Error e) {
        all.forEach(ParameterVector::close);
        throw e;
      }
      owned.addAll(all);
      perTerm = List.copyOf(all);
    }
    return GradientMomentOperator.of(perTerm, blocks);
  }

  /**
   * The Monte-Carlo Fisher {@code F_MC} with {@code draws} label draws per sample.
   *
   * @param draws the number {@code K} of label draws per sample, at least 1
   * @param seed the seed of the draws (the same seed gives the same operator)
   * @return the operator on {@link #layout()}; it references gradients owned by this object
   * @throws IllegalArgumentException if {@code draws} is not positive
   */
  public GradientMomentOperator monteCarloFisher(int draws, long seed) {
    return monteCarloFisher(draws, seed, layout);
  }

  /**
   * The diagonal block of the Monte-Carlo Fisher on a selection of blocks.
   *
   * @param draws the number {@code K} of label draws per sample, at least 1
   * @param seed the seed of the draws (the same seed gives the same operator)
   * @param blocks a selection of the model's layout, or that layout itself
   * @return the operator on {@code blocks}; it references gradients owned by this object
   * @throws IllegalArgumentException if {@code draws} is not positive or {@code blocks} is not a
   *     layout of this model
   */
  public GradientMomentOperator monteCarloFisher(int draws, long seed, ParameterLayout blocks) {
    requireDomain(blocks);
    List<ParameterVector> g = sampledGradients(draws, seed);
    owned.addAll(g);
    return GradientMomentOperator.of(g, blocks);
  }

  /**
   * The scaled sampled per-term gradients {@code √c g̃_is} of {@link #monteCarloFisher}, so that
   * {@code F_MC = (1/(N K)) Σ v vᵀ} over them.
   *
   * @param draws the number {@code K} of label draws per sample, at least 1
   * @param seed the seed of the draws
   * @return {@code N K} new vectors over {@link #layout()}, batch by batch, draw by draw, sample
   *     by sample; the caller closes them
   * @throws IllegalArgumentException if {@code draws} is not positive
   */
  public List<ParameterVector> sampledGradients(int draws, long seed) {
    requireOpen();
    if (draws < 1) {
      throw new IllegalArgumentException("draws: must be >= 1 but was " + draws);
    }
    SplittableRandom random = new SplittableRandom(seed);
    List<ParameterVector> out = new ArrayList<>(samples * draws);
    try {
      for (int b = 0; b < batches.size(); b++) {
        ArrayBatch batch = batches.get(b);
        PredictiveDistribution p = distributions.get(b);
        double root = Math.sqrt(p.fisherScale());
        for (int s = 0; s < draws; s++) {
          ArrayBatch sampled =
              new ArrayBatch(batch.xView(), batch.xShape(), p.sampleLabels(random), batch.yShape());
          Objective o = model.objective(sampled);
          for (ParameterVector g : o.perTermGradients()) {
            ParameterVector v = onRoot(g);
            out.add(root == 1 ? v : v.scale(root));
          }
        }
      }
    } catch (RuntimeException | Error e) {
      out.forEach(ParameterVector::close);
      throw e;
    }
    return out;
  }

  /**
   * The exact diagonal of the GGN, {@code diag G = (1/N) Σ_i Σ_c (J_iᵀ s_ic)²}.
   *
   * @return a new vector over {@link #layout()}; the caller closes it (restrict it for a
   *     selection of blocks)
   * @throws UnsupportedOperationException naming the backend if it has no {@link Curvature#vjp}
   */
  public ParameterVector ggnDiagonal() {
    requireOpen();
    ParameterVector acc = ParameterVector.zeros(algebra, layout);
    try {
      for (int b = 0; b < curvatures.size(); b++) {
        addGgnDiagonal(acc, curvatures.get(b), distributions.get(b), layout);
      }
      return acc.scale(1.0 / samples);
    } catch (RuntimeException | Error e) {
      acc.close();
      throw e;
    }
  }

  /**
   * The exact GGN diagonal of one batch, {@code (1/n) Σ_i Σ_c (J_iᵀ s_ic)²}, from its curvature
   * and predictive distribution (what a preconditioner of a step needs).
   *
   * @param curvature the batch's curvature; not closed
   * @param distribution the batch's predictive distribution ({@link PredictiveDistribution#of})
   * @return a new vector over the curvature's root layout; the caller closes it
   * @throws UnsupportedOperationException naming the backend if it has no {@link Curvature#vjp}
   */
  public static ParameterVector ggnDiagonal(
      Curvature curvature, PredictiveDistribution distribution) {
    Objects.requireNonNull(curvature, "curvature");
    Objects.requireNonNull(distribution, "distribution");
    ParameterLayout root = curvature.layout().root();
    ParameterVector acc;
    try (Tensor dz = curvature.outputGradient()) {
      acc = ParameterVector.zeros(dz.algebra(), root);
    }
    try {
      addGgnDiagonal(acc, curvature, distribution, root);
      return acc.scale(1.0 / distribution.samples());
    } catch (RuntimeException | Error e) {
      acc.close();
      throw e;
    }
  }

  /** {@code acc += Σ_i Σ_c (J_iᵀ s_ic)²} over one batch. */
  private static void addGgnDiagonal(
      ParameterVector acc, Curvature c, PredictiveDistribution p, ParameterLayout root) {
    int n = p.samples();
    int k = p.outputs();
    int[] shape;
    TensorAlgebra a;
    try (Tensor dz = c.outputGradient()) {
      shape = dz.shape();
      a = dz.algebra();
    }
    for (int i = 0; i < n; i++) {
      double[] s = p.hessianFactor(i);
      for (int col = 0; col < k; col++) {
        double[] seed = new double[n * k];
        boolean nonzero = false;
        for (int j = 0; j < k; j++) {
          seed[i * k + j] = s[j * k + col];
          nonzero |= seed[i * k + j] != 0;
        }
        if (!nonzero) {
          continue;
        }
        try (Tensor u = a.fromArray(seed, shape);
            ParameterVector g = DatasetCurvature.onRoot(c.vjp(u), root, "gradient")) {
          acc.axpy(1, square(g));
        }
      }
    }
  }

  /**
   * The Monte-Carlo estimate of the GGN diagonal: the diagonal of {@link #monteCarloFisher} with
   * the same draws, {@code (1/(N K)) Σ_{i,s} c g̃_is²}.
   *
   * @param draws the number {@code K} of label draws per sample, at least 1
   * @param seed the seed of the draws
   * @return a new vector over {@link #layout()}; the caller closes it
   * @throws IllegalArgumentException if {@code draws} is not positive
   */
  public ParameterVector monteCarloGgnDiagonal(int draws, long seed) {
    List<ParameterVector> g = sampledGradients(draws, seed);
    ParameterVector acc = ParameterVector.zeros(algebra, layout);
    try {
      for (ParameterVector v : g) {
        acc.axpy(1, square(v));
      }
      return acc.scale(1.0 / g.size());
    } catch (RuntimeException | Error e) {
      acc.close();
      throw e;
    } finally {
      g.forEach(ParameterVector::close);
    }
  }

  /** {@code g} over this model's root layout object (a backend may use an equal copy). */
  private ParameterVector onRoot(ParameterVector g) {
    return DatasetCurvature.onRoot(g, layout, "gradient");
  }

  /** {@code v ⊙ v} in place on {@code v}. */
  private static ParameterVector square(ParameterVector v) {
    try (ParameterVector c = v.copy()) {
      return v.mul(c);
    }
  }

  private void requireDomain(ParameterLayout blocks) {
    Objects.requireNonNull(blocks, "blocks");
    requireOpen();
    if (blocks.root() != layout) {
      throw new IllegalArgumentException("blocks: " + blocks + " is not a selection of " + layout);
    }
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("FisherCurvature: closed");
    }
  }

  /** Closes the curvatures and every gradient this object made. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    curvatures.forEach(Curvature::close);
    owned.forEach(ParameterVector::close);
  }
}
