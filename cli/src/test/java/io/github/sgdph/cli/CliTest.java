package io.github.sgdph.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.Trajectory;
import io.github.sgdph.cases.TrajectoryComparison;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.cases.json.CaseJson;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(new PrintWriter(out), new PrintWriter(err), args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void replayOfEveryBundledCaseMatchesItsExpectation() {
    Run r = run("replay", "--bundled");
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(r.out().contains(" step          loss"), r.out());
    int cases = BundledCases.names().size();
    assertTrue(r.out().contains(cases + " cases replayed on reference, 0 deviations"), r.out());
  }

  @Test
  void replayWritesATrajectoryThatReadsBackAndMatchesTheExpectation(@TempDir Path dir)
      throws Exception {
    Path caseFile = dir.resolve("c.json");
    CaseFile c = BundledCases.load("mlp-tanh-sgd.json");
    CaseJson.writeCase(c, caseFile);
    Path traj = dir.resolve("t.json");
    Run r = run("replay", caseFile.toString(), "--out", traj.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    Trajectory t = CaseJson.readTrajectory(traj);
    assertEquals("reference", t.backend());
    assertEquals(c.steps(), t.loss().length);
    assertTrue(TrajectoryComparison.compare(t, c.expected()).within(1e-12));
  }

  @Test
  void aDeviationAboveTheToleranceExitsWithOne(@TempDir Path dir) throws Exception {
    CaseFile c = BundledCases.load("mlp-tanh-sgd.json");
    Trajectory e = c.expected();
    double[] loss = e.loss();
    loss[3] *= 1 + 1e-6;
    CaseFile tampered =
        c.withExpected(new Trajectory(e.backend(), e.dtype(), loss, e.parameters(), e.probe()));
    Path p = dir.resolve("tampered.json");
    CaseJson.writeCase(tampered, p);
    Run r = run("replay", p.toString());
    assertEquals(Main.EXIT_DEVIATION, r.code(), r.out());
    assertTrue(r.out().contains("FAILED") && r.out().contains("loss"), r.out());
    assertEquals(0, run("replay", p.toString(), "--tolerance", "1e-5").code());
  }

  @Test
  void anInvalidCaseExitsWithTwoAndNamesTheField(@TempDir Path dir) throws Exception {
    Path p = dir.resolve("bad.json");
    String json =
        Files.readString(Path.of("../cases/mlp-tanh-sgd.json"), StandardCharsets.UTF_8)
            .replaceFirst("\"steps\"", "\"stepz\"");
    Files.writeString(p, json, StandardCharsets.UTF_8);
    Run r = run("replay", p.toString());
    assertEquals(Main.EXIT_USAGE, r.code());
    assertTrue(r.err().contains("stepz"), r.err());
  }

  @Test
  void anUnknownBackendIsAClearError() {
    Run r = run("replay", "--bundled", "--backend", "nope");
    assertEquals(Main.EXIT_USAGE, r.code());
    assertTrue(r.err().contains("backend") && r.err().contains("reference"), r.err());
  }

  @Test
  void replayWithoutInputIsAUsageError() {
    assertEquals(Main.EXIT_USAGE, run("replay").code());
  }

  @Test
  void committedCasesAreExactlyWhatTheGeneratorMakes(@TempDir Path dir) throws Exception {
    Run r = run("generate-cases", "--out", dir.toString());
    assertEquals(0, r.code(), r.err());
    List<String> index = Files.readAllLines(dir.resolve("INDEX"));
    assertEquals(Files.readAllLines(Path.of("../cases/INDEX")), index,
        "cases/INDEX is stale: run `./sgdph generate-cases --out cases`");
    for (String name : BundledCases.names()) {
      assertEquals(
          Files.readString(Path.of("../cases", name)),
          Files.readString(dir.resolve(name)),
          "cases/" + name + " differs from what the generator makes: regenerate the cases");
    }
    io.github.sgdph.model.SpecBackend djl = io.github.sgdph.model.SpecBackend.find("djl");
    for (String name : BundledCases.names()) {
      String check = djl.unsupportedReason(BundledCases.load(name).model()) != null
          ? " (DJL does not build this model yet; the reference's probe matches central"
              + " differences to"
          : " (DJL float64 reproduces it to";
      assertTrue(r.out().contains("wrote " + dir.resolve(name) + check),
          "the generator reports the cross-check of " + name + ": " + r.out());
    }
  }

  /** The generator's second implementation refuses an expectation that it does not reproduce. */
  @Test
  void theGeneratorRefusesAnExpectationThatDjlDoesNotReproduce() {
    CaseFile c = BundledCases.load("mlp-tanh-sgd.json");
    TrajectoryComparison.Deviation ok = ExampleCases.crossCheck("mlp-tanh-sgd.json",
        c, c.expected());
    assertTrue(ok.relative() <= ExampleCases.CROSS_CHECK_TOLERANCE, ok.toString());
    Trajectory e = c.expected();
    double[] loss = e.loss();
    loss[3] *= 1 + 1e-9;
    Trajectory tampered = new Trajectory(e.backend(), e.dtype(), loss, e.parameters(), e.probe());
    IllegalStateException x = org.junit.jupiter.api.Assertions.assertThrows(
        IllegalStateException.class,
        () -> ExampleCases.crossCheck("mlp-tanh-sgd.json", c, tampered));
    assertTrue(x.getMessage().contains("mlp-tanh-sgd.json") && x.getMessage().contains("loss")
        && x.getMessage().contains("no expectation written"), x.getMessage());
  }
}
