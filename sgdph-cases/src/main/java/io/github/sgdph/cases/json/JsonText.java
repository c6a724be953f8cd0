package io.github.sgdph.cases.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.io.PushbackReader;
import java.io.Reader;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Jackson, configured for case and trajectory files: a strict RFC 8259 reader whose errors are
 * {@link CaseFormatException}s naming the JSON path, and the writer of the files' layout.
 *
 * <p>Reading: Jackson's defaults already refuse comments, trailing commas, single quotes,
 * unquoted names, leading zeros, {@code +} signs, bare {@code .5}, {@code NaN},
 * {@code Infinity} and unescaped control characters; on top of them duplicate member names are
 * refused ({@link StreamReadFeature#STRICT_DUPLICATE_DETECTION}), nesting is limited to
 * {@value #MAX_DEPTH} levels and a document to {@value #MAX_DOCUMENT_CHARS} characters
 * ({@link StreamReadConstraints}), nothing but whitespace may follow the document, and after
 * parsing every string must be valid UTF-16 (no unpaired surrogate, which UTF-8 cannot encode)
 * and every number finite (a literal beyond the range of a double is an error, underflow to zero
 * is not). A leading byte-order mark is skipped (RFC 8259 §8.1 allows ignoring it). Syntax
 * errors carry the line and column (1-based, columns in UTF-16 code units) and the path where
 * the parser was.
 *
 * <p>Writing ({@link #write(JsonNode)}): an object or array that holds only scalars and arrays
 * of scalars goes on one line (a layer, a parameter entry with all its values, an optimizer);
 * anything deeper is indented by two spaces, one member or element per line. Doubles are
 * written with {@link Double#toString(double)} (Jackson's default, not its fast writer), whose
 * digits always read back as the same double, so every finite double round-trips exactly,
 * {@code -0.0} and subnormals included. NaN and the infinities have no JSON representation:
 * writing one throws a {@link CaseFormatException} naming the field, as does a string with an
 * unpaired surrogate.
 */
final class JsonText {
  /** The deepest nesting of arrays and objects accepted. */
  static final int MAX_DEPTH = 256;

  /** The longest document accepted, in characters (1 GiB). */
  static final long MAX_DOCUMENT_CHARS = 1L << 30;

  private static final JsonFactory FACTORY =
      JsonFactory.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
          .disable(JsonWriteFeature.WRITE_HEX_UPPER_CASE)
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(MAX_DEPTH)
                  .maxDocumentLength(MAX_DOCUMENT_CHARS)
                  .build())
          .build();

  private static final ObjectMapper MAPPER = JsonMapper.builder(FACTORY).build();

  /** Builds the trees that {@link #write} writes. */
  static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private JsonText() {}

  // ------------------------------------------------------------------ reading

  /**
   * Parses a complete JSON text.
   *
   * @throws CaseFormatException with line, column and path if the text is not valid JSON
   */
  static JsonNode parse(String text) {
    try {
      return parse(new StringReader(text));
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringReader does not fail
    }
  }

  /**
   * Parses a complete JSON text from a stream, which is read to the end of the document but not
   * closed.
   *
   * @throws CaseFormatException with line, column and path if the text is not valid JSON
   * @throws IOException if the stream cannot be read
   */
  static JsonNode parse(Reader in) throws IOException {
    PushbackReader r = new PushbackReader(in, 1);
    int first = r.read();
    if (first >= 0 && first != '\uFEFF') {
      r.unread(first);
    }
    try (JsonParser p = FACTORY.createParser(r)) {
      p.disable(JsonParser.Feature.AUTO_CLOSE_SOURCE);
      JsonNode root;
      try {
        root = MAPPER.readTree(p);
        if (root == null || root.isMissingNode()) {
          throw syntaxError(p, p.currentLocation(), "unexpected end of input; expected a value");
        }
        if (p.nextToken() != null) {
          throw syntaxError(
              p, p.currentTokenLocation(), "unexpected content after the end of the JSON document");
        }
      } catch (JsonProcessingException e) {
        JsonLocation at = e.getLocation() != null ? e.getLocation() : p.currentLocation();
        throw syntaxError(p, at, readable(e.getOriginalMessage()));
      }
      checkValues(root, "");
      return root;
    }
  }

  private static CaseFormatException syntaxError(JsonParser p, JsonLocation at, String detail) {
    return new CaseFormatException(
        path(p.getParsingContext()), at.getLineNr(), at.getColumnNr(), detail);
  }

  /** The path of a parser's position: {@code b[1]}, or {@code ""} for the document. */
  private static String path(JsonStreamContext c) {
    List<JsonStreamContext> chain = new ArrayList<>();
    for (; c != null && !c.inRoot(); c = c.getParent()) {
      chain.add(0, c);
    }
    StringBuilder sb = new StringBuilder();
    for (JsonStreamContext x : chain) {
      if (x.inArray()) {
        sb.append('[').append(Math.max(0, x.getCurrentIndex())).append(']');
      } else if (x.getCurrentName() != null) {
        sb.append(memberSegment(x.getCurrentName(), sb.length() == 0));
      } else {
        break; // before the first member: the path is the object itself
      }
    }
    return sb.toString();
  }

  /** Jackson's message without its advice to enable leniency features. */
  private static String readable(String m) {
    if (m == null) {
      return "invalid JSON";
    }
    return m.replaceAll("\\[Source: [^;\\]]*; ", "[")
        .replace(
            ": enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow",
            " (NaN and Infinity are not JSON numbers)")
        .replaceAll(": enable `JsonReadFeature\\.[A-Z_]+` to allow", "")
        .replaceAll(
            "\\(not recognized as one since Feature 'ALLOW_COMMENTS' not enabled for parser\\)",
            "(JSON has no comments)")
        .replaceAll(" \\(code [0-9]+( / 0x[0-9a-f]+)?\\)", "")
        .replace("\n", " ");
  }

  /** Refuses unpaired surrogates in names and strings, and numbers beyond a double's range. */
  private static void checkValues(JsonNode n, String path) {
    if (n.isObject()) {
      for (Map.Entry<String, JsonNode> e : n.properties()) {
        String p = Fields.child(path, e.getKey());
        checkSurrogates(e.getKey(), p);
        checkValues(e.getValue(), p);
      }
    } else if (n.isArray()) {
      for (int i = 0; i < n.size(); i++) {
        checkValues(n.get(i), path + "[" + i + "]");
      }
    } else if (n.isTextual()) {
      checkSurrogates(n.textValue(), path);
    } else if (n.isNumber() && !Double.isFinite(n.doubleValue())) {
      throw CaseFormatException.at(path, "the number is outside the range of a double");
    }
  }

  private static void checkSurrogates(String s, String path) {
    int c = unpairedSurrogate(s);
    if (c >= 0) {
      throw CaseFormatException.at(
          path, String.format("unpaired surrogate U+%04X (not valid Unicode text)", c));
    }
  }

  /** The first unpaired surrogate of {@code s}, or -1 if it is valid UTF-16. */
  private static int unpairedSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return c;
      }
    }
    return -1;
  }

  /** A short description of a parsed value for error messages. */
  static String describe(JsonNode v) {
    if (v == null || v.isNull()) {
      return "null";
    }
    if (v.isBoolean()) {
      return Boolean.toString(v.booleanValue());
    }
    if (v.isNumber()) {
      return "the number " + (v.isIntegralNumber() ? v.bigIntegerValue().toString()
          : Double.toString(v.doubleValue()));
    }
    if (v.isTextual()) {
      String s = v.textValue();
      String q = s.length() > 40 ? s.substring(0, 40) + "..." : s;
      return "the string \"" + q + "\"";
    }
    if (v.isArray()) {
      boolean numbers = v.size() > 0;
      for (JsonNode e : v) {
        numbers &= e.isNumber();
      }
      return numbers ? "an array of numbers" : "an array";
    }
    if (v.isObject()) {
      return "an object";
    }
    return v.getNodeType().toString();
  }

  /** Renders a member name as a path segment: {@code .name}, or {@code ["odd name"]}. */
  static String memberSegment(String key, boolean first) {
    boolean plain = !key.isEmpty();
    for (int i = 0; i < key.length() && plain; i++) {
      char c = key.charAt(i);
      plain = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || (i > 0 && c >= '0' && c <= '9');
    }
    if (plain) {
      return first ? key : "." + key;
    }
    try {
      return "[" + MAPPER.writeValueAsString(key) + "]";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e); // a String always serialises
    }
  }

  // ------------------------------------------------------------------ writing

  /**
   * The JSON text of {@code root} in the files' layout, ending with a newline.
   *
   * @throws CaseFormatException naming the field of a NaN, an infinity or an unpaired surrogate
   */
  static String write(JsonNode root) {
    StringWriter out = new StringWriter(1 << 12);
    JsonLayout layout = new JsonLayout();
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.setPrettyPrinter(layout);
      new TreeWriter(g, layout).value(root, new ArrayList<>());
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringWriter does not fail
    }
    return out.append('\n').toString();
  }

  /** Walks a tree, telling the layout which containers go on one line, and checks values. */
  private record TreeWriter(JsonGenerator g, JsonLayout layout) {
    void value(JsonNode v, List<String> path) throws IOException {
      if (v.isObject()) {
        layout.nextContainerInline(allFlat(v));
        g.writeStartObject();
        for (Map.Entry<String, JsonNode> e : v.properties()) {
          path.add(memberSegment(e.getKey(), path.isEmpty()));
          checkString(e.getKey(), path);
          g.writeFieldName(e.getKey());
          value(e.getValue(), path);
          path.remove(path.size() - 1);
        }
        g.writeEndObject();
      } else if (v.isArray()) {
        boolean inline = true;
        for (JsonNode e : v) {
          inline &= e.isValueNode();
        }
        layout.nextContainerInline(inline);
        g.writeStartArray();
        for (int i = 0; i < v.size(); i++) {
          JsonNode e = v.get(i);
          String seg = "[" + i + "]";
          if (e.isObject() && e.get("name") != null && e.get("name").isTextual()) {
            seg += " (" + e.get("name").textValue() + ")";
          }
          path.add(seg);
          value(e, path);
          path.remove(path.size() - 1);
        }
        g.writeEndArray();
      } else if (v.isTextual()) {
        checkString(v.textValue(), path);
        g.writeString(v.textValue());
      } else if (v.isIntegralNumber()) {
        if (v.canConvertToLong()) {
          g.writeNumber(v.longValue());
        } else {
          g.writeNumber(v.bigIntegerValue());
        }
      } else if (v.isNumber()) {
        double d = v.doubleValue();
        if (!Double.isFinite(d)) {
          throw CaseFormatException.at(
              String.join("", path), d + " cannot be written: JSON has no NaN or infinity");
        }
        g.writeNumber(d);
      } else if (v.isBoolean()) {
        g.writeBoolean(v.booleanValue());
      } else if (v.isNull()) {
        g.writeNull();
      } else {
        throw CaseFormatException.at(
            String.join("", path), "cannot write a " + v.getNodeType() + " node as JSON");
      }
    }

    /** Whether every member is a scalar or an array of scalars. */
    private static boolean allFlat(JsonNode object) {
      for (JsonNode m : object) {
        if (m.isContainerNode()) {
          for (JsonNode e : m) {
            if (!e.isValueNode()) {
              return false;
            }
          }
          if (m.isObject()) {
            return false;
          }
        }
      }
      return true;
    }

    private static void checkString(String s, List<String> path) {
      int c = unpairedSurrogate(s);
      if (c >= 0) {
        throw CaseFormatException.at(
            String.join("", path),
            String.format("unpaired surrogate U+%04X cannot be written as UTF-8", c));
      }
    }
  }
}
