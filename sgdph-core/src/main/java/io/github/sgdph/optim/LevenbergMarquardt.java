package io.github.sgdph.optim;

/**
 * The Levenberg–Marquardt rule on the reduction ratio {@code ρ} (Moré 1978; Martens 2010 §4.1 for
 * Hessian-free, Martens and Grosse 2015 §6.5 for KFAC): the damping grows when the quadratic model
 * predicted the loss change badly and shrinks when it predicted it well. Shared by {@link
 * BlockDiagonalHessianFree} and {@link Kfac}, which differ in their factors.
 */
final class LevenbergMarquardt {
  private LevenbergMarquardt() {}

  /**
   * The next damping: {@code λ · increase} (at most {@code max}) when {@code ρ < 1/4} or {@code ρ}
   * is NaN, {@code λ · decrease} (at least {@code min}) when {@code ρ > 3/4}, else {@code λ}.
   *
   * @param lambda the current damping
   * @param rho the reduction ratio of the last step (NaN: no usable model, treated as bad)
   * @param increase the factor &gt; 1 applied on a bad ratio
   * @param decrease the factor &lt; 1 applied on a good ratio
   * @param min the smallest damping a decrease reaches
   * @param max the largest damping an increase reaches
   * @return the next damping
   */
  static double next(double lambda, double rho, double increase, double decrease, double min,
      double max) {
    if (!(rho >= 0.25)) {
      return Math.min(increase * lambda, max);
    }
    if (rho > 0.75) {
      return Math.max(decrease * lambda, min);
    }
    return lambda;
  }
}
