package io.github.sgdph.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code sgdph bench}: option checks and one tiny run, so that CI proves the command runs. */
class BenchCommandTest {
  private static final Pattern RATIO = Pattern.compile(
      "RATIO backend=(reference|djl|tensorflow|dl4j) model=(mlp|cnn) metric=(sgd_vs_native"
          + "|sgdph_vs_native|sgn10_vs_native|bdhf10_vs_native|kfac_vs_native"
          + "|kfac_update_vs_native|kfac_amortised_vs_native|ggnvp_vs_gradient"
          + "|hvp_vs_gradient) value=[0-9]+\\.[0-9]+");

  private record Run(int code, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = BenchCommand.execute(new PrintWriter(out), new PrintWriter(err), args);
    return new Run(code, out.toString(), err.toString());
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = ';', value = {
      "--rounds; 0; --rounds",
      "--warmup; -1; --warmup",
      "--batch; 0; --batch",
      "--lr; 0; --lr",
      "--momentum; 1; --momentum",
      "--backend; pytorch; --backend",
      "--model; resnet; --model",
      "--dtype; float16; --dtype"})
  void invalidOptionsAreNamed(String option, String value, String named) {
    Run r = run(option, value);
    assertEquals(BenchCommand.EXIT_USAGE, r.code(), r.err());
    assertTrue(r.err().contains("error: " + named), r.err());
  }

  @Test
  void unknownOptionIsUsageError() {
    Run r = run("--fast");
    assertEquals(BenchCommand.EXIT_USAGE, r.code());
    assertTrue(r.err().contains("--fast"), r.err());
  }

  @Test
  void tinyReferenceRunPrintsRatioLinesAndWritesTheReport(@TempDir Path dir) throws Exception {
    Path report = dir.resolve("sub/report.md");
    Run r = run("--backend", "reference", "--model", "mlp", "--warmup", "0", "--rounds", "1",
        "--batch", "16", "--out", report.toString());
    assertEquals(0, r.code(), r.err());
    List<String> ratios = r.out().lines().filter(l -> l.startsWith("RATIO ")).toList();
    // the reference has no native framework: sgd_vs_native is left out; it has the Kronecker
    // SPI: the three KFAC figures are in
    assertEquals(8, ratios.size(), r.out());
    ratios.forEach(l -> assertTrue(RATIO.matcher(l).matches(), l));
    for (String m : List.of("sgdph_vs_native", "sgn10_vs_native", "bdhf10_vs_native",
        "kfac_vs_native", "kfac_update_vs_native", "kfac_amortised_vs_native",
        "ggnvp_vs_gradient", "hvp_vs_gradient")) {
      assertTrue(ratios.stream().anyMatch(
          l -> l.startsWith("RATIO backend=reference model=mlp metric=" + m + " value=")), m);
    }
    String md = Files.readString(report, StandardCharsets.UTF_8);
    assertTrue(md.startsWith("# sgdph bench"), md);
    assertTrue(md.contains("| reference | mlp | float64 |"), md);
    assertTrue(md.contains("sgdph SGN, 10 CG iterations"), md);
    assertTrue(md.contains("sgdph KFAC (Monte-Carlo Fisher), factor and inverse update"), md);
    try (var files = Files.list(report.getParent())) {
      assertEquals(1, files.count(), "no temporary file left");
    }
  }
}
