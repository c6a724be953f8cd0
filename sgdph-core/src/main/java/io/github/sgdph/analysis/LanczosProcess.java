package io.github.sgdph.analysis;

import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The symmetric Lanczos process with full reorthogonalisation (Lanczos 1950; Golub and Van
 * Loan, "Matrix Computations", §10.1 and Alg. 10.3.1): builds an orthonormal basis
 * {@code V_m = [v_0 … v_{m−1}]} of the Krylov space of a start vector and the tridiagonal
 * {@code T_m = V_mᵀ A V_m} with diagonal {@code α} and off-diagonal {@code β}:
 *
 * <pre>
 *   w = A v_j − α_j v_j − β_{j−1} v_{j−1},   α_j = v_jᵀ A v_j
 *   w ← w − V (Vᵀ w)   twice (modified Gram-Schmidt; "twice is enough")
 *   β_j = ‖w‖,  v_{j+1} = w / β_j
 * </pre>
 *
 * <p>On breakdown ({@code β_j ≤ τ·‖T‖}, an invariant subspace; {@code τ} is {@value
 * #BREAKDOWN} in float64 and the caller's, larger, one in less precision) the process either
 * stops or
 * — for eigenvalue search — continues from a fresh random vector orthogonal to {@code V}, with
 * {@code β_j = 0}, so that eigenvalues missing from the first Krylov space (multiple
 * eigenvalues, start vectors orthogonal to an eigenvector) can still be found. Host work is
 * only the scalars {@code α}, {@code β}; the basis stays on the backend.
 */
final class LanczosProcess implements AutoCloseable {
  /** The relative breakdown threshold {@code τ} for float64 products. */
  static final double BREAKDOWN = 1e-12;

  private final LinearOperator op;
  private final TensorAlgebra algebra;
  private final RandomGenerator random;
  private final boolean restartOnBreakdown;
  private final double breakdown;
  private final long dimension;
  private final List<ParameterVector> basis = new ArrayList<>();
  private final List<Integer> blockStarts = new ArrayList<>(List.of(0));
  private double[] alpha = new double[16];
  private double[] beta = new double[16];
  private int steps;
  private long products;
  private double normEstimate;
  private boolean exhausted;

  /**
   * @param start the start vector (taken over; normalised here); must be non-zero
   * @param breakdown {@code τ}: a {@code β_j ≤ τ·‖T‖} is a breakdown
   */
  LanczosProcess(
      LinearOperator op,
      TensorAlgebra algebra,
      ParameterVector start,
      RandomGenerator random,
      boolean restartOnBreakdown,
      double breakdown) {
    this.op = op;
    this.algebra = algebra;
    this.random = random;
    this.restartOnBreakdown = restartOnBreakdown;
    this.breakdown = breakdown;
    this.dimension = op.dimension();
    double n = start.norm();
    if (!(n > 0) || !Double.isFinite(n)) {
      start.close();
      throw new IllegalArgumentException("start: the start vector has norm " + n);
    }
    basis.add(start.scale(1 / n));
  }

  /** The number of steps made (the order {@code m} of {@code T_m}). */
  int steps() {
    return steps;
  }

  /** The operator products made. */
  long products() {
    return products;
  }

  /** Whether the basis spans an invariant subspace and no more steps can be made. */
  boolean exhausted() {
    return exhausted;
  }

  /**
   * The step indices at which a Krylov block starts: {@code 0}, then one per restart after a
   * breakdown ({@code T_m} is block diagonal with these blocks). The last may equal
   * {@link #steps()} (a block with no step made yet).
   */
  int[] blockStarts() {
    return blockStarts.stream().mapToInt(Integer::intValue).toArray();
  }

  /** The largest {@code |α_j| + β_j + β_{j−1}} seen: a lower estimate of {@code ‖A‖}. */
  double normEstimate() {
    return normEstimate;
  }

  /** {@code α_0 … α_{m−1}}. */
  double[] alpha() {
    return Arrays.copyOf(alpha, steps);
  }

  /**
   * {@code β_0 … β_{m−1}}; {@code β_{m−1}} is the residual coupling to the next (unmade)
   * basis vector, 0 after a breakdown.
   */
  double[] beta() {
    return Arrays.copyOf(beta, steps);
  }

  /** One step; false (and nothing done) if the process is exhausted. */
  boolean step() {
    if (exhausted) {
      return false;
    }
    if (steps == alpha.length) {
      alpha = Arrays.copyOf(alpha, 2 * steps);
      beta = Arrays.copyOf(beta, 2 * steps);
    }
    ParameterVector v = basis.get(steps);
    ParameterVector w = op.apply(v);
    products++;
    double a = v.dot(w);
    if (!Double.isFinite(a)) {
      w.close();
      throw new ArithmeticException(
          "lanczos: the operator product at step " + (steps + 1) + " is not finite (vᵀAv = " + a
              + ")");
    }
    w.axpy(-a, v);
    if (steps > 0) {
      w.axpy(-beta[steps - 1], basis.get(steps - 1));
    }
    orthogonalize(w);
    orthogonalize(w);
    double b = w.norm();
    alpha[steps] = a;
    normEstimate = Math.max(normEstimate, Math.abs(a) + b + (steps > 0 ? beta[steps - 1] : 0));
    steps++;
    if (steps >= dimension) {
      beta[steps - 1] = 0;
      exhausted = true;
      w.close();
      return true;
    }
    if (b > breakdown * normEstimate) {
      beta[steps - 1] = b;
      basis.add(w.scale(1 / b));
      return true;
    }
    beta[steps - 1] = 0;
    w.close();
    if (!restartOnBreakdown) {
      exhausted = true;
      return true;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
      ParameterVector r = ParameterVector.randomNormal(algebra, op.domain(), random);
      double n0 = r.norm();
      orthogonalize(r);
      orthogonalize(r);
      double n1 = r.norm();
      if (n1 > 1e-8 * n0) {
        basis.add(r.scale(1 / n1));
        blockStarts.add(steps);
        return true;
      }
      r.close();
    }
    exhausted = true;
    return true;
  }

  /** {@code w ← w − Σ_i (v_iᵀ w) v_i} over the basis (one modified Gram-Schmidt pass). */
  private void orthogonalize(ParameterVector w) {
    for (int i = 0; i < basis.size(); i++) {
      ParameterVector vi = basis.get(i);
      w.axpy(-vi.dot(w), vi);
    }
  }

  /** {@code Σ_j c_j v_j} over the first {@code c.length ≤ m} basis vectors (a new vector). */
  ParameterVector combine(double[] c) {
    ParameterVector u = ParameterVector.zeros(algebra, op.domain());
    for (int j = 0; j < c.length; j++) {
      if (c[j] != 0) {
        u.axpy(c[j], basis.get(j));
      }
    }
    return u;
  }

  /** Releases the basis. */
  @Override
  public void close() {
    basis.forEach(ParameterVector::close);
    basis.clear();
  }
}
