package io.github.sgdph.optim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * An optimizer named with its hyper-parameters, as a case file's {@code optimizer} member
 * gives it: {@code {"name": "sgd", "lr": 0.1, "momentum": 0.9}}. Values are JSON values:
 * {@link Number}, {@link Boolean}, {@link String} or {@link List}.
 *
 * <p>The typed getters name the offending field as {@code optimizer.<key>} in their
 * exceptions.
 *
 * @param name the optimizer's name, e.g. {@code sgd} (see {@link Optimizers#names()})
 * @param params the hyper-parameters by name, as JSON values, in the order given
 */
public record OptimizerSpec(String name, Map<String, Object> params) {

  /**
   * Validates the name and copies the parameters into an unmodifiable map (keeping their order).
   *
   * @param name the optimizer's name, e.g. {@code sgd}
   * @param params the hyper-parameters by name, as JSON values
   * @throws NullPointerException if {@code name} or {@code params} is null
   */
  public OptimizerSpec {
    Objects.requireNonNull(name, "optimizer.name");
    params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
  }

  /**
   * A spec with no hyper-parameters (all defaults).
   *
   * @param name the optimizer's name, e.g. {@code sgd}
   * @return a spec with an empty parameter map
   */
  public static OptimizerSpec of(String name) {
    return new OptimizerSpec(name, Map.of());
  }

  /**
   * Adds one hyper-parameter written {@code KEY=VALUE}, as command lines give them ({@code sgdph
   * train --hp}, {@code SparkTrain --hp}): {@code true}/{@code false} as a boolean, a number
   * without {@code .} or {@code e} (below 10<sup>15</sup>) as a long, another number as a double,
   * anything else as the string.
   *
   * @param params the map to add to
   * @param keyValue {@code KEY=VALUE}; key and value are stripped
   * @throws IllegalArgumentException naming {@code --hp} without a {@code =} after a non-empty
   *     key, or for a key already in {@code params}
   */
  public static void putParameter(Map<String, Object> params, String keyValue) {
    int eq = keyValue.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("--hp: expected KEY=VALUE but was '" + keyValue + "'");
    }
    String k = keyValue.substring(0, eq).strip();
    String v = keyValue.substring(eq + 1).strip();
    Object value;
    if (v.equals("true") || v.equals("false")) {
      value = Boolean.parseBoolean(v);
    } else {
      try {
        double d = Double.parseDouble(v);
        value = d == Math.rint(d) && !v.contains(".") && !v.contains("e") && Math.abs(d) < 1e15
            ? (Object) (long) d : (Object) d;
      } catch (NumberFormatException e) {
        value = v;
      }
    }
    if (params.put(k, value) != null) {
      throw new IllegalArgumentException("--hp: " + k + " given twice");
    }
  }

  /**
   * Checks that every given hyper-parameter is one the optimizer knows.
   *
   * @param known the names the optimizer accepts
   * @throws IllegalArgumentException naming the first key that is not in {@code known}
   */
  public void requireKnown(Set<String> known) {
    for (String k : params.keySet()) {
      if (!known.contains(k)) {
        throw new IllegalArgumentException(
            "optimizer." + k + ": unknown hyper-parameter for '" + name + "'; known: "
                + new TreeSet<>(known));
      }
    }
  }

  /**
   * Whether the key is given.
   *
   * @param key the hyper-parameter's name, e.g. {@code lr}
   * @return {@code true} if the spec has a value for {@code key}
   */
  public boolean has(String key) {
    return params.containsKey(key);
  }

  /**
   * A number, or {@code dflt} if absent.
   *
   * @param key the hyper-parameter's name, e.g. {@code lr}
   * @param dflt the value returned when the key is absent
   * @return the value as a {@code double}, or {@code dflt}
   * @throws IllegalArgumentException naming {@code optimizer.<key>} if the value is not a number
   */
  public double getDouble(String key, double dflt) {
    Object v = params.get(key);
    if (v == null) {
      return dflt;
    }
    if (!(v instanceof Number n)) {
      throw new IllegalArgumentException("optimizer." + key + ": expected a number but was " + v);
    }
    return n.doubleValue();
  }

  /**
   * A whole number, or {@code dflt} if absent.
   *
   * @param key the hyper-parameter's name, e.g. {@code max_cg_iters}
   * @param dflt the value returned when the key is absent
   * @return the value as an {@code int}, or {@code dflt}
   * @throws IllegalArgumentException naming {@code optimizer.<key>} if the value is not a whole
   *     number in the {@code int} range
   */
  public int getInt(String key, int dflt) {
    Object v = params.get(key);
    if (v == null) {
      return dflt;
    }
    if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())
        || Math.abs(n.doubleValue()) > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "optimizer." + key + ": expected a whole number but was " + v);
    }
    return n.intValue();
  }

  /**
   * A boolean, or {@code dflt} if absent.
   *
   * @param key the hyper-parameter's name, e.g. {@code nesterov}
   * @param dflt the value returned when the key is absent
   * @return the value, or {@code dflt}
   * @throws IllegalArgumentException naming {@code optimizer.<key>} if the value is not a boolean
   */
  public boolean getBoolean(String key, boolean dflt) {
    Object v = params.get(key);
    if (v == null) {
      return dflt;
    }
    if (!(v instanceof Boolean b)) {
      throw new IllegalArgumentException(
          "optimizer." + key + ": expected true or false but was " + v);
    }
    return b;
  }

  /**
   * A string, or {@code dflt} if absent.
   *
   * @param key the hyper-parameter's name, e.g. {@code rho_decay}
   * @param dflt the value returned when the key is absent
   * @return the value, or {@code dflt}
   * @throws IllegalArgumentException naming {@code optimizer.<key>} if the value is not a string
   */
  public String getString(String key, String dflt) {
    Object v = params.get(key);
    if (v == null) {
      return dflt;
    }
    if (!(v instanceof String s)) {
      throw new IllegalArgumentException("optimizer." + key + ": expected a string but was " + v);
    }
    return s;
  }

  /**
   * A raw value (a {@link List} for arrays), or null if absent.
   *
   * @param key the hyper-parameter's name, e.g. {@code lr}
   * @return the value as given ({@link Number}, {@link Boolean}, {@link String} or {@link List}),
   *     or null
   */
  public Object get(String key) {
    return params.get(key);
  }

  /**
   * Runs {@code setter} and re-labels its {@link IllegalArgumentException} with
   * {@code optimizer.<key>} when the message does not already name the key.
   *
   * @param key the hyper-parameter the setter validates, e.g. {@code lr}; a message that
   *     already names a hyper-parameter ({@code "lr: ..."}, as {@link Check}'s do) only gets the
   *     {@code optimizer.} prefix, any other message is labelled {@code optimizer.<key>: }
   * @param setter the action that validates the value, typically a builder call
   * @throws IllegalArgumentException the setter's exception, its message prefixed as above unless
   *     it already starts with {@code optimizer.}
   */
  public static void labelled(String key, Runnable setter) {
    try {
      setter.run();
    } catch (IllegalArgumentException e) {
      String m = e.getMessage() == null ? "" : e.getMessage();
      if (m.startsWith("optimizer.")) {
        throw e;
      }
      // a message naming a hyper-parameter ("lr: must be ...") only gets the prefix; any other
      // message is labelled with the key being set
      String prefix = m.matches("(?s)^[a-z][a-z0-9_]*: .*") ? "optimizer." : "optimizer." + key + ": ";
      throw new IllegalArgumentException(prefix + m, e);
    }
  }
}
