package io.github.sgdph.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.sgdph.cases.Trajectory;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.cases.json.CaseJson;
import io.github.sgdph.model.BackendDescription;
import io.github.sgdph.model.BuiltInModels;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.tensor.DType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every command on every backend and dtype, on the small bundled cases: replay with --out,
 * --expected and --json, the trajectory pasted into a case as its expectation, analyze
 * (writing files only when asked), compare (with --analysis) and backends.
 */
class CliOnEveryBackendTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CASE = "mlp-tanh-sgn.json";

  @TempDir Path dir;

  static Stream<Arguments> runs() {
    return Stream.of(Arguments.of("reference", "float64"), Arguments.of("djl", "float64"),
        Arguments.of("djl", "float32"), Arguments.of("tensorflow", "float64"),
        Arguments.of("tensorflow", "float32"), Arguments.of("dl4j", "float64"),
        Arguments.of("dl4j", "float32"));
  }

  private static JsonNode json(Path p) throws IOException {
    return JSON.readTree(p.toFile());
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("runs")
  void replayedTrajectoriesRoundTripAsExpectations(String backend, String dtype)
      throws Exception {
    Path t = dir.resolve("t.json");
    Path result = dir.resolve("r.json");
    CliTest.Run r = CliTest.run("replay", "--bundled=" + CASE, "--backend", backend, "--dtype",
        dtype, "--out", t.toString(), "--json", result.toString(), "-q");
    assertEquals(0, r.code(), r.out() + r.err());
    assertEquals("", r.err());
    // the case's float64 expectation: float32 within the case's derived tolerance, printed
    assertTrue(r.out().contains(dtype.equals("float32") ? "derived: 4 × float32 sensitivity"
        : "float64) OK"), r.out());
    JsonNode j = json(result);
    assertEquals(ReplayCommand.FORMAT, j.get("format").asText());
    assertEquals(backend, j.get("backend").asText());
    JsonNode c = j.get("cases").get(0);
    assertEquals(CASE, c.get("case").asText());
    assertEquals(6, c.get("loss").size());
    assertTrue(c.get("expected").get("ok").asBoolean());
    assertEquals(dtype.equals("float32") ? "derived" : "float64",
        c.get("expected").get("tolerance_source").asText());
    assertTrue(c.get("expected").get("first_step_above").isNull());
    assertEquals(0, j.get("exit_code").asInt());

    // --expected: the trajectory file against a replay on the same backend
    r = CliTest.run("replay", "--bundled=" + CASE, "--backend", backend, "--dtype", dtype,
        "--expected", t.toString(), "-q");
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(r.out().contains("expected (" + t + "): largest relative deviation"), r.out());

    // the trajectory file pasted unedited into the case as its expected member
    String caseJson = CaseJson.toJson(BundledCases.load(CASE).withExpected(null));
    String traj = Files.readString(t, StandardCharsets.UTF_8);
    Path withTraj = dir.resolve("with-trajectory.json");
    Files.writeString(withTraj, caseJson.substring(0, caseJson.lastIndexOf('}')).stripTrailing()
        + ",\n\"expected\": " + traj + "}\n", StandardCharsets.UTF_8);
    r = CliTest.run("replay", withTraj.toString(), "--backend", backend, "--dtype", dtype, "-q");
    assertEquals(0, r.code(), r.out() + r.err());
    Trajectory back = CaseJson.readCase(withTraj).expected();
    assertEquals(CaseJson.readTrajectory(t), back);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("runs")
  void analyzeWritesFilesOnlyWhenAsked(String backend, String dtype) throws Exception {
    Path cwdPlot = Path.of("linear-mse-probe-density.png");
    Files.deleteIfExists(cwdPlot);
    Path result = dir.resolve("a.json");
    CliTest.Run r = CliTest.run("analyze", "--bundled=linear-mse-probe.json", "--backend",
        backend, "--dtype", dtype, "-k", "2", "--trace-samples", "4", "--density-steps", "8",
        "--density-runs", "2", "--json", result.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    assertFalse(Files.exists(cwdPlot), "no plot unless asked");
    assertFalse(r.out().contains("plot written"), r.out());
    JsonNode j = json(result);
    assertEquals(AnalyzeCommand.FORMAT, j.get("format").asText());
    assertEquals(2, j.get("h_top").size());
    assertEquals(dtype, j.get("dtype").asText());
    assertTrue(j.get("density").get("plot").isNull());

    r = CliTest.run("analyze", "--bundled=linear-mse-probe.json", "--backend", backend,
        "--dtype", dtype, "-k", "2", "--trace-samples", "4", "--density-steps", "8",
        "--density-runs", "2", "--out", dir.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(Files.size(dir.resolve("linear-mse-probe-density.png")) > 0);
  }

  @Test
  void compareOnEveryBackendAndDtypeAgreesAndWritesItsResult() throws Exception {
    Path result = dir.resolve("c.json");
    CliTest.Run r = CliTest.run("compare", "--bundled=" + CASE, "--bundled",
        "linear-mse-probe.json", "--json", result.toString(), "--out", dir.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    assertEquals("", r.err());
    assertTrue(r.out().contains("all 42 pairs agree (2 cases × 7 runs)"), r.out());
    assertTrue(r.out().contains("float32 tolerance"), r.out());
    JsonNode j = json(result);
    assertEquals(CompareCommand.FORMAT, j.get("format").asText());
    assertEquals(7, j.get("runs").size());
    assertEquals(0, j.get("disagreements").asInt());
    JsonNode pairs = j.get("cases").get(0).get("pairs");
    assertEquals(21, pairs.size());
    for (JsonNode p : pairs) {
      assertTrue(p.get("ok").asBoolean(), p.toString());
      assertTrue(p.get("deviation").asDouble() <= p.get("tolerance").asDouble(), p.toString());
    }
    assertTrue(Files.isRegularFile(dir.resolve("mlp-tanh-sgn.dl4j-float32.trajectory.json")));
  }

  @Test
  void compareWithAnalysisAndAnUnavailableBackend() throws Exception {
    Path result = dir.resolve("c.json");
    CliTest.Run r = CliTest.run("compare", "--bundled=mlp-tanh-sgd.json", "--backends",
        "reference,djl,tensorflow,dl4j," + BrokenBackend.NAME, "--analysis", "--json",
        result.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(r.out().contains(BrokenBackend.NAME + "      unavailable: native library does not"
        + " load: " + BrokenBackend.WHY), r.out());
    assertTrue(r.out().contains("analysis at the initial parameters"), r.out());
    JsonNode j = json(result);
    assertFalse(j.get("backends").get(BrokenBackend.NAME).get("available").asBoolean());
    for (JsonNode p : j.get("cases").get(0).get("pairs")) {
      assertTrue(p.get("analysis").get("ok").asBoolean(), p.toString());
    }
  }

  @Test
  void compareLeavesOutARunWhoseBackendDoesNotBuildTheCase() throws Exception {
    // a graph case (add, identity, global_avgpool2d) and a sequential one, on a backend that
    // lists the sequential layer types only: its graph run is not made, the pair is n/a and
    // neither agrees nor disagrees
    Path result = dir.resolve("c.json");
    CliTest.Run r = CliTest.run("compare", "--bundled=resnet-eval-identity-probe.json",
        "--bundled=linear-mse-probe.json", "--backends",
        "reference," + SequentialOnlyBackend.NAME, "--json", result.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(r.out().contains(SequentialOnlyBackend.NAME + " f64 not run: "
        + SequentialOnlyBackend.NAME + " does not build identity, add, global_avgpool2d (a graph"
        + " model)"), r.out());
    assertTrue(r.out().contains("n/a"), r.out());
    assertTrue(r.out().contains("all 1 pairs agree (2 cases × 2 runs; 1 pair not compared"),
        r.out());
    JsonNode j = json(result);
    assertEquals(1, j.get("pairs").asInt());
    assertEquals(1, j.get("pairs_not_compared").asInt());
    assertEquals(0, j.get("disagreements").asInt());
    assertEquals(0, j.get("cases").get(0).get("pairs").size());
    assertTrue(j.get("cases").get(0).get("not_run").has(SequentialOnlyBackend.NAME + " f64"));
    assertEquals(1, j.get("cases").get(1).get("pairs").size());
  }

  @Test
  void compareReportsADisagreementWithExitCodeOne() {
    // a tolerance below float32's rounding: the float32 runs disagree with the float64 ones
    CliTest.Run r = CliTest.run("compare", "--bundled=" + CASE, "--backends", "reference,djl",
        "--tolerance", "1e-9");
    assertEquals(Main.EXIT_DEVIATION, r.code(), r.out() + r.err());
    assertTrue(r.out().contains(" X"), r.out());
    assertTrue(r.out().contains("2 of 3 pairs disagree"), r.out());
  }

  @Test
  void backendsReportsEveryBackend() throws Exception {
    Path result = dir.resolve("b.json");
    CliTest.Run r = CliTest.run("backends", "--json", result.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    for (String b : Backends.KNOWN) {
      assertTrue(r.out().contains(b + ": available"), r.out());
    }
    assertTrue(r.out().contains(BrokenBackend.NAME + ": unavailable: native library does not"
        + " load"), r.out());
    assertTrue(r.out().contains("libtorch 2.7.1") && r.out().contains("TensorFlow 2.18.0")
        && r.out().contains("ND4J"), r.out());
    assertTrue(r.out().contains("reference: available\n"), r.out());
    String reference = r.out().substring(r.out().indexOf("reference: available"));
    assertTrue(reference.contains("models:         sequential and graph"), reference);
    assertTrue(reference.contains("global_avgpool2d, identity, add"), reference);
    JsonNode j = json(result);
    assertEquals(BackendsCommand.FORMAT, j.get("format").asText());
    // the test backends: broken, sequential-only
    assertEquals(Backends.KNOWN.size() + 2, j.get("backends").size());
    JsonNode djl = j.get("backends").get(1);
    assertEquals("djl", djl.get("name").asText());
    assertEquals("cpu", djl.get("devices").get(0).asText());
    assertTrue(djl.get("optimizers").toString().contains("sgdph"));
    // every bundled backend builds graph models (residual networks); the broken one says no
    for (JsonNode b : j.get("backends")) {
      if (b.get("available").asBoolean()) {
        assertEquals(Backends.KNOWN.contains(b.get("name").asText()),
            b.get("graph_models").asBoolean(), b.toString());
      }
    }
  }

  /**
   * What {@code backends} lists is what the backend builds: the graph ops ({@code add},
   * {@code identity}, {@code global_avgpool2d}) are listed exactly by the backends that build
   * graph models, and each of those builds the built-in ResNet and a graph with an identity
   * shortcut; a backend without graph models (DL4J's MultiLayerNetwork adapter) lists every
   * other layer and refuses the ResNet.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"reference", "djl", "tensorflow", "dl4j"})
  void theListedLayersAreTheOnesBuilt(String backend) throws Exception {
    Path result = dir.resolve("b.json");
    CliTest.Run r = CliTest.run("backends", "--json", result.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    JsonNode described = null;
    for (JsonNode b : json(result).get("backends")) {
      if (b.get("name").asText().equals(backend)) {
        described = b;
      }
    }
    List<String> layers = new ArrayList<>();
    described.get("layers").forEach(l -> layers.add(l.asText()));
    SpecBackend b = SpecBackend.find(backend);
    boolean graphs = b.supportsGraphModels();
    DType dtype = b.supportedDTypes().contains(DType.FLOAT32) ? DType.FLOAT32 : DType.FLOAT64;
    assertEquals(BackendDescription.layers(graphs, b.supportsRecurrentModels()), layers);
    assertEquals(graphs, layers.containsAll(BackendDescription.GRAPH_OPS), layers.toString());
    ModelSpec identity = BundledCases.load("resnet-eval-identity-probe.json").model();
    assertTrue(identity.nodes().stream().anyMatch(n -> n.op().type().equals("identity")));
    for (ModelSpec spec : List.of(BuiltInModels.RESNET.spec(), identity)) {
      Set<String> ops = new TreeSet<>();
      spec.nodes().forEach(n -> ops.add(n.op().type()));
      assertTrue(ops.containsAll(List.of("add", "global_avgpool2d")), ops.toString());
      List<NamedArray> init = DefaultInitializer.initialize(spec,
          new SplittableRandom(1));
      if (!graphs) {
        assertThrows(UnsupportedOperationException.class,
            () -> b.build(spec, init, dtype).close());
        continue;
      }
      try (SpecModel m = b.build(spec, init, dtype)) {
        assertEquals(spec.layout().dimension(), m.layout().dimension());
      }
    }
  }

  /**
   * {@code replay} of several cases skips, saying why, a case the backend does not build (an
   * LSTM on a native backend that does not build those yet, issue 20) and replays the others;
   * one such case alone is an error naming it.
   */
  @Test
  void replayOfSeveralCasesSkipsAModelTheBackendDoesNotBuild() {
    String lstm = "lstm-fashion-rows-sgn.json";
    // every real adapter builds LSTMs: the test-only backend that does not (the reference,
    // describing itself without recurrent models) keeps this test able to fail
    String backend = SequentialOnlyBackend.NAME;
    assertNotNull(SpecBackend.find(backend).unsupportedReason(BundledCases.load(lstm).model()));
    CliTest.Run r = CliTest.run("replay", "--bundled=" + CASE, "--bundled=" + lstm,
        "--backend", backend, "--dtype", "float64", "-q");
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(r.out().contains("== " + lstm + " — skipped: lstm not supported by this backend"
        + " yet (" + backend + ")"), r.out());
    assertTrue(r.out().contains("1 case replayed on " + backend + ", 0 deviations above"
        + " tolerance, 1 skipped (not built by this backend)"), r.out());
    CliTest.Run alone = CliTest.run("replay", "--bundled=" + lstm, "--backend", backend,
        "--dtype", "float64", "-q");
    assertEquals(Main.EXIT_USAGE, alone.code(), alone.out());
    assertTrue(alone.err().contains("lstm not supported by this backend yet (" + backend + ")"),
        alone.err());
  }
}
