package io.github.sgdph.cli;

import io.github.sgdph.model.BackendDescription;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.tensor.DType;
import java.util.List;
import java.util.ServiceLoader;
import java.util.TreeSet;

/** Finding a backend and making sure its native library loads, with a one-line reason if not. */
final class Backends {
  /** The backends sgdph ships, in the order reports list them. */
  static final List<String> KNOWN = List.of("reference", "djl", "tensorflow", "dl4j");

  private Backends() {}

  /** A backend that is usable here, or the reason it is not. */
  record Probe(String name, SpecBackend backend, BackendDescription description, String reason) {
    boolean available() {
      return reason == null;
    }
  }

  /**
   * Finds {@code name} and describes it, which loads its native library.
   *
   * @param name a backend name
   * @return the backend and its description, or the one-line reason it is unavailable
   */
  static Probe probe(String name) {
    SpecBackend b = null;
    for (SpecBackend s : ServiceLoader.load(SpecBackend.class)) {
      if (s.name().equals(name)) {
        b = s;
        break;
      }
    }
    if (b == null) {
      return new Probe(name, null, null, KNOWN.contains(name)
          ? "not on the classpath (sgdph.jar has the reference backend only; ./sgdph has every"
              + " adapter)"
          : "unknown backend; known: " + String.join(", ", KNOWN));
    }
    try {
      return new Probe(name, b, b.describe(), null);
    } catch (RuntimeException | LinkageError e) {
      String m = e.getMessage() == null ? e.toString() : e.getMessage();
      return new Probe(name, b, null, "native library does not load: " + Main.oneLine(m));
    }
  }

  /**
   * The backend named by {@code option}, with its native library loaded.
   *
   * @param option the option's name for messages, e.g. {@code --backend}
   * @param name the backend's name
   * @return the backend
   * @throws IllegalArgumentException naming the option and the backend if it is unknown or its
   *     native library does not load
   */
  static SpecBackend open(String option, String name) {
    Probe p = probe(name);
    if (!p.available()) {
      if (p.backend() == null && !KNOWN.contains(name)) {
        TreeSet<String> here = new TreeSet<>();
        ServiceLoader.load(SpecBackend.class).forEach(s -> here.add(s.name()));
        throw new IllegalArgumentException(option + ": unknown backend '" + name
            + "'; available here: " + here);
      }
      throw new IllegalArgumentException(option + ": backend '" + name + "' is unavailable: "
          + p.reason());
    }
    return p.backend();
  }

  /**
   * Parses a dtype option.
   *
   * @param option the option's name for messages
   * @param value {@code float32} or {@code float64}
   * @return the dtype
   * @throws IllegalArgumentException naming the option
   */
  static DType dtype(String option, String value) {
    try {
      return DType.parse(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(option + ": expected float32 or float64 but was '"
          + value + "'", e);
    }
  }

  /**
   * Checks that a backend computes in a dtype.
   *
   * @param option the option's name for messages
   * @param b the backend
   * @param d the dtype
   * @throws IllegalArgumentException naming the option, the backend and its dtypes
   */
  static void requireDtype(String option, SpecBackend b, DType d) {
    if (!b.supportedDTypes().contains(d)) {
      throw new IllegalArgumentException(option + ": backend " + b.name() + " computes in "
          + names(b) + ", not " + d.jsonName());
    }
  }

  static String names(SpecBackend b) {
    return String.join(", ", b.supportedDTypes().stream().map(DType::jsonName).sorted().toList());
  }
}
