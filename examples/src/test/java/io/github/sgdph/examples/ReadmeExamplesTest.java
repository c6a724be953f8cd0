package io.github.sgdph.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * README.md's "Examples" section quotes the examples verbatim: every {@code java} block there is
 * a run of consecutive lines of the example source linked last before it (shifted by one
 * indentation), so the quotes compile as the examples do and cannot drift from them.
 */
class ReadmeExamplesTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Pattern SOURCE_LINK =
      Pattern.compile("\\((examples/src/main/java/[A-Za-z0-9_/]+\\.java)\\)");
  private static final Set<String> EXAMPLES = Set.of(
      "DjlFashionMnist.java", "Dl4jFashionMnist.java", "TensorFlowFashionMnist.java");

  /** A java block of the README and the example source linked last before it. */
  private record Quote(String where, String source, List<String> lines) {}

  /** The README's java blocks in the Examples section. */
  private static List<Quote> quotes() throws IOException {
    List<String> lines = Files.readAllLines(ROOT.resolve("README.md"), StandardCharsets.UTF_8);
    int start = lines.indexOf("## Examples");
    assertTrue(start >= 0, "README.md has no '## Examples' section");
    List<Quote> quotes = new ArrayList<>();
    String source = null;
    for (int i = start + 1; i < lines.size() && !lines.get(i).startsWith("## "); i++) {
      if (lines.get(i).equals("```java")) {
        int first = i + 1;
        while (!lines.get(i + 1).equals("```")) {
          i++;
        }
        String where = "README.md lines " + (first + 1) + "-" + (i + 1);
        assertNotNull(source, where + ": no example source linked before the block");
        assertTrue(i >= first, where + ": empty block");
        quotes.add(new Quote(where, source, lines.subList(first, i + 1)));
        continue;
      }
      Matcher m = SOURCE_LINK.matcher(lines.get(i));
      while (m.find()) {
        source = m.group(1);
      }
    }
    return quotes;
  }

  /** Whether {@code quote} is a run of lines of {@code source}, every line indented alike. */
  static boolean quotedVerbatim(List<String> quote, List<String> source) {
    for (int at = 0; at + quote.size() <= source.size(); at++) {
      String first = source.get(at);
      if (!first.endsWith(quote.get(0))) {
        continue;
      }
      String indent = first.substring(0, first.length() - quote.get(0).length());
      if (!indent.isBlank()) {
        continue;
      }
      boolean all = true;
      for (int k = 0; k < quote.size() && all; k++) {
        String q = quote.get(k);
        all = q.isEmpty() ? source.get(at + k).isEmpty() : source.get(at + k).equals(indent + q);
      }
      if (all) {
        return true;
      }
    }
    return false;
  }

  @Test
  void everyQuotedBlockIsVerbatimFromItsExample() throws IOException {
    Set<String> quoted = new TreeSet<>();
    List<String> drifted = new ArrayList<>();
    for (Quote q : quotes()) {
      List<String> source = Files.readAllLines(ROOT.resolve(q.source()), StandardCharsets.UTF_8);
      if (quotedVerbatim(q.lines(), source)) {
        quoted.add(Path.of(q.source()).getFileName().toString());
      } else {
        drifted.add(q.where() + " (" + q.source() + ")");
      }
    }
    if (!drifted.isEmpty()) {
      fail("README.md quotes that are not verbatim in their example source: " + drifted);
    }
    assertEquals(new TreeSet<>(EXAMPLES), quoted, "every example is quoted in README.md");
  }

  @Test
  void theCheckFindsAChangedLine() {
    List<String> source = List.of("class A {", "  void f() {", "    int a = 1;", "  }", "}");
    assertTrue(quotedVerbatim(List.of("void f() {", "  int a = 1;", "}"), source));
    assertFalse(quotedVerbatim(List.of("void f() {", "  int a = 2;", "}"), source));
    assertFalse(quotedVerbatim(List.of("void f() {", "int a = 1;", "}"), source),
        "the indentation of every line must match");
  }
}
