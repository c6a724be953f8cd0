package io.github.sgdph.spark;

import org.apache.spark.SparkException;

/**
 * Errors of the executors' tasks as the driver's caller expects them: Spark reports a task that
 * failed its last attempt as a {@link SparkException} ("Job aborted due to stage failure");
 * the SPI's callers (optimizers, the training loop) react to the backend's own exception types —
 * an {@link ArithmeticException} for non-finite batch statistics, an {@link
 * IllegalArgumentException} for a bad batch — so those are rethrown as the same type.
 */
final class Failures {
  private Failures() {}

  static RuntimeException unwrap(Exception e) {
    if (!(e instanceof SparkException)) {
      return e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
    }
    for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
      String m = "on an executor: " + t.getMessage();
      if (t instanceof ArithmeticException) {
        ArithmeticException a = new ArithmeticException(m);
        a.initCause(e);
        return a;
      }
      if (t instanceof IllegalArgumentException) {
        return new IllegalArgumentException(m, e);
      }
      if (t instanceof IllegalStateException) {
        return new IllegalStateException(m, e);
      }
      if (t instanceof UnsupportedOperationException) {
        return new UnsupportedOperationException(m, e);
      }
    }
    return new IllegalStateException("Spark job failed: " + e.getMessage(), e);
  }
}
