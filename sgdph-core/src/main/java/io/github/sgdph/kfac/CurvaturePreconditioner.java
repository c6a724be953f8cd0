package io.github.sgdph.kfac;

import io.github.sgdph.analysis.FisherCurvature;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.curvature.Objective;
import io.github.sgdph.linalg.InverseDiagonalOperator;
import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.PredictiveDistribution;
import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.Locale;
import java.util.Objects;

/**
 * Preconditioners for conjugate gradient on the damped Gauss-Newton system {@code (G + λI) δ =
 * −g} of Hessian-free methods, built from one batch's curvature:
 *
 * <ul>
 *   <li>{@link Kind#GGN_DIAGONAL}: {@code P = (diag G + λ)^{−ξ}}, {@code ξ = 3/4}, with the
 *       <em>exact</em> GGN diagonal ({@link FisherCurvature#ggnDiagonal(Curvature,
 *       PredictiveDistribution)}) in place of Martens' (2010, §4.7) empirical-Fisher diagonal
 *       {@code Σ_i g_i²} — the choice Martens' §4.7 discusses as better but too expensive
 *       without per-sample machinery ({@code n k} backward passes here);
 *   <li>{@link Kind#KFAC}: the factored-Tikhonov damped inverse of the exact-Fisher KFAC matrix
 *       ({@link KfacOperator#dampedInverse}) — for these losses the exact Fisher is the GGN, so
 *       {@code P ≈ (G + λI)⁻¹} up to the Kronecker factorisation; {@code n k} backward passes.
 * </ul>
 *
 * Both are symmetric positive definite for {@code λ > 0}, as preconditioned CG requires; {@link
 * #on} restricts them to a block of a block-diagonal method (the diagonal block of the
 * preconditioner matrix, or for KFAC the inverse of the damped diagonal block).
 */
public final class CurvaturePreconditioner implements AutoCloseable {
  /** Martens' (2010, §4.7) exponent ξ of the diagonal preconditioner. */
  public static final double EXPONENT = 0.75;

  /** The preconditioners. */
  public enum Kind {
    /** {@code (diag G + λ)^{−3/4}}, the exact GGN diagonal. */
    GGN_DIAGONAL,
    /** The damped inverse of the exact-Fisher KFAC matrix. */
    KFAC;

    /**
     * The case-file name: {@code ggn-diagonal} or {@code kfac}.
     *
     * @return the name
     */
    public String jsonName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  private final Kind kind;
  private final double lambda;
  private final ParameterVector diagonal;
  private final KroneckerFactors factors;
  private boolean closed;

  private CurvaturePreconditioner(
      Kind kind, double lambda, ParameterVector diagonal, KroneckerFactors factors) {
    this.kind = kind;
    this.lambda = lambda;
    this.diagonal = diagonal;
    this.factors = factors;
  }

  /**
   * The preconditioner of a batch at the current parameters.
   *
   * @param kind which preconditioner
   * @param curvature the batch's curvature (of the system's matrix); not closed
   * @param loss the model's loss
   * @param labels the batch's labels (as {@link PredictiveDistribution#fromOutputGradient} reads
   *     them)
   * @param lambda the damping {@code λ > 0} of the system
   * @return the preconditioner; close it (it may hold a vector on the backend)
   * @throws IllegalArgumentException naming the argument if {@code lambda} is not positive
   * @throws UnsupportedOperationException naming the backend if it lacks {@code vjp} or the
   *     Kronecker-factor SPI
   */
  public static CurvaturePreconditioner of(
      Kind kind, Curvature curvature, LossKind loss, double[] labels, double lambda) {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(curvature, "curvature");
    Objects.requireNonNull(loss, "loss");
    Objects.requireNonNull(labels, "labels");
    LayerwiseOperator.requireDamping(lambda);
    if (kind == Kind.KFAC) {
      return new CurvaturePreconditioner(kind, lambda, null,
          KroneckerFactors.of(curvature, loss, labels, FisherType.EXACT, 1, 0, false));
    }
    PredictiveDistribution p = PredictiveDistribution.of(loss, curvature, labels);
    ParameterVector d = FisherCurvature.ggnDiagonal(curvature, p);
    try {
      // (d + λ)^0.75 = √(d + λ) · ⁴√(d + λ), on the backend
      d.addScalar(lambda).sqrt();
      try (ParameterVector quarter = d.copy().sqrt()) {
        d.mul(quarter);
      }
    } catch (RuntimeException | Error e) {
      d.close();
      throw e;
    }
    return new CurvaturePreconditioner(kind, lambda, d, null);
  }

  /**
   * The preconditioner of an objective's batch, whose loss and labels it reads ({@link
   * LabelledObjective}).
   *
   * @param kind which preconditioner
   * @param objective the batch; a {@link LabelledObjective}
   * @param curvature its curvature at the current parameters; not closed
   * @param lambda the damping {@code λ > 0} of the system
   * @return the preconditioner; close it
   * @throws UnsupportedOperationException naming the objective's class if it is not a {@link
   *     LabelledObjective}, or the backend if it lacks the SPI
   */
  public static CurvaturePreconditioner of(
      Kind kind, Objective objective, Curvature curvature, double lambda) {
    Objects.requireNonNull(objective, "objective");
    if (!(objective instanceof LabelledObjective lo)) {
      throw new UnsupportedOperationException(
          "preconditioner " + kind.jsonName() + ": needs the loss and labels, which "
              + objective.getClass().getName() + " does not give (LabelledObjective)");
    }
    return of(kind, curvature, lo.lossKind(), lo.labels(), lambda);
  }

  /**
   * Parses a case file's name of a curvature preconditioner.
   *
   * @param key the hyper-parameter's name, for the message
   * @param s {@code ggn-diagonal} or {@code kfac}
   * @return the kind
   * @throws IllegalArgumentException naming {@code key} for another value
   */
  public static Kind parse(String key, String s) {
    for (Kind k : Kind.values()) {
      if (k.jsonName().equals(s)) {
        return k;
      }
    }
    throw new IllegalArgumentException(
        key + ": expected 'ggn-diagonal' or 'kfac' but was '" + s + "'");
  }

  /**
   * The kind.
   *
   * @return which preconditioner this is
   */
  public Kind kind() {
    return kind;
  }

  /**
   * The preconditioner on a block (or the whole layout).
   *
   * @param domain a selection of the model's root layout, or that layout
   * @return the operator {@code P} over {@code domain}, valid while this object is open
   * @throws IllegalArgumentException if {@code domain} is not a layout of the model
   */
  public LinearOperator on(ParameterLayout domain) {
    Objects.requireNonNull(domain, "domain");
    if (factors != null) {
      return factors.kfac(domain).dampedInverse(lambda);
    }
    return InverseDiagonalOperator.of(
        domain, domain == diagonal.layout() ? diagonal : diagonal.restrict(domain));
  }

  /** Releases the diagonal. Idempotent. */
  @Override
  public void close() {
    if (diagonal != null && !closed) {
      diagonal.close();
    }
    closed = true;
  }
}
