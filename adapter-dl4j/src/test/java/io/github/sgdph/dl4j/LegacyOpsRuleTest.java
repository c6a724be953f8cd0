package io.github.sgdph.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The adapter's main code runs ND4J's legacy ops (broadcasts, reductions) only through
 * {@link Nd4jArrays#exec}, which keeps each op and its arrays reachable until ND4J's native call
 * has returned. ND4J 1.0.0-M2.1 does not: a garbage collection during the call let its deallocator
 * free an operand's native descriptor while the op read it (a SIGSEGV in
 * {@code sd::DataBuffer::primary()} under {@code execBroadcast}, about once in 25 runs of 2200 DL4J
 * SGN steps). The instance methods that run such ops with a dimension array the caller never sees
 * ({@code sum(0)}, {@code mean(1)}, {@code addiRowVector}, {@code sumNumber()}, ...) and direct
 * calls of the executioner are therefore refused outside {@link Nd4jArrays}.
 */
class LegacyOpsRuleTest {
  private static final Path MAIN = Path.of("src", "main", "java", "io", "github", "sgdph", "dl4j");

  /** What must not appear in the main code outside {@code Nd4jArrays.java}. */
  private static final List<Pattern> FORBIDDEN = List.of(
      // row/column-vector broadcasts: addiRowVector, mulColumnVector, ...
      Pattern.compile("\\.r?(add|sub|mul|div)i?(Row|Column)Vector\\("),
      // reductions along dimensions or of everything: x.sum(1), x.mean(0, 2), x.max(1), ...
      // (not Math's, not the helpers', nor Transforms.max and Nd4j.argMax: custom ops, safe)
      Pattern.compile("(?<!\\bMath)(?<!\\bNd4jArrays)(?<!\\bTransforms)(?<!\\bNd4j)"
          + "\\.(sum|mean|max|min|amax|amin|prod|std|var"
          + "|norm1|norm2|normmax|argMax|argMin)\\((?!\\))"),
      Pattern.compile("\\.\\w+Number\\(\\)"),
      // the executioner itself
      Pattern.compile("getExecutioner\\(\\)\\s*\\.\\s*exec\\("),
      Pattern.compile("Nd4j\\s*\\.\\s*exec\\("));

  /** The Java source without comments and string literals. */
  static String code(String source) {
    return source
        .replaceAll("(?s)/\\*.*?\\*/", " ")
        .replaceAll("//[^\\n]*", " ")
        .replaceAll("\"(?:\\\\.|[^\"\\\\])*\"", "\"\"");
  }

  static List<String> violations(String file, String source) {
    List<String> out = new ArrayList<>();
    String[] lines = code(source).split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      for (Pattern p : FORBIDDEN) {
        Matcher m = p.matcher(lines[i]);
        if (m.find()) {
          out.add(file + ":" + (i + 1) + ": " + lines[i].trim());
        }
      }
    }
    return out;
  }

  @Test
  void legacyOpsRunOnlyThroughTheFencedHelper() throws IOException {
    List<String> bad = new ArrayList<>();
    int files = 0;
    try (Stream<Path> s = Files.list(MAIN)) {
      for (Path p : s.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
        files++;
        if (!p.getFileName().toString().equals("Nd4jArrays.java")) {
          bad.addAll(violations(p.getFileName().toString(), Files.readString(p)));
        }
      }
    }
    assertTrue(files > 10, "read " + files + " source files under " + MAIN.toAbsolutePath());
    assertEquals(List.of(), bad, "legacy ND4J ops outside Nd4jArrays.exec");
  }

  @Test
  void theRuleSeesWhatItRefuses() {
    assertEquals(7, violations("X.java", String.join("\n",
        "z.addiRowVector(b);",
        "INDArray m = z.max(1);",
        "double s = a.sumNumber().doubleValue();",
        "INDArray g = x.sum(true, 0);",
        "Nd4j.getExecutioner().exec(op);",
        "Nd4j.exec(new Axpy(a, b, b, 1.0, n));",
        "p.mulColumnVector(c);",
        // allowed:
        "int k = Math.max(1, 2); INDArray t = Nd4jArrays.sum(x, false, 1); a.mul(b).addi(c);",
        "Transforms.max(a, b, false); INDArray i = Nd4j.argMax(c, 2);",
        "// x.sum(1) in a comment",
        "String s = \"x.mean(0)\";")).size());
  }
}
