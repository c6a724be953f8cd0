package io.github.sgdph.cases.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Jackson as configured for case files: the strict reader and the layout writer on their own. */
class JsonTextTest {

  private static CaseFormatException fails(String text) {
    return assertThrows(
        CaseFormatException.class, () -> JsonText.parse(text), () -> "accepted: " + text);
  }

  @Test
  void objectsKeepDocumentOrder() {
    JsonNode v = JsonText.parse("{\"z\": 1, \"a\": {\"y\": true, \"b\": null}, \"m\": [\"s\", false]}");
    List<String> names = new ArrayList<>();
    v.fieldNames().forEachRemaining(names::add);
    assertEquals(List.of("z", "a", "m"), names);
    assertTrue(v.get("a").get("b").isNull());
    assertTrue(v.get("z").isIntegralNumber());
  }

  @Test
  void topLevelScalarsWhitespaceAndByteOrderMark() {
    assertEquals(3, JsonText.parse(" \t\r\n3\n").intValue());
    assertEquals("x", JsonText.parse("\"x\"").textValue());
    assertTrue(JsonText.parse("null").isNull());
    assertEquals(0, JsonText.parse("{ }").size());
    assertEquals("bom", JsonText.parse("\uFEFF\"bom\"").textValue());
  }

  @Test
  void numbersKeepWhetherTheLiteralWasAnInteger() {
    assertTrue(JsonText.parse("3").isIntegralNumber());
    assertFalse(JsonText.parse("3.0").isIntegralNumber());
    assertFalse(JsonText.parse("3e0").isIntegralNumber());
    assertEquals(-0.025, JsonText.parse("-2.5E-2").doubleValue());
    assertEquals(1e20, JsonText.parse("100000000000000000000").doubleValue());
    assertEquals(Double.doubleToRawLongBits(-0.0),
        Double.doubleToRawLongBits(JsonText.parse("-0.0").doubleValue()));
    assertEquals(0.0, JsonText.parse("1e-400").doubleValue()); // underflow is not an error
  }

  @Test
  void stringEscapesAndSurrogatePairs() {
    assertEquals(
        "q\" b\\ s/ \b\f\n\r\t \u00e9 \u20ac \uD83D\uDE00 \uD83D\uDE00 \u0000",
        JsonText.parse(
            "\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u20AC \\uD83D\\uDE00 \uD83D\uDE00"
                + " \\u0000\"").textValue());
  }

  /**
   * What RFC 8259 refuses. Jackson accepts non-ASCII digits after {@code \\u} (e.g. Arabic-Indic
   * digits), which the hand-written parser refused; such a file was never valid JSON to any
   * other reader, and the decoded string is still checked like every other, so it is left out.
   */
  @Test
  void rejectsEverythingRfc8259Rejects() {
    String[] bad = {
      "", " ", "{", "[", "[1,]", "{\"a\": 1,}", "[,1]", "01", "-01", "1.", ".5", "+1", "-",
      "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity", "'a'", "{'a': 1}", "{a: 1}",
      "[1 2]", "{\"a\" 1}", "{\"a\": 1 \"b\": 2}", "tru", "nul", "True", "\"\\x\"", "\"\\u12G4\"",
      "\"\\u12\"", "\"a\nb\"", "\"a\tb\"", "\"\\uD800\"", "\"\\uDC00\"", "\"\\uD800\\u0041\"",
      "\"\\uD800x\"", "\"\uD800\"", "\"\uDC00\uD800\"", "1 2", "{} x", "/* c */ 1", "1 // c",
      "1e400", "-1e400", "[\"a\" \"b\"]", "{\"a\": 1, \"a\": 2}", "\u00a01", "\"abc",
      "\"\\u\uFF21\uFF21\uFF21\uFF21\"", "[1]]", "{\"a\"}", "{1: 2}", "{\"k\uD800\": 1}"
    };
    for (String b : bad) {
      fails(b);
    }
  }

  @Test
  void messagesNameTheProblemWithoutJacksonsAdvice() {
    String nan = fails("[1, NaN]").getMessage();
    assertTrue(nan.startsWith("[1]: malformed JSON at 1:8 (line:column): "), nan);
    assertTrue(nan.contains("NaN and Infinity are not JSON numbers"), nan);
    assertFalse(nan.contains("enable"), nan);
    String comment = fails("{\"a\": 1 // c\n}").getMessage();
    assertTrue(comment.contains("(JSON has no comments)"), comment);
    assertTrue(fails("1 2").getMessage().contains("after the end of the JSON document"));
    assertTrue(fails("").getMessage().startsWith("(root): malformed JSON at 1:1"));
    assertEquals("a.b[2]: unpaired surrogate U+D800 (not valid Unicode text)",
        fails("{\"a\": {\"b\": [\"x\", \"y\", \"\\uD800\"]}}").getMessage());
    assertEquals("x[1]: the number is outside the range of a double",
        fails("{\"x\": [1, -1e400]}").getMessage());
    assertTrue(fails("{\"a\": 1, \"a\": 2}").getMessage().contains("Duplicate field 'a'"));
  }

