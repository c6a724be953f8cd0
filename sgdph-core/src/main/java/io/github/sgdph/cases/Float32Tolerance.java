package io.github.sgdph.cases;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A case's float32 tolerance, derived from the case rather than chosen: how far float32 rounding
 * can move <em>this</em> trajectory, measured on the float64 reference, times a stated factor.
 *
 * <p><b>The measurement.</b> The case is replayed {@value #DRAWS} times on a float64 backend
 * (the reference) with every number a float32 backend rounds perturbed at float32's unit
 * roundoff {@code u = 2⁻²⁴}: the initial trainable parameters, the inputs (and real-valued
 * targets) and the probe vector by a relative {@code ±u}, the parameters again after every
 * update (float32 storage), and every quantity the optimizer receives from the model — losses,
 * gradients, Hessian- and Gauss-Newton-vector products — by a relative {@code ±u·√N}, with
 * {@code N} the longest sum of the model's forward and backward passes ({@link
 * #longestReduction}): a float32 product is not the exact product at a nearby point but carries
 * rounding of its own sums, up to {@code 0.85·u·κ·√N} as the conformance kit measured it. Each
 * perturbation is {@code 1 + δ} with {@code δ} uniform, independent per entry and per call, from
 * a fixed seed. The <em>sensitivity</em> is the largest deviation ({@link TrajectoryComparison}
 * over the losses, final parameters and probe) of these replays from the unperturbed one. Unlike
 * perturbing the initial point alone, this sees what a float32 solver amplifies: SGN's
 * conjugate gradients on an ill-conditioned system moved 7-8× further in float32 than a
 * perturbed start predicts.
 *
 * <p><b>The factor.</b> {@value #FACTOR}: on every bundled case the largest ratio of a float32
 * backend's measured deviation from the float64 reference to this sensitivity was 1.71 (DL4J on
 * {@code fashion-cnn-batchnorm-sgdph.json}: 5.8e-6 against a sensitivity of 3.4e-6; DJL 0.18,
 * TensorFlow 0.47 there), then 1.58 (TensorFlow, {@code mlp-batchnorm-adam.json}) and 1.48
 * (DL4J, {@code mlp-sigmoid-mse-sgn-trust-region.json}: 2.6e-4 against 1.7e-4), measured
 * 2026-12-06 on the three adapters; 4 is also the kit's safety factor of float32 products.
 * Where a perturbed replay takes another branch of a line search or of Hessian-free's
 * backtracking, the sensitivity says so and the tolerance is wide ({@code
 * cnn-relu-maxpool-hf.json}: 7.6e-4, while the adapters deviate by at most 3.5e-7).
 *
 * @param sensitivity the largest relative deviation of the perturbed replays, &gt;= 0
 * @param field the field of the trajectory where it occurred
 * @param longestReduction {@code N}
 * @param tolerance {@code FACTOR × sensitivity}, at least {@link #FLOOR}
 */
public record Float32Tolerance(
    double sensitivity, String field, long longestReduction, double tolerance) {

  /** float32's unit roundoff, 2⁻²⁴ ≈ 6.0e-8. */
  public static final double UNIT_ROUNDOFF = 0x1p-24;

  /** The stated factor between the measured sensitivity and the tolerance. */
  public static final double FACTOR = 4;

  /** Perturbed replays per case. */
  public static final int DRAWS = 4;

  /** The smallest tolerance: float32's unit roundoff (a trajectory that nothing moves). */
  public static final double FLOOR = UNIT_ROUNDOFF;

  /**
   * Validates the components.
   *
   * @param sensitivity the largest relative deviation of the perturbed replays, &gt;= 0
   * @param field the field of the trajectory where it occurred
   * @param longestReduction {@code N}, &gt;= 1
   * @param tolerance the derived tolerance, &gt; 0
   * @throws IllegalArgumentException naming a component out of range
   */
  public Float32Tolerance {
    Objects.requireNonNull(field, "field");
    if (!(sensitivity >= 0)) {
      throw new IllegalArgumentException("sensitivity: must be >= 0 but was " + sensitivity);
    }
    if (longestReduction < 1) {
      throw new IllegalArgumentException(
          "longestReduction: must be >= 1 but was " + longestReduction);
    }
    if (!(tolerance > 0)) {
      throw new IllegalArgumentException("tolerance: must be > 0 but was " + tolerance);
    }
  }

  /**
   * Measures the case's sensitivity to float32 rounding on a float64 backend and derives its
   * tolerance.
   *
   * @param c the case
   * @param float64 the backend to measure on, normally the reference; it must build float64
   *     models
   * @return the sensitivity and {@code max(FLOOR, FACTOR × sensitivity)}
   * @throws IllegalArgumentException if the backend cannot build the case in float64
   */
  public static Float32Tolerance derive(CaseFile c, SpecBackend float64) {
    Objects.requireNonNull(c, "case");
    Objects.requireNonNull(float64, "float64");
    Trajectory base = CaseReplay.replay(c, float64, DType.FLOAT64, null);
    int batch = 1;
    for (ArrayBatch b : c.batches()) {
      batch = Math.max(batch, b.size());
    }
    long n = longestReduction(c.model(), batch);
    double worst = 0;
    String field = "(nothing moved)";
    for (int draw = 1; draw <= DRAWS; draw++) {
      SplittableRandom r = new SplittableRandom(0x5eed_f32L * draw);
      CaseFile moved = perturbed(c, r);
      SpecBackend rounding = new RoundoffBackend(float64, r, UNIT_ROUNDOFF,
          UNIT_ROUNDOFF * Math.sqrt(n));
      TrajectoryComparison.Deviation d =
          TrajectoryComparison.compare(CaseReplay.replay(moved, rounding, DType.FLOAT64, null),
              base).worst();
      if (!(d.relative() <= worst)) {
        worst = d.relative();
        field = d.field();
      }
    }
    return new Float32Tolerance(worst, field, n, Math.max(FLOOR, FACTOR * worst));
  }

  /** The case with its trainable parameters, inputs, real targets and probe vector at ±u. */
  private static CaseFile perturbed(CaseFile c, SplittableRandom r) {
    List<NamedArray> p = new ArrayList<>();
    for (NamedArray e : c.parameters()) {
      double[] v = e.values();
      if (e.trainable()) {
        RoundoffBackend.perturb(v, r, UNIT_ROUNDOFF);
      }
      p.add(new NamedArray(e.name(), e.shape(), v, e.trainable()));
    }
    boolean labels = c.model().loss() == LossKind.SOFTMAX_CROSS_ENTROPY;
    List<ArrayBatch> batches = new ArrayList<>();
    for (ArrayBatch b : c.batches()) {
      double[] x = b.x();
      RoundoffBackend.perturb(x, r, UNIT_ROUNDOFF);
      double[] y = b.y();
      if (!labels) {
        RoundoffBackend.perturb(y, r, UNIT_ROUNDOFF);
      }
      batches.add(new ArrayBatch(x, b.xShape(), y, b.yShape()));
    }
    double[] probe = c.probeVector();
    if (probe != null) {
      RoundoffBackend.perturb(probe, r, UNIT_ROUNDOFF);
    }
    return new CaseFile(c.dtype(), c.model(), p, batches, c.optimizer(), c.steps(), probe, null);
  }

  /**
   * The number of terms of the longest sum in the forward pass, the backward pass or a product
   * of a model on a batch: a dense layer's {@code in} (forward) and {@code out} (backward)
   * and the batch (its weight gradient); a convolution's {@code in·kh·kw}, {@code out·kh·kw} and
   * {@code batch·H_out·W_out}; a train-mode batch norm's {@code batch·H·W} (statistics); an
   * LSTM's {@code in + H} (a gate's pre-activation), {@code 4H} (a hidden state's gradient) and
   * {@code batch·T} (its weights' gradients, summed over samples and time steps); an
   * average pool's window (a global one's {@code H·W}); an add's inputs; the loss's mean over
   * {@code batch} (times the outputs for MSE and binary cross-entropy) and softmax's normalising
   * sum over the outputs.
   *
   * @param spec the model
   * @param batchSize the number of samples in the batch, &gt;= 1
   * @return the longest reduction, at least 1
   */
  public static long longestReduction(ModelSpec spec, int batchSize) {
    long n = batchSize;
    for (int i = 0; i < spec.layers().size(); i++) {
      LayerSpec l = spec.layers().get(i);
      int[] in = spec.shapeBefore(i);
      int[] out = spec.outputShapeOf(i);
      long spatialIn = in.length == 3 ? (long) in[1] * in[2] : 1;
      long spatialOut = out.length == 3 ? (long) out[1] * out[2] : 1;
      if (l instanceof LayerSpec.Dense d) {
        n = Math.max(n, Math.max(d.in(), d.out()));
      } else if (l instanceof LayerSpec.Conv2d c) {
        long k = (long) c.kernelH() * c.kernelW();
        n = Math.max(n, Math.max(c.in() * k, c.out() * k));
        n = Math.max(n, batchSize * spatialOut);
      } else if (l instanceof LayerSpec.BatchNorm b && b.mode() == LayerSpec.Mode.TRAIN) {
        n = Math.max(n, batchSize * spatialIn);
      } else if (l instanceof LayerSpec.Pool2d p && p.kind() == LayerSpec.PoolKind.AVG) {
        n = Math.max(n, (long) p.kernelH() * p.kernelW());
      } else if (l instanceof LayerSpec.GlobalAvgPool) {
        n = Math.max(n, spatialIn);
      } else if (l instanceof LayerSpec.Add) {
        n = Math.max(n, spec.inputsOf(i).length);
      } else if (l instanceof LayerSpec.Lstm r) {
        long steps = in[0];
        n = Math.max(n, Math.max(r.in() + r.hidden(), 4L * r.hidden()));
        n = Math.max(n, batchSize * steps);
      }
    }
    int k = spec.outputShape()[0];
    n = Math.max(n, spec.loss() == LossKind.SOFTMAX_CROSS_ENTROPY ? k : (long) batchSize * k);
    return n;
  }

  /**
   * The tolerance of a comparison between runs in two dtypes: the sum of each side's distance
   * from exact arithmetic, {@code float64} for a float64 run and this tolerance for a float32
   * one.
   *
   * @param a the dtype of one run
   * @param b the dtype of the other (null: as {@code a})
   * @param float64 the tolerance of a float64 run
   * @return the tolerance of the pair
   */
  public double forPair(DType a, DType b, double float64) {
    DType bb = b == null ? a : b;
    return (a == DType.FLOAT32 ? tolerance : float64) + (bb == DType.FLOAT32 ? tolerance : float64);
  }
}
