package io.github.sgdph.cases;

import io.github.sgdph.model.NamedArray;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Compares a trajectory with an expected one, field by field. Each field's deviation is the
 * normwise relative error {@code max_i |a_i − e_i| / max_i |e_i|} (the absolute error when the
 * expected field is all zeros), so that a field of tiny entries next to large ones does not
 * dominate. A field whose length differs, or that is present on one side only, deviates by
 * {@code +∞}.
 */
public final class TrajectoryComparison {

  /**
   * The deviation of one field, e.g. {@code loss}, {@code parameters[0] (0.weight)}, {@code
   * probe.hvp}.
   *
   * @param field the field's name, as in the examples above
   * @param relative the normwise relative error of the field; {@code +∞} for a length mismatch, a
   *     missing field or a NaN
   */
  public record Deviation(String field, double relative) {}

  private final List<Deviation> deviations;
  /** Per step t: the loss's deviation |a_t − e_t| / max_i |e_i| (+∞ for a mismatch). */
  private final double[] lossByStep;
  /** The point of the final parameters: the number of steps. */
  private final int steps;

  private TrajectoryComparison(List<Deviation> deviations, double[] lossByStep, int steps) {
    this.deviations = Collections.unmodifiableList(deviations);
    this.lossByStep = lossByStep;
    this.steps = steps;
  }

  /**
   * Compares {@code actual} with {@code expected} on every field {@code expected} has.
   *
   * @param actual the trajectory to check, e.g. from {@link CaseReplay}
   * @param expected the reference trajectory, e.g. a case's {@code expected} member
   * @return the deviations of the loss, of every parameter entry of {@code expected} and of the
   *     probe fields if {@code expected} has a probe
   */
  public static TrajectoryComparison compare(Trajectory actual, Trajectory expected) {
    List<Deviation> d = new ArrayList<>();
    if (expected.loss().length > 0 || actual.loss().length == 0) {
      d.add(new Deviation("loss", relative(actual.loss(), expected.loss())));
    }
    List<NamedArray> ep = expected.parameters();
    List<NamedArray> ap = actual.parameters();
    for (int i = 0; i < ep.size(); i++) {
      NamedArray e = ep.get(i);
      String f = "parameters[" + i + "] (" + e.name() + ")";
      NamedArray a = i < ap.size() && ap.get(i).name().equals(e.name()) ? ap.get(i) : null;
      d.add(
          new Deviation(
              f, a == null ? Double.POSITIVE_INFINITY : relative(a.valuesView(), e.valuesView())));
    }
    if (expected.probe() != null) {
      ProbeResult e = expected.probe();
      ProbeResult a = actual.probe();
      if (a == null) {
        d.add(new Deviation("probe", Double.POSITIVE_INFINITY));
      } else {
        d.add(
            new Deviation("probe.loss", relative(new double[] {a.loss()}, new double[] {e.loss()})));
        d.add(new Deviation("probe.gradient", relative(a.gradient(), e.gradient())));
        d.add(new Deviation("probe.hvp", relative(a.hvp(), e.hvp())));
        d.add(new Deviation("probe.ggnvp", relative(a.ggnvp(), e.ggnvp())));
      }
    }
    return new TrajectoryComparison(d, lossByStep(actual.loss(), expected.loss()),
        expected.loss().length);
  }

  private static double[] lossByStep(double[] a, double[] e) {
    double[] r = new double[e.length];
    if (a.length != e.length) {
      java.util.Arrays.fill(r, Double.POSITIVE_INFINITY);
      return r;
    }
    double den = 0;
    for (double x : e) {
      den = Math.max(den, Math.abs(x));
    }
    for (int t = 0; t < e.length; t++) {
      double diff = Math.abs(a[t] - e[t]);
      r[t] = Double.isNaN(diff) ? Double.POSITIVE_INFINITY : den == 0 ? diff : diff / den;
    }
    return r;
  }

  /**
   * The first point of the trajectory at which it deviates by more than {@code tolerance},
   * counted in optimizer steps made before it: 0 for the probe (at the initial parameters) and
   * the loss of step 0, {@code t} for the loss of step {@code t}, the number of steps for the
   * final parameters. The loss of step {@code t} counts as deviating when {@code |a_t − e_t| /
   * max_i |e_i| > tolerance}, the share of step {@code t} in the field's normwise deviation, so
   * that this is empty exactly when {@link #within(double)} holds.
   *
   * @param tolerance the largest acceptable normwise relative error
   * @return the first step beyond the tolerance, or empty if every field is within it
   */
  public java.util.OptionalInt firstStepAbove(double tolerance) {
    if (within(tolerance)) {
      return java.util.OptionalInt.empty();
    }
    for (Deviation d : deviations) {
      if (d.field().startsWith("probe") && !(d.relative() <= tolerance)) {
        return java.util.OptionalInt.of(0);
      }
    }
    for (int t = 0; t < lossByStep.length; t++) {
      if (!(lossByStep[t] <= tolerance)) {
        return java.util.OptionalInt.of(t);
      }
    }
    for (Deviation d : deviations) {
      if (d.field().equals("loss") && !(d.relative() <= tolerance)) {
        return java.util.OptionalInt.of(0); // a loss of another length
      }
    }
    return java.util.OptionalInt.of(steps);
  }

  /**
   * {@code max_i |a_i − e_i| / max_i |e_i|}; +∞ for a length mismatch or a NaN.
   *
   * @param a the actual values
   * @param e the expected values
   * @return the normwise relative error (absolute if {@code e} is all zeros), at least 0
   */
  public static double relative(double[] a, double[] e) {
    if (a.length != e.length) {
      return Double.POSITIVE_INFINITY;
    }
    double num = 0;
    double den = 0;
    for (int i = 0; i < a.length; i++) {
      double diff = Math.abs(a[i] - e[i]);
      if (Double.isNaN(diff)) {
        return Double.POSITIVE_INFINITY;
      }
      num = Math.max(num, diff);
      den = Math.max(den, Math.abs(e[i]));
    }
    return den == 0 ? num : num / den;
  }

  /**
   * Every field's deviation, in order.
   *
   * @return an unmodifiable list: the loss, the parameter entries in order, then the probe fields
   */
  public List<Deviation> deviations() {
    return deviations;
  }

  /**
   * The largest deviation (0 if nothing was compared).
   *
   * @return the deviation with the largest relative error (NaN counts as largest)
   */
  public Deviation worst() {
    if (deviations.isEmpty()) {
      return new Deviation("(nothing compared)", 0);
    }
    Deviation w = deviations.get(0);
    for (Deviation d : deviations) {
      if (d.relative() > w.relative() || Double.isNaN(d.relative())) {
        w = d;
      }
    }
    return w;
  }

  /**
   * Whether every deviation is at most {@code tolerance}.
   *
   * @param tolerance the largest acceptable normwise relative error
   * @return {@code true} if the worst deviation is at most {@code tolerance}
   */
  public boolean within(double tolerance) {
    for (Deviation d : deviations) {
      if (!(d.relative() <= tolerance)) {
        return false;
      }
    }
    return true;
  }

  /**
   * The fields as a map (for tests and reports).
   *
   * @return a new map from field name to relative deviation, in order
   */
  public Map<String, Double> asMap() {
    Map<String, Double> m = new java.util.LinkedHashMap<>();
    for (Deviation d : deviations) {
      m.put(d.field(), d.relative());
    }
    return m;
  }
}
