package io.github.sgdph.conformance;

import io.github.sgdph.curvature.Capabilities;
import io.github.sgdph.cases.Float32Tolerance;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.tensor.DType;

/**
 * The tolerances of the conformance kit, chosen from a backend's declared {@link Capabilities}.
 *
 * <ul>
 *   <li>Against the float64 reference backend: 1e-9 relative for exact float64 products (a few
 *       hundred ulps of accumulated rounding), 1e-4 for float32 (float32's 6e-8 unit roundoff
 *       amplified by sums over thousands of terms), the declared tolerance for approximate
 *       products.
 *   <li>Against central finite differences, always taken in float64 with step 1e-5: 1e-7
 *       relative (the truncation error of a central difference with step 1e-5 is ~1e-10 and its
 *       rounding error ~1e-11, relative). A float32 backend's products are compared with float64
 *       finite differences at its own float32 parameters and inputs cast up, and then the
 *       tolerance is its rounding, {@link #float32Product}, which depends on the case — float32
 *       finite differences (step 1e-2, errors of 1e-3 to 1e-2, a tolerance of 5e-2) checked
 *       almost nothing and crossed ReLU and max-pool kinks.
 * </ul>
 *
 * @param reference relative tolerance of a product against the float64 reference backend
 * @param finiteDifference relative tolerance of a gradient or Hessian-vector product against
 *     central finite differences in float64 (the finite differences' own error; a float32
 *     backend adds {@link #float32Product})
 * @param fdStep the step {@code h} of those central differences, along a unit-norm direction
 * @param symmetry relative tolerance of a backend's consistency with itself: symmetry
 *     ({@code uᵀHv = vᵀHu}), linearity, restricted blocks, and evaluations that must agree
 */
public record Tolerances(double reference, double finiteDifference, double fdStep, double symmetry) {

  /** float32's unit roundoff, 2⁻²⁴ ≈ 6.0e-8. */
  public static final double FLOAT32_UNIT_ROUNDOFF = 0x1p-24;

  /**
   * The safety factor of {@link #float32Product}: the largest ratio of a float32 product's
   * measured error to {@code u·max(1, κ)·√N} was 0.85 (DJL, DL4J and TensorFlow; gradient
   * along three directions, Hessian-, Gauss-Newton- and Jacobian-vector products; every bundled
   * case; the largest on DL4J's gradient of the Fashion-MNIST CNN, whose batch-norm sums run
   * over 3136 values), so 4 leaves a margin of almost 5.
   */
  public static final double FLOAT32_SAFETY = 4;

  /**
   * The tolerances for a backend with these capabilities.
   *
   * @param c the backend's declared capabilities (dtype and whether its products are exact)
   * @return the float64 or float32 tolerances above; for approximate products the declared
   *     relative tolerance replaces the reference tolerance and bounds the finite-difference one
   *     from below
   */
  public static Tolerances of(Capabilities c) {
    boolean f64 = c.dtype() == DType.FLOAT64;
    double ref = c.exactProducts() ? (f64 ? 1e-9 : 1e-4) : c.declaredRelativeTolerance();
    double fd = 1e-7;
    if (!c.exactProducts()) {
      fd = Math.max(fd, c.declaredRelativeTolerance());
    }
    return new Tolerances(ref, fd, 1e-5, f64 ? 1e-10 : 1e-4);
  }

  /**
   * The normwise relative tolerance of a float32 product against the same product in float64 at
   * the same (float32) parameters, inputs and direction: {@code 4 · u · max(1, κ) · √N} with
   * {@code u = 2⁻²⁴}.
   *
   * <p>Why: a backward-stable float32 computation returns the exact result for inputs perturbed
   * by about {@code u} relative per rounding, and a sum of {@code N} terms accumulates such
   * perturbations like a random walk ({@code √N·u}; pairwise or blocked sums do better, a
   * naive float32 sum over a batch-norm channel of 3136 values does about that). The case's
   * conditioning {@code κ} turns an input perturbation into an output error: it is measured,
   * not assumed ({@code CurvatureConformanceKit} perturbs every parameter and input of the
   * float64 reference by a random relative {@code ±u} and takes the largest relative change of
   * the product over three draws, divided by {@code u}); it is 0.17 to 3.3 on the bundled
   * cases, and below 1 (a well-conditioned product) it is taken as 1. {@link #FLOAT32_SAFETY} covers the
   * roundings inside the computation that a perturbation of its inputs does not represent. On
   * the bundled cases this gives 9.5e-7 to 2.3e-5 — against measured errors up to 3.9e-6 —
   * instead of the fixed 1e-4 of {@link #reference()}, and 5e-2 (0.5 for the gradient) of the
   * float32 finite differences it replaces.
   *
   * @param conditioning the measured relative condition number {@code κ} of the product, &gt;= 0
   * @param longestReduction the longest sum the computation makes, {@link #longestReduction}
   * @return the tolerance
   * @throws IllegalArgumentException if {@code conditioning} is negative or not finite, or
   *     {@code longestReduction < 1}
   */
  public static double float32Product(double conditioning, long longestReduction) {
    if (!(conditioning >= 0) || Double.isInfinite(conditioning)) {
      throw new IllegalArgumentException("conditioning: must be finite and >= 0 but was "
          + conditioning);
    }
    if (longestReduction < 1) {
      throw new IllegalArgumentException("longestReduction: must be >= 1 but was "
          + longestReduction);
    }
    return FLOAT32_SAFETY * FLOAT32_UNIT_ROUNDOFF * Math.max(1, conditioning)
        * Math.sqrt(longestReduction);
  }

  /**
   * The number of terms of the longest sum in the forward pass, the backward pass or a product
   * of a model on a batch, {@link Float32Tolerance#longestReduction}.
   *
   * @param spec the model
   * @param batchSize the number of samples in the batch, &gt;= 1
   * @return the longest reduction, at least 1
   */
  public static long longestReduction(ModelSpec spec, int batchSize) {
    return Float32Tolerance.longestReduction(spec, batchSize);
  }
}
