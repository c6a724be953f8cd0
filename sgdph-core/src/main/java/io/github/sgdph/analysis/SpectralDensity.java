package io.github.sgdph.analysis;

import java.util.Objects;

/**
 * An estimate of the spectral density {@code φ(t) = (1/d) Σ_i δ(t − λ_i)} of a symmetric
 * operator, smoothed by a Gaussian, as points a plot can use; from {@link
 * StochasticLanczosQuadrature}.
 *
 * @param grid the abscissae, increasing and equally spaced
 * @param density {@code φ_σ(grid[i])}, a probability density (it integrates to 1 over the grid
 *     up to the Gaussian tails beyond it, below 1e-8)
 * @param nodes per run, the quadrature nodes (Ritz values, ascending)
 * @param weights per run, the quadrature weights (squared first components of the eigenvectors
 *     of {@code T_m}; each row sums to 1)
 * @param sigma the standard deviation of the Gaussian broadening
 * @param steps the Lanczos steps per run (fewer if a Krylov space was exhausted)
 * @param products the operator products made
 */
public record SpectralDensity(
    double[] grid,
    double[] density,
    double[][] nodes,
    double[][] weights,
    double sigma,
    int steps,
    long products) {

  /**
   * Validates the lengths and copies the arrays (deeply).
   *
   * @param grid the abscissae, increasing and equally spaced
   * @param density the density at each grid point
   * @param nodes per run, the quadrature nodes
   * @param weights per run, the quadrature weights
   * @param sigma the standard deviation of the Gaussian broadening
   * @param steps the Lanczos steps per run
   * @param products the operator products made
   * @throws IllegalArgumentException if {@code grid} and {@code density}, or {@code nodes} and
   *     {@code weights}, differ in length
   * @throws NullPointerException if an array is null
   */
  public SpectralDensity {
    Objects.requireNonNull(grid, "grid");
    Objects.requireNonNull(density, "density");
    Objects.requireNonNull(nodes, "nodes");
    Objects.requireNonNull(weights, "weights");
    if (grid.length != density.length) {
      throw new IllegalArgumentException(
          "density: " + density.length + " values for " + grid.length + " grid points");
    }
    if (nodes.length != weights.length) {
      throw new IllegalArgumentException(
          "weights: " + weights.length + " runs but " + nodes.length + " runs of nodes");
    }
    grid = grid.clone();
    density = density.clone();
    nodes = deepClone(nodes);
    weights = deepClone(weights);
  }

  /**
   * The number of independent start vectors (runs).
   *
   * @return the number of rows of {@link #nodes()}
   */
  public int runs() {
    return nodes.length;
  }

  /**
   * The mean of the quadrature measure, {@code (1/runs) Σ_r Σ_j τ_{rj} θ_{rj}}: an unbiased
   * estimate of {@code tr(A)/d} (each run's term is {@code vᵀAv} for its unit start vector).
   *
   * @return the weighted mean of the nodes, averaged over the runs
   */
  public double mean() {
    double s = 0;
    for (int r = 0; r < nodes.length; r++) {
      for (int j = 0; j < nodes[r].length; j++) {
        s += weights[r][j] * nodes[r][j];
      }
    }
    return s / nodes.length;
  }

  /**
   * The standard error of {@link #mean()}: the standard deviation of the runs' terms
   * {@code vᵀAv} over {@code √runs}.
   *
   * @return {@code momentStandardError(1)}; NaN with a single run
   */
  public double meanStandardError() {
    return momentStandardError(1);
  }

  /**
   * The {@code p}-th moment of the quadrature measure,
   * {@code (1/runs) Σ_r Σ_j τ_{rj} θ_{rj}^p}: an unbiased estimate of {@code tr(A^p)/d} as long
   * as the quadrature is exact for degree {@code p} ({@code p < 2·steps}, or an exhausted Krylov
   * space), since each run's term is then {@code vᵀA^p v} for its unit Rademacher start vector.
   *
   * @param p the order, {@code >= 0} (0 gives 1)
   * @return the moment averaged over the runs
   * @throws IllegalArgumentException if {@code p < 0}
   */
  public double moment(int p) {
    double[] m = runMoments(p);
    double s = 0;
    for (double x : m) {
      s += x;
    }
    return s / m.length;
  }

  /**
   * The standard error of {@link #moment(int)} over the probe vectors: the sample standard
   * deviation of the runs' terms {@code Σ_j τ_{rj} θ_{rj}^p} over {@code √runs}.
   *
   * @param p the order, {@code >= 0}
   * @return the standard error; NaN with a single run
   * @throws IllegalArgumentException if {@code p < 0}
   */
  public double momentStandardError(int p) {
    double[] m = runMoments(p);
    int r = m.length;
    if (r < 2) {
      return Double.NaN;
    }
    double mean = 0;
    for (double x : m) {
      mean += x;
    }
    mean /= r;
    double ss = 0;
    for (double x : m) {
      ss += (x - mean) * (x - mean);
    }
    return Math.sqrt(ss / (r - 1) / r);
  }

  private double[] runMoments(int p) {
    if (p < 0) {
      throw new IllegalArgumentException("p: must be >= 0 but was " + p);
    }
    double[] out = new double[nodes.length];
    for (int r = 0; r < nodes.length; r++) {
      double s = 0;
      for (int j = 0; j < nodes[r].length; j++) {
        s += weights[r][j] * Math.pow(nodes[r][j], p);
      }
      out[r] = s;
    }
    return out;
  }

  /**
   * The smallest and largest quadrature node over all runs.
   *
   * @return a new array {@code {θ_min, θ_max}}
   */
  public double[] nodeRange() {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (double[] run : nodes) {
      for (double t : run) {
        lo = Math.min(lo, t);
        hi = Math.max(hi, t);
      }
    }
    return new double[] {lo, hi};
  }

  /**
   * The abscissae, increasing and equally spaced.
   *
   * @return a new array
   */
  @Override
  public double[] grid() {
    return grid.clone();
  }

  /**
   * The density at each grid point.
   *
   * @return a new array, one value per grid point
   */
  @Override
  public double[] density() {
    return density.clone();
  }

  /**
   * The quadrature nodes (Ritz values, ascending) of each run.
   *
   * @return a new array, one row per run
   */
  @Override
  public double[][] nodes() {
    return deepClone(nodes);
  }

  /**
   * The quadrature weights of each run; each row sums to 1.
   *
   * @return a new array, one row per run, aligned with {@link #nodes()}
   */
  @Override
  public double[][] weights() {
    return deepClone(weights);
  }

  private static double[][] deepClone(double[][] a) {
    double[][] c = new double[a.length][];
    for (int i = 0; i < a.length; i++) {
      c[i] = a[i].clone();
    }
    return c;
  }
}
