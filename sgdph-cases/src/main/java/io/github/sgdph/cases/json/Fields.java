package io.github.sgdph.cases.json;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Typed, path-aware access to the members of one JSON object of Jackson's tree model: every
 * failure is a {@link CaseFormatException} whose message starts with the member's JSON path.
 * Creating one rejects member names outside the allowed set. A JSON {@code null} is a value
 * (Jackson's {@code NullNode}), not an absent member.
 */
final class Fields {
  private static final BigInteger INT_MIN = BigInteger.valueOf(Integer.MIN_VALUE);
  private static final BigInteger INT_MAX = BigInteger.valueOf(Integer.MAX_VALUE);

  private final JsonNode object;
  private final String path;

  private Fields(JsonNode object, String path) {
    this.object = object;
    this.path = path;
  }

  /**
   * @param v a parsed JSON value that must be an object
   * @param path its JSON path ({@code ""} for the document)
   * @param what what the object is, for messages ("a dense layer")
   * @param allowed the allowed member names, in the order the messages list them
   * @throws CaseFormatException if {@code v} is not an object or has a member outside
   *     {@code allowed}
   */
  static Fields of(JsonNode v, String path, String what, List<String> allowed) {
    asObject(v, path, what);
    for (Iterator<String> it = v.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!allowed.contains(k)) {
        throw CaseFormatException.at(
            child(path, k), "unknown field of " + what + "; the fields are " + allowed);
      }
    }
    return new Fields(v, path);
  }

  /** The object, or an error naming {@code path} if {@code v} is not an object. */
  static JsonNode asObject(JsonNode v, String path, String what) {
    if (v == null || !v.isObject()) {
      throw CaseFormatException.at(
          path, "expected " + what + " (a JSON object) but was " + JsonText.describe(v));
    }
    return v;
  }

  /** The path of member {@code key} of the object at {@code path}. */
  static String child(String path, String key) {
    return path.isEmpty()
        ? JsonText.memberSegment(key, true)
        : path + JsonText.memberSegment(key, false);
  }

  /** This object's path. */
  String path() {
    return path;
  }

  /** The path of member {@code key}. */
  String pathOf(String key) {
    return child(path, key);
  }

  boolean has(String key) {
    return object.has(key);
  }

  /** The value of a required member (JSON null is a NullNode). */
  JsonNode required(String key) {
    JsonNode v = object.get(key);
    if (v == null) {
      throw CaseFormatException.at(pathOf(key), "missing required field");
    }
    return v;
  }

  /** A required string. */
  String string(String key) {
    return asString(required(key), pathOf(key));
  }

  /** An optional string. */
  String string(String key, String dflt) {
    return has(key) ? string(key) : dflt;
  }

  static String asString(JsonNode v, String path) {
    if (!v.isTextual()) {
      throw CaseFormatException.at(path, "expected a string but was " + JsonText.describe(v));
    }
    return v.textValue();
  }

  /** A required boolean. */
  boolean bool(String key) {
    JsonNode v = required(key);
    if (!v.isBoolean()) {
      throw CaseFormatException.at(
          pathOf(key), "expected true or false but was " + JsonText.describe(v));
    }
    return v.booleanValue();
  }

  /** An optional boolean. */
  boolean bool(String key, boolean dflt) {
    return has(key) ? bool(key) : dflt;
  }

  /** A required number. */
  double number(String key) {
    return asNumber(required(key), pathOf(key));
  }

  /** An optional number. */
  double number(String key, double dflt) {
    return has(key) ? number(key) : dflt;
  }

  static double asNumber(JsonNode v, String path) {
    if (!v.isNumber()) {
      throw CaseFormatException.at(path, "expected a number but was " + JsonText.describe(v));
    }
    return v.doubleValue();
  }

  /** A required integer: an integer literal (no fraction or exponent) in the range of int. */
  int integer(String key) {
    return asInt(required(key), pathOf(key));
  }

  static int asInt(JsonNode v, String path) {
    if (!v.isNumber()) {
      throw CaseFormatException.at(path, "expected an integer but was " + JsonText.describe(v));
    }
    if (!v.isIntegralNumber()) {
      throw CaseFormatException.at(
          path, "expected an integer (no fraction or exponent) but was " + v.doubleValue());
    }
    BigInteger b = v.bigIntegerValue();
    if (b.compareTo(INT_MIN) < 0 || b.compareTo(INT_MAX) > 0) {
      throw CaseFormatException.at(path, "the integer " + b + " is out of range");
    }
    return b.intValue();
  }

  /** A required array of numbers (possibly empty). */
  double[] numbers(String key) {
    return asNumbers(required(key), pathOf(key));
  }

  static double[] asNumbers(JsonNode v, String path) {
    if (!v.isArray()) {
      throw CaseFormatException.at(
          path, "expected an array of numbers but was " + JsonText.describe(v));
    }
    double[] out = new double[v.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = asNumber(v.get(i), path + "[" + i + "]");
    }
    return out;
  }

  /** A required array of integers (possibly empty). */
  int[] integers(String key) {
    return asIntegers(required(key), pathOf(key));
  }

  static int[] asIntegers(JsonNode v, String path) {
    if (!v.isArray()) {
      throw CaseFormatException.at(
          path, "expected an array of integers but was " + JsonText.describe(v));
    }
    int[] out = new int[v.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = asInt(v.get(i), path + "[" + i + "]");
    }
    return out;
  }

  /** A required array of any values. */
  List<JsonNode> array(String key) {
    return asArray(required(key), pathOf(key));
  }

  /** The elements of an array as a list. */
  static List<JsonNode> asArray(JsonNode v, String path) {
    if (!v.isArray()) {
      throw CaseFormatException.at(path, "expected an array but was " + JsonText.describe(v));
    }
    List<JsonNode> out = new ArrayList<>(v.size());
    v.forEach(out::add);
    return out;
  }

  /** A required object member with the allowed member names. */
  Fields object(String key, String what, List<String> allowed) {
    return of(required(key), pathOf(key), what, allowed);
  }
}
