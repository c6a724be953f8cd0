package io.github.sgdph.analysis;

import io.github.sgdph.linalg.LinearOperator;
import io.github.sgdph.param.ParameterVector;
import io.github.sgdph.tensor.TensorAlgebra;
import java.util.Objects;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The spectral density of a symmetric operator by stochastic Lanczos quadrature (Lin, Saad,
 * Yang, "Approximating spectral densities of large matrices", SIAM Review 2016; Ubaru, Chen,
 * Saad 2017; for Hessians Ghorbani, Krishnan, Xiao, ICML 2019, and PyHessian's {@code density}).
 *
 * <p>Each of {@code runs} runs draws a Rademacher vector {@code v}, {@code ‖v‖ = 1}, makes
 * {@code m} Lanczos steps with full reorthogonalisation, and takes the eigen-decomposition
 * {@code T_m = S Θ Sᵀ}: nodes {@code θ_j} and weights {@code τ_j = S_{0j}²} give the Gauss
 * quadrature {@code vᵀ f(A) v ≈ Σ_j τ_j f(θ_j)}, exact for polynomials of degree
 * {@code < 2m}. The density on a grid is
 *
 * <pre>
 *   φ_σ(t) = (1/runs) Σ_r Σ_j τ_{rj} · exp(−(t − θ_{rj})² / 2σ²) / (σ√(2π))
 * </pre>
 *
 * <p>with {@code σ = broadening · max(θ_max − θ_min, max|θ|)} (or {@code broadening} itself for
 * the zero operator), on {@code gridPoints} equally spaced points from {@code θ_min − 6σ} to
 * {@code θ_max + 6σ}, so that it integrates to 1 and its mean is the quadrature's mean,
 * {@code E[vᵀAv] = tr(A)/d}. A run whose Krylov space is exhausted early stops there (the
 * quadrature is then exact).
 *
 * <p>The runs are independent, so every moment of the density ({@link SpectralDensity#moment})
 * carries a standard error over the probe vectors ({@link SpectralDensity#momentStandardError});
 * with {@code runs = 1} it is NaN: use several runs for an error bar.
 *
 * <p>Defaults: {@code steps = 90}, {@code runs = 1} (PyHessian: {@code iter=100, n_v=1}),
 * {@code gridPoints = 1000}, {@code broadening = 0.01}.
 */
public final class StochasticLanczosQuadrature {
  private static final Logger LOG = LoggerFactory.getLogger(StochasticLanczosQuadrature.class);
  private static final double GRID_MARGIN_SIGMAS = 6;

  private final int steps;
  private final int runs;
  private final int gridPoints;
  private final double broadening;
  private final AnalysisListener listener;

  private StochasticLanczosQuadrature(Builder b) {
    this.steps = b.steps;
    this.runs = b.runs;
    this.gridPoints = b.gridPoints;
    this.broadening = b.broadening;
    this.listener = b.listener;
  }

  /**
   * A builder with the defaults: 90 steps, 1 run, 1000 grid points, broadening 0.01.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Stochastic Lanczos quadrature with the defaults: 90 steps, 1 run, 1000 grid points, broadening
   * 0.01.
   *
   * @return a new estimator
   */
  public static StochasticLanczosQuadrature withDefaults() {
    return builder().build();
  }

  /**
   * The smoothed spectral density of {@code op}.
   *
   * @param op the symmetric operator
   * @param algebra the backend of the random start vectors; that of {@code op}'s vectors
   * @param random the source of the Rademacher start vectors
   * @return the density on the grid, with each run's quadrature nodes and weights
   */
  public SpectralDensity density(
      LinearOperator op, TensorAlgebra algebra, RandomGenerator random) {
    Objects.requireNonNull(op, "operator");
    Objects.requireNonNull(algebra, "algebra");
    Objects.requireNonNull(random, "random");
    int m = (int) Math.min(steps, op.dimension());
    double[][] nodes = new double[runs][];
    double[][] weights = new double[runs][];
    long products = 0;
    int maxSteps = 0;
    for (int r = 0; r < runs; r++) {
      ParameterVector v = ParameterVector.rademacher(algebra, op.domain(), random);
      try (LanczosProcess p = new LanczosProcess(op, algebra, v, random, false, LanczosProcess.BREAKDOWN)) {
        while (p.steps() < m && p.step()) {
          listener.onProgress(
              new AnalysisProgress("slq", r * m + p.steps(), runs * m, products + p.products(),
                  Double.NaN));
        }
        SymmetricTridiagonal.Eigen e =
            SymmetricTridiagonal.eigen(p.alpha(), p.beta(), new int[] {0});
        nodes[r] = e.values();
        weights[r] = new double[nodes[r].length];
        for (int j = 0; j < nodes[r].length; j++) {
          double s = e.rows()[0][j];
          weights[r][j] = s * s;
        }
        products += p.products();
        maxSteps = Math.max(maxSteps, p.steps());
      }
    }
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (double[] run : nodes) {
      for (double t : run) {
        lo = Math.min(lo, t);
        hi = Math.max(hi, t);
      }
    }
    double scale = Math.max(hi - lo, Math.max(Math.abs(lo), Math.abs(hi)));
    double sigma = scale > 0 ? broadening * scale : broadening;
    double a = lo - GRID_MARGIN_SIGMAS * sigma;
    double b = hi + GRID_MARGIN_SIGMAS * sigma;
    double[] grid = new double[gridPoints];
    double[] density = new double[gridPoints];
    double h = (b - a) / (gridPoints - 1);
    double norm = 1 / (sigma * Math.sqrt(2 * Math.PI) * runs);
    for (int i = 0; i < gridPoints; i++) {
      double t = i == gridPoints - 1 ? b : a + i * h;
      grid[i] = t;
      double s = 0;
      for (int r = 0; r < runs; r++) {
        for (int j = 0; j < nodes[r].length; j++) {
          double z = (t - nodes[r][j]) / sigma;
          if (z < 40 && z > -40) {
            s += weights[r][j] * Math.exp(-0.5 * z * z);
          }
        }
      }
      density[i] = s * norm;
    }
    LOG.debug("slq: {} runs x {} steps, {} products, nodes in [{}, {}], sigma {}", runs, m,
        products, lo, hi, sigma);
    return new SpectralDensity(grid, density, nodes, weights, sigma, maxSteps, products);
  }

  /** Options of {@link StochasticLanczosQuadrature}; every setter validates its argument. */
  public static final class Builder {
    private int steps = 90;
    private int runs = 1;
    private int gridPoints = 1000;
    private double broadening = 0.01;
    private AnalysisListener listener = AnalysisListener.NONE;

    private Builder() {}

    /**
     * Lanczos steps per run (capped at the dimension); at least 1. Default 90.
     *
     * @param v the Lanczos steps per run
     * @return this builder
     * @throws IllegalArgumentException if {@code v < 1}
     */
    public Builder steps(int v) {
      if (v < 1) {
        throw new IllegalArgumentException("steps: must be >= 1 but was " + v);
      }
      this.steps = v;
      return this;
    }

    /**
     * Independent start vectors; at least 1. Default 1.
     *
     * @param v the number of runs
     * @return this builder
     * @throws IllegalArgumentException if {@code v < 1}
     */
    public Builder runs(int v) {
      if (v < 1) {
        throw new IllegalArgumentException("runs: must be >= 1 but was " + v);
      }
      this.runs = v;
      return this;
    }

    /**
     * Grid points; at least 2. Default 1000.
     *
     * @param v the number of grid points
     * @return this builder
     * @throws IllegalArgumentException if {@code v < 2}
     */
    public Builder gridPoints(int v) {
      if (v < 2) {
        throw new IllegalArgumentException("gridPoints: must be >= 2 but was " + v);
      }
      this.gridPoints = v;
      return this;
    }

    /**
     * The Gaussian's standard deviation relative to the spread of the nodes; in
     * {@code (0, 1]}. Default 0.01.
     *
     * @param v the relative broadening
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is not in (0, 1]
     */
    public Builder broadening(double v) {
      if (!(v > 0 && v <= 1)) {
        throw new IllegalArgumentException("broadening: must be in (0, 1] but was " + v);
      }
      this.broadening = v;
      return this;
    }

    /**
     * Receives a report after every Lanczos step.
     *
     * @param v the listener; {@link AnalysisListener#NONE} for none
     * @return this builder
     * @throws NullPointerException if {@code v} is null
     */
    public Builder listener(AnalysisListener v) {
      this.listener = Objects.requireNonNull(v, "listener");
      return this;
    }

    /**
     * Builds the estimator.
     *
     * @return a new, immutable estimator with these options
     */
    public StochasticLanczosQuadrature build() {
      return new StochasticLanczosQuadrature(this);
    }
  }
}
