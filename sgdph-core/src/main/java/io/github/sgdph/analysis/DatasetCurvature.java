package io.github.sgdph.analysis;

import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.CurvatureModel;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.linalg.BatchAveragedOperator;
import io.github.sgdph.linalg.GaussNewtonOperator;
import io.github.sgdph.linalg.GradientMomentOperator;
import io.github.sgdph.linalg.HessianOperator;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.Tensor;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The curvature of a model's mean loss over a data set (one batch or many) at its current
 * parameters: the Hessian {@code H}, the generalized Gauss-Newton matrix {@code G} and the
 * second moment of per-sample gradients {@code M = (1/N) Σ_i g_i g_iᵀ} as linear operators,
 * each on all parameters or restricted to a selection of blocks (per-layer analysis). These are
 * the three matrices Li, Gu, Zhou, Chen and Banerjee ("Hessian based analysis of SGD for deep
 * nets") compare; the operators follow curvlinops.
 *
 * <p>Batches are averaged like a full-data Hessian: batch {@code b} of {@code n_b} samples gets
 * weight {@code n_b / N} ({@link BatchAveragedOperator}). The per-sample gradients of {@code M}
 * are, by default, the per-term gradients of each batch's loss in that batch's forward pass
 * ({@link Curvature#perTermGradients()}, {@link SampleGradients#PER_TERM}; exact with train-mode
 * batch norm); they are computed on first use and kept: {@code N} parameter vectors.
 *
 * <p>This object holds one open {@link Curvature} per batch; close it when done. Changing the
 * model's parameters makes it stale (products then throw {@link IllegalStateException}).
 */
public final class DatasetCurvature implements AutoCloseable {
  private final List<Objective> objectives;
  private final List<Curvature> curvatures;
  private final int[] batchSizes;
  private final ParameterLayout layout;
  private final TensorAlgebra algebra;
  private final SampleGradients sampleGradientKind;
  private List<ParameterVector> sampleGradients;
  private boolean closed;

  private DatasetCurvature(
      List<Objective> objectives, List<Curvature> curvatures, SampleGradients kind) {
    this.objectives = objectives;
    this.curvatures = curvatures;
    this.sampleGradientKind = kind;
    this.layout = curvatures.get(0).layout().root();
    this.algebra = objectives.get(0).algebra();
    this.batchSizes = new int[objectives.size()];
    for (int b = 0; b < batchSizes.length; b++) {
      batchSizes[b] = objectives.get(b).batchSize();
    }
  }

  /**
   * The curvature over these objectives (batches of one model) at the current parameters.
   *
   * @param objectives the objectives of the batches, all of one model
   * @return a new object holding one open curvature per batch; the caller closes it
   * @throws IllegalArgumentException if the list is empty or the objectives are of different
   *     models
   */
  public static DatasetCurvature of(List<? extends Objective> objectives) {
    return of(objectives, SampleGradients.PER_TERM);
  }

  /**
   * The curvature over these objectives, with {@code M} built from the chosen per-sample
   * gradients.
   *
   * @param objectives the objectives of the batches, all of one model
   * @param sampleGradients which per-sample gradients {@link #gradientMoment()} uses
   * @return a new object holding one open curvature per batch; the caller closes it
   * @throws IllegalArgumentException if the list is empty or the objectives are of different
   *     models
   */
  public static DatasetCurvature of(
      List<? extends Objective> objectives, SampleGradients sampleGradients) {
    Objects.requireNonNull(objectives, "objectives");
    Objects.requireNonNull(sampleGradients, "sampleGradients");
    if (objectives.isEmpty()) {
      throw new IllegalArgumentException("objectives: at least one batch is needed");
    }
    ParameterLayout root = objectives.get(0).layout().root();
    for (int b = 0; b < objectives.size(); b++) {
      Objective o = Objects.requireNonNull(objectives.get(b), "objectives[" + b + "]");
      if (o.layout().root() != root) {
        throw new IllegalArgumentException(
            "objectives[" + b + "]: not of the same model as objectives[0]");
      }
    }
    List<Curvature> cs = new ArrayList<>(objectives.size());
    try {
      for (int b = 0; b < objectives.size(); b++) {
        cs.add(objectives.get(b).curvature());
        if (cs.get(b).layout().root() != cs.get(0).layout().root()) {
          throw new IllegalArgumentException(
              "objectives[" + b + "]: its curvature is not over the layout of objectives[0]'s");
        }
      }
    } catch (RuntimeException e) {
      cs.forEach(Curvature::close);
      throw e;
    }
    return new DatasetCurvature(List.copyOf(objectives), cs, sampleGradients);
  }

  /**
   * The curvature of {@code model} over {@code batches} at its current parameters.
   *
   * @param <B> the model's batch type
   * @param model the model
   * @param batches the batches of the data set, at least one
   * @return a new object holding one open curvature per batch; the caller closes it
   * @throws IllegalArgumentException if {@code batches} is empty or the model rejects a batch
   */
  public static <B> DatasetCurvature of(CurvatureModel<B> model, List<B> batches) {
    return of(model, batches, SampleGradients.PER_TERM);
  }

  /**
   * The curvature of {@code model} over {@code batches}, with {@code M} built from the chosen
   * per-sample gradients.
   *
   * @param <B> the model's batch type
   * @param model the model
   * @param batches the batches of the data set, at least one
   * @param sampleGradients which per-sample gradients {@link #gradientMoment()} uses
   * @return a new object holding one open curvature per batch; the caller closes it
   * @throws IllegalArgumentException if {@code batches} is empty or the model rejects a batch
   */
  public static <B> DatasetCurvature of(
      CurvatureModel<B> model, List<B> batches, SampleGradients sampleGradients) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(batches, "batches");
    List<Objective> os = new ArrayList<>(batches.size());
    for (B b : batches) {
      os.add(model.objective(b));
    }
    return of(os, sampleGradients);
  }

  /**
   * The curvature over one batch.
   *
   * @param objective the objective of the batch
   * @return a new object holding the batch's open curvature; the caller closes it
   */
  public static DatasetCurvature of(Objective objective) {
    return of(List.of(objective));
  }

  /**
   * Which per-sample gradients {@link #gradientMoment()} is built from.
   *
   * @return the kind chosen at construction ({@link SampleGradients#PER_TERM} by default)
   */
  public SampleGradients sampleGradientKind() {
    return sampleGradientKind;
  }

  /**
   * The model's root parameter layout.
   *
   * @return the root layout of the objectives' parameters
   */
  public ParameterLayout layout() {
    return layout;
  }

  /**
   * The algebra of the model's tensors (to make start and probe vectors).
   *
   * @return the algebra of the first objective
   */
  public TensorAlgebra algebra() {
    return algebra;
  }

  /**
   * The number of batches.
   *
   * @return the number of objectives given at creation
   */
  public int batchCount() {
    return batchSizes.length;
  }

  /**
   * The total number of samples {@code N}.
   *
   * @return the sum of the batch sizes
   */
  public int sampleCount() {
    int n = 0;
    for (int s : batchSizes) {
      n += s;
    }
    return n;
  }

  /**
   * The mean loss over all samples.
   *
   * @return the sample-weighted mean of the batches' losses
   */
  public double loss() {
    requireOpen();
    double s = 0;
    for (int b = 0; b < curvatures.size(); b++) {
      s += batchSizes[b] * curvatures.get(b).loss();
    }
    return s / sampleCount();
  }

  /**
   * The gradient of the mean loss over all samples (a new vector, owned by the caller).
   *
   * @return the sample-weighted mean of the batches' gradients
   */
  public ParameterVector gradient() {
    requireOpen();
    ParameterVector g = curvatures.get(0).gradient();
    if (curvatures.size() == 1) {
      return g;
    }
    int n = sampleCount();
    g.scale((double) batchSizes[0] / n);
    for (int b = 1; b < curvatures.size(); b++) {
      try (ParameterVector t = curvatures.get(b).gradient()) {
        g.axpy((double) batchSizes[b] / n, t);
      }
    }
    return g;
  }

  /**
   * The current parameters (a copy owned by the caller).
   *
   * @return a new vector over {@link #layout()}
   */
  public ParameterVector parameters() {
    return objectives.get(0).parameters();
  }

  /**
   * The Hessian of the mean loss over all samples.
   *
   * @return the operator {@code H} on {@link #layout()}; the operator references this object's
   *     curvatures: use it while this object is open and the parameters unchanged
   */
  public LinearOperator hessian() {
    return hessian(layout);
  }

  /**
   * The diagonal block {@code H_SS} of the Hessian on a selection {@code blocks} of the model.
   *
   * @param blocks a selection of the model's root layout (see {@link ParameterLayout#select}), or
   *     the root layout itself
   * @return the operator {@code H_SS} on {@code blocks}; the operator references this object's
   *     curvatures: use it while this object is open and the parameters unchanged
   * @throws IllegalArgumentException if {@code blocks} is not a layout of this model
   */
  public LinearOperator hessian(ParameterLayout blocks) {
    requireDomain(blocks);
    List<LinearOperator> parts = new ArrayList<>(curvatures.size());
    for (Curvature c : curvatures) {
      parts.add(new HessianOperator(c, blocks));
    }
    return BatchAveragedOperator.of(parts, batchSizes);
  }

  /**
   * The generalized Gauss-Newton matrix of the mean loss over all samples.
   *
   * @return the operator {@code G} on {@link #layout()}; the operator references this object's
   *     curvatures: use it while this object is open and the parameters unchanged
   */
  public LinearOperator ggn() {
    return ggn(layout);
  }

  /**
   * The diagonal block {@code G_SS} of the Gauss-Newton matrix on a selection of blocks.
   *
   * @param blocks a selection of the model's root layout (see {@link ParameterLayout#select}), or
   *     the root layout itself
   * @return the operator {@code G_SS} on {@code blocks}; the operator references this object's
   *     curvatures: use it while this object is open and the parameters unchanged
   * @throws IllegalArgumentException if {@code blocks} is not a layout of this model
   */
  public LinearOperator ggn(ParameterLayout blocks) {
    requireDomain(blocks);
    List<LinearOperator> parts = new ArrayList<>(curvatures.size());
    for (Curvature c : curvatures) {
      parts.add(new GaussNewtonOperator(c, blocks));
    }
    return BatchAveragedOperator.of(parts, batchSizes);
  }

  /**
   * The second moment of the per-sample gradients, {@code M = (1/N) Σ_i g_i g_iᵀ}.
   *
   * @return the operator {@code M} on {@link #layout()}, over the per-sample gradients of {@link
   *     #sampleGradients()}
   */
  public GradientMomentOperator gradientMoment() {
    return gradientMoment(layout);
  }

  /**
   * The diagonal block {@code M_SS} of the gradient second moment on a selection of blocks.
   *
   * @param blocks a selection of the model's root layout (see {@link ParameterLayout#select}), or
   *     the root layout itself
   * @return the operator {@code M_SS} on {@code blocks}, over the per-sample gradients of {@link
   *     #sampleGradients()}
   * @throws IllegalArgumentException if {@code blocks} is not a layout of this model
   */
  public GradientMomentOperator gradientMoment(ParameterLayout blocks) {
    requireDomain(blocks);
    return GradientMomentOperator.of(sampleGradients(), blocks);
  }

  /**
   * The empirical Fisher {@code F_emp = (1/N) Σ_i g_i g_iᵀ}: the gradient second moment {@link
   * #gradientMoment()} under its usual name (curvlinops' {@code EFLinearOperator}). It uses the
   * data's labels, not the model's predictive distribution, and is not the Fisher (Kunstner,
   * Balles, Hennig 2019, "Limitations of the empirical Fisher approximation for natural gradient
   * descent"); for the Fisher itself see {@link FisherCurvature#monteCarloFisher}.
   *
   * @return the same operator as {@link #gradientMoment()}
   */
  public GradientMomentOperator empiricalFisher() {
    return gradientMoment();
  }

  /**
   * The diagonal block of the empirical Fisher on a selection of blocks: {@link
   * #gradientMoment(ParameterLayout)} under its usual name.
   *
   * @param blocks a selection of the model's root layout, or the root layout itself
   * @return the same operator as {@link #gradientMoment(ParameterLayout)}
   * @throws IllegalArgumentException if {@code blocks} is not a layout of this model
   */
  public GradientMomentOperator empiricalFisher(ParameterLayout blocks) {
    return gradientMoment(blocks);
  }

  /**
   * The per-sample gradients of all batches, in batch order (computed once, owned by this
   * object: do not close them).
   *
   * @return an unmodifiable list of {@link #sampleCount()} vectors over {@link #layout()}
   * @throws IllegalStateException if this object is closed
   */
  public List<ParameterVector> sampleGradients() {
    requireOpen();
    if (sampleGradients == null) {
      List<ParameterVector> all = new ArrayList<>(sampleCount());
      try {
        for (int b = 0; b < objectives.size(); b++) {
          List<ParameterVector> gs =
              sampleGradientKind == SampleGradients.PER_TERM
                  ? curvatures.get(b).perTermGradients()
                  : objectives.get(b).isolatedSampleGradients();
          for (ParameterVector g : gs) {
            all.add(onRoot(g));
          }
        }
      } catch (RuntimeException e) {
        all.forEach(ParameterVector::close);
        throw e;
      }
      sampleGradients = List.copyOf(all);
    }
    return sampleGradients;
  }

  /** {@code g} over this model's root layout object (a backend may use an equal copy). */
  private ParameterVector onRoot(ParameterVector g) {
    return onRoot(g, layout, "sampleGradients");
  }

  /**
   * {@code g} over the layout object {@code root} itself: {@code g} when it already is, else a
   * copy over {@code root} ({@code g} closed) — a backend may return vectors over an equal copy
   * of the model's layout.
   *
   * @param g a vector owned by the caller
   * @param root the model's root layout
   * @param what the name in the message when {@code g}'s blocks are not {@code root}'s
   * @return a vector over {@code root}, owned by the caller
   * @throws IllegalStateException naming {@code what} if the blocks differ ({@code g} closed)
   */
  static ParameterVector onRoot(ParameterVector g, ParameterLayout root, String what) {
    if (g.layout() == root) {
      return g;
    }
    if (!g.layout().isRoot() || !g.layout().sameBlocksAs(root)) {
      g.close();
      throw new IllegalStateException(
          what + ": layout " + g.layout() + " is not the model's " + root);
    }
    Tensor[] t = new Tensor[g.blockCount()];
    for (int i = 0; i < t.length; i++) {
      t[i] = g.block(i).copy();
    }
    g.close();
    return ParameterVector.of(root, t);
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
      throw new IllegalStateException("DatasetCurvature: closed");
    }
  }

  /** Closes the curvatures and the per-sample gradients. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    curvatures.forEach(Curvature::close);
    if (sampleGradients != null) {
      sampleGradients.forEach(ParameterVector::close);
    }
  }
}
