package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.curvature.Curvature;
import io.github.sgdph.param.ParameterVector;
import java.util.List;

/**
 * A DL4J model's curvature against the float64 reference backend's at the same point and batch,
 * normwise relative ({@link TrajectoryComparison#relative}); the spec-model tests' shared check.
 */
final class ReferenceAgreement {
  private ReferenceAgreement() {}

  /** {@code actual} within {@code tol} of {@code expected}, normwise relative. */
  static void close(double[] expected, double[] actual, double tol, String what) {
    double err = TrajectoryComparison.relative(actual, expected);
    assertTrue(err <= tol, what + ": relative error " + err);
  }

  /**
   * Loss, gradient and the Hessian-, Gauss-Newton- and Jacobian-vector products along {@code v}
   * ({@code rv} the same direction on the reference's layout) agree to {@code tol}.
   */
  static void assertProductsAgree(
      Curvature rc, Curvature c, ParameterVector rv, ParameterVector v, double tol) {
    assertEquals(rc.loss(), c.loss(), tol * rc.loss(), "loss");
    close(rc.gradient().toDoubleArray(), c.gradient().toDoubleArray(), tol, "gradient");
    close(rc.hvp(rv).toDoubleArray(), c.hvp(v).toDoubleArray(), tol, "Hv");
    close(rc.ggnvp(rv).toDoubleArray(), c.ggnvp(v).toDoubleArray(), tol, "Gv");
    close(rc.jvp(rv).toDoubleArray(), c.jvp(v).toDoubleArray(), tol, "Jv");
  }

  /** Every per-term gradient agrees to {@code tol}. */
  static void assertPerTermGradientsAgree(Curvature rc, Curvature c, double tol) {
    List<ParameterVector> terms = c.perTermGradients();
    List<ParameterVector> refTerms = rc.perTermGradients();
    for (int i = 0; i < terms.size(); i++) {
      close(refTerms.get(i).toDoubleArray(), terms.get(i).toDoubleArray(), tol, "term " + i);
    }
  }
}
