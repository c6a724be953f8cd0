package io.github.sgdph.linalg;

import io.github.sgdph.param.ParameterLayout;
import io.github.sgdph.param.ParameterVector;
import java.util.Objects;

/**
 * {@code v ↦ v / d}, the inverse of a positive diagonal matrix: the form of diagonal
 * conjugate-gradient preconditioners (Martens 2010, §4.7).
 */
public final class InverseDiagonalOperator implements LinearOperator {
  private final ParameterLayout domain;
  private final ParameterVector d;

  private InverseDiagonalOperator(ParameterLayout domain, ParameterVector d) {
    this.domain = domain;
    this.d = d;
  }

  /**
   * The operator dividing by {@code d}.
   *
   * @param domain the layout the operator acts on
   * @param d the diagonal, over {@code domain}'s blocks; referenced, not copied (keep it open)
   * @return the operator
   * @throws IllegalArgumentException if {@code d} is not over {@code domain}'s blocks
   */
  public static InverseDiagonalOperator of(ParameterLayout domain, ParameterVector d) {
    Objects.requireNonNull(domain, "domain");
    Objects.requireNonNull(d, "d");
    if (!d.layout().sameBlocksAs(domain)) {
      throw new IllegalArgumentException(
          "d: layout " + d.layout() + " is not the operator's domain " + domain);
    }
    return new InverseDiagonalOperator(domain, d);
  }

  @Override
  public ParameterLayout domain() {
    return domain;
  }

  @Override
  public ParameterVector apply(ParameterVector v) {
    return v.copy().div(d);
  }
}