  @Test
  void nestingDepthIsLimited() {
    int d = JsonText.MAX_DEPTH;
    JsonText.parse("[".repeat(d) + "]".repeat(d));
    CaseFormatException e = fails("[".repeat(d + 1) + "]".repeat(d + 1));
    assertTrue(e.getMessage().contains("nesting depth (" + (d + 1) + ") exceeds the maximum"),
        e.getMessage());
  }

  @Test
  void errorsGiveLineColumnAndPath() {
    CaseFormatException e = fails("{\n  \"a\": 1,\n  \"b\": [1, x]\n}");
    assertEquals(3, e.line());
    assertEquals(12, e.column());
    assertTrue(e.getMessage().startsWith(
        "b[1]: malformed JSON at 3:12 (line:column): Unrecognized token 'x'"), e.getMessage());
    // CRLF and CR count as one line break each
    CaseFormatException crlf = fails("{\r\n\"a\":\r\n\r1,,}");
    assertEquals(4, crlf.line());
    assertEquals(3, crlf.column());
    assertTrue(crlf.getMessage().startsWith("a: malformed JSON at 4:3"), crlf.getMessage());
    CaseFormatException odd = fails("{\"odd key\": {\"x-y\": [tru]}}");
    assertTrue(odd.getMessage().startsWith("[\"odd key\"][\"x-y\"][0]: malformed JSON"),
        odd.getMessage());
  }

  @Test
  void writerEscapesStringsAndRoundTrips() {
    ObjectNode m = JsonText.NODES.objectNode();
    String nasty = "q\" b\\ / \b\f\n\r\t \u0001\u001f \u00e9 \uD83D\uDE00 \u2028";
    m.put(nasty, nasty);
    ArrayNode list = m.putArray("list");
    list.add(1).add(2.5).add("s").add(true).addNull();
    String text = JsonText.write(m);
    JsonNode back = JsonText.parse(text);
    assertEquals(nasty, back.get(nasty).textValue());
    assertTrue(text.contains("\\u0001\\u001f"), text); // lower-case hex, as before Jackson
    assertEquals(list, back.get("list"));
  }

  @Test
  void writerLayout() {
    ObjectNode root = JsonText.NODES.objectNode();
    ObjectNode a = root.putObject("a");
    a.putArray("b").add(1.0).add(-0.0);
    a.putArray("c").add(1).add(2);
    root.putArray("d").addObject().put("e", 1);
    root.putArray("f").add(0).add(2).add(-0.0).add(1.5);
    root.putArray("g");
    root.putObject("h");
    assertEquals(
        "{\n"
            + "  \"a\": {\"b\": [1.0, -0.0], \"c\": [1, 2]},\n"
            + "  \"d\": [\n"
            + "    {\"e\": 1}\n"
            + "  ],\n"
            + "  \"f\": [0, 2, -0.0, 1.5],\n"
            + "  \"g\": [],\n"
            + "  \"h\": {}\n"
            + "}\n",
        JsonText.write(root));
  }

  @Test
  void writerRefusesNonFiniteNumbersAndUnpairedSurrogates() {
    ObjectNode root = JsonText.NODES.objectNode();
    root.put("ok", 1);
    ObjectNode w = root.putArray("bad").addObject();
    w.put("name", "w");
    w.putArray("v").add(1.0).add(Double.NaN);
    CaseFormatException e = assertThrows(CaseFormatException.class, () -> JsonText.write(root));
    assertTrue(e.getMessage().startsWith("bad[0] (w).v[1]: NaN cannot be written"), e.getMessage());
    ObjectNode inf = JsonText.NODES.objectNode().put("x", Double.POSITIVE_INFINITY);
    e = assertThrows(CaseFormatException.class, () -> JsonText.write(inf));
    assertTrue(e.getMessage().startsWith("x: Infinity cannot be written"), e.getMessage());
    ObjectNode s = JsonText.NODES.objectNode().put("s", "a\uD800b");
    e = assertThrows(CaseFormatException.class, () -> JsonText.write(s));
    assertTrue(e.getMessage().startsWith("s: unpaired surrogate U+D800"), e.getMessage());
  }

  @Test
  void prefixingKeepsFieldPaths() {
    assertEquals("model.layers[2]: x", CaseJson.prefixed("model", "layers[2]: x"));
    assertEquals("model.layers[0].in: bad", CaseJson.prefixed("model.layers[0]", "in: bad"));
    assertEquals("optimizer.lr: bad", CaseJson.prefixed("optimizer", "optimizer.lr: bad"));
    assertEquals("expected.parameters[0] (0.w): s",
        CaseJson.prefixed("expected", "parameters[0] (0.w): s"));
    assertEquals("a.b: something went wrong", CaseJson.prefixed("a.b", "something went wrong"));
    assertEquals("a.b: the thing: failed", CaseJson.prefixed("a.b", "the thing: failed"));
  }
}
