package io.github.sgdph.cases.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.ProbeResult;
import io.github.sgdph.cases.Trajectory;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.tensor.DType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every class of bad input fails with a message that starts with the field's JSON path. */
class CaseJsonErrorTest {

  private static final String BASE =
      """
      {
        "format": "sgdph-case/1",
        "dtype": "float64",
        "model": {
          "input_shape": [3],
          "layers": [
            {"type": "dense", "in": 3, "out": 2},
            {"type": "tanh"},
            {"type": "dense", "in": 2, "out": 2, "bias": false}
          ],
          "loss": "softmax_cross_entropy"
        },
        "parameters": [
          {"name": "0.weight", "shape": [2, 3], "values": [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]},
          {"name": "0.bias", "shape": [2], "values": [0.0, 0.1]},
          {"name": "2.weight", "shape": [2, 2], "values": [1, 0, 0, 1]}
        ],
        "data": {"batches": [{"x": {"shape": [2, 3], "values": [1, 2, 3, 4, 5, 6]},
                              "y": {"shape": [2], "values": [0, 1]}}]},
        "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
        "steps": 2,
        "probe": {"vector": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}
      }
      """;

  private static String with(String from, String to) {
    assertTrue(BASE.contains(from), "fixture lacks: " + from);
    assertEquals(BASE.indexOf(from), BASE.lastIndexOf(from), "ambiguous: " + from);
    return BASE.replace(from, to);
  }

  private static String readError(String json) {
    return assertThrows(CaseFormatException.class, () -> CaseJson.readCase(json)).getMessage();
  }

  private static void assertStartsWith(String prefix, String message) {
    assertTrue(message.startsWith(prefix), "expected a message starting with <" + prefix
        + "> but was <" + message + ">");
  }

  @Test
  void baseFixtureIsValid() {
    CaseFile c = CaseJson.readCase(BASE);
    assertEquals(2, c.steps());
    assertEquals(3, c.parameters().size());
  }

  @Test
  void unknownTopLevelField() {
    String m = readError(with("\"steps\": 2,", "\"steps\": 2, \"stepz\": 3,"));
    assertStartsWith("stepz: unknown field of a case; the fields are [format, dtype,", m);
  }

  @Test
  void unknownFieldInLayer() {
    String m = readError(with("{\"type\": \"tanh\"}", "{\"type\": \"tanh\", \"alpha\": 1}"));
    assertStartsWith("model.layers[1].alpha: unknown field of a tanh layer; the fields are [type]", m);
    m = readError(with("\"in\": 3, \"out\": 2}", "\"in\": 3, \"out\": 2, \"stride\": 1}"));
    assertStartsWith("model.layers[0].stride: unknown field of a dense layer", m);
  }

  @Test
  void unknownFieldInParameterEntryBatchProbeAndModel() {
    String m = readError(with("{\"name\": \"0.bias\",", "{\"name\": \"0.bias\", \"grad\": [1, 2],"));
    assertStartsWith("parameters[1] (0.bias).grad: unknown field of a parameter entry", m);
    m = readError(with("\"y\": {\"shape\": [2],", "\"y\": {\"dtype\": \"int\", \"shape\": [2],"));
    assertStartsWith("data.batches[0].y.dtype: unknown field", m);
    m = readError(with("\"probe\": {", "\"probe\": {\"scale\": 1, "));
    assertStartsWith("probe.scale: unknown field", m);
    m = readError(with("\"input_shape\": [3],", "\"input_shape\": [3], \"name\": \"mlp\","));
    assertStartsWith("model.name: unknown field of the model", m);
  }

  @Test
  void unknownLayerType() {
    String m = readError(with("{\"type\": \"tanh\"}", "{\"type\": \"tahn\"}"));
    assertStartsWith("model.layers[1].type: unknown layer type \"tahn\"; known: dense, conv2d,"
        + " batchnorm, relu, tanh, sigmoid, softplus, flatten, maxpool2d, avgpool2d", m);
  }

  @Test
  void unknownLoss() {
    String m = readError(with("\"softmax_cross_entropy\"", "\"cross_entropy\""));
    assertStartsWith("model.loss: unknown 'cross_entropy'", m);
    assertTrue(m.contains("mse"), m);
  }

  @Test
  void unknownOptimizerListsTheRegisteredOnes() {
    String m = readError(with("\"name\": \"sgd\"", "\"name\": \"sgdd\""));
    assertStartsWith("optimizer.name: unknown optimizer \"sgdd\"; known: ", m);
    for (String name : Optimizers.names()) {
      assertTrue(m.contains(name), m);
    }
  }

  @Test
  void invalidHyperParameterFailsAtReadTime() {
    String m = readError(with("\"lr\": 0.1", "\"lr\": -1"));
    assertStartsWith("optimizer.lr: ", m);
    m = readError(with("\"momentum\": 0.9", "\"momentun\": 0.9"));
    assertStartsWith("optimizer.momentun: unknown hyper-parameter", m);
    m = readError(with("\"momentum\": 0.9", "\"momentum\": null"));
    assertStartsWith("optimizer.momentum: null is not a hyper-parameter value", m);
  }

  @Test
  void valueCountNotMatchingShapeNamesTheEntry() {
    String m = readError(with("\"values\": [0.0, 0.1]", "\"values\": [0.0, 0.1, 0.2]"));
    assertStartsWith("parameters[1] (0.bias): shape [2] needs 2 values but has 3", m);
    m = readError(with("\"values\": [1, 2, 3, 4, 5, 6]", "\"values\": [1, 2, 3, 4, 5]"));
    assertStartsWith("data.batches[0].x: shape [2, 3] needs 6 values but has 5", m);
  }

  @Test
  void shapeNotMatchingTheModelNamesTheEntry() {
    String m = readError(with(
        "\"shape\": [2], \"values\": [0.0, 0.1]", "\"shape\": [1, 2], \"values\": [0.0, 0.1]"));
    assertStartsWith("parameters[1] (0.bias): shape [1, 2] but the model needs [2]", m);
    m = readError(with("\"shape\": [2, 3], \"values\": [1,", "\"shape\": [3, 2], \"values\": [1,"));
    assertStartsWith("data.batches[0].y.shape: batch size 2 differs from x's 3", m);
    m = readError(with("\"values\": [0, 1]", "\"values\": [0, 2]"));
    assertStartsWith("data.batches[0].y: label 1 is 2.0", m);
    m = readError(with("\"vector\": [1, 0, ", "\"vector\": [1, "));
    assertStartsWith("probe.vector: expected 12 values", m);
  }

  @Test
  void invalidLayerValuesAreLabelledWithTheLayer() {
    String m = readError(with("\"in\": 3, \"out\": 2}", "\"in\": 3, \"out\": 0}"));
    assertStartsWith("model.layers[0].out: must be positive but was 0", m);
    m = readError(with("\"in\": 2, \"out\": 2,", "\"in\": 4, \"out\": 2,"));
    assertStartsWith("model.layers[2]: dense expects input [4]", m);
    m = readError(with("{\"type\": \"tanh\"}", "{\"type\": \"batchnorm\", \"features\": 2, \"mode\": \"test\"}"));
    assertStartsWith("model.layers[1].mode: expected \"train\" or \"eval\" but was \"test\"", m);
    m = readError(with("{\"type\": \"tanh\"}", "{\"type\": \"maxpool2d\", \"kernel\": [1, 2, 3]}"));
    assertStartsWith("model.layers[1].kernel: expected an integer or [h, w] but was an array", m);
    m = readError(with("{\"type\": \"tanh\"}", "{\"type\": \"maxpool2d\"}"));
    assertStartsWith("model.layers[1].kernel: missing required field", m);
  }

  @Test
  void missingFieldsAndWrongTypes() {
    assertStartsWith("steps: missing required field", readError(with("\"steps\": 2,", "")));
    assertStartsWith("steps: expected an integer but was the string \"2\"",
        readError(with("\"steps\": 2,", "\"steps\": \"2\",")));
    assertStartsWith("steps: expected an integer (no fraction or exponent) but was 2.0",
        readError(with("\"steps\": 2,", "\"steps\": 2.0,")));
    assertStartsWith("steps: must be >= 0 but was -1",
        readError(with("\"steps\": 2,", "\"steps\": -1,")));
    assertStartsWith("model.layers[0].in: expected an integer (no fraction or exponent) but was 3.0",
        readError(with("\"in\": 3, \"out\": 2}", "\"in\": 3.0, \"out\": 2}")));
    assertStartsWith("model.layers[0].type: missing required field",
        readError(with("{\"type\": \"dense\", \"in\": 3,", "{\"in\": 3,")));
    assertStartsWith("model.layers[2].bias: expected true or false but was the string \"no\"",
        readError(with("\"bias\": false", "\"bias\": \"no\"")));
    assertStartsWith("parameters[1] (0.bias).values[1]: expected a number but was the string",
        readError(with("[0.0, 0.1]", "[0.0, \"0.1\"]")));
    assertStartsWith("parameters[0] (0.weight).shape[1]: expected an integer",
        readError(with("\"shape\": [2, 3], \"values\": [0.1", "\"shape\": [2, 3.5], \"values\": [0.1")));
    assertStartsWith("parameters[1]: expected a parameter entry (a JSON object) but was an array",
        readError(with("{\"name\": \"0.bias\", \"shape\": [2], \"values\": [0.0, 0.1]}", "[]")));
    assertStartsWith("dtype: expected \"float32\" or \"float64\" but was \"float16\"",
        readError(with("\"float64\"", "\"float16\"")));
    assertStartsWith("(root): expected a case (a JSON object) but was an array", readError("[]"));
  }

  @Test
  void wrongFormatTag() {
    // sgdph-case/2 (graph models) is a valid version since issue 16; /3 is not.
    assertStartsWith(
        "format: expected \"sgdph-case/1\" or \"sgdph-case/2\" but was \"sgdph-case/3\"",
        readError(with("sgdph-case/1", "sgdph-case/3")));
    assertStartsWith("format: missing required field",
        readError(with("\"format\": \"sgdph-case/1\",", "")));
    String asTrajectory = assertThrows(
        CaseFormatException.class, () -> CaseJson.readTrajectory(BASE)).getMessage();
    assertStartsWith("format: \"sgdph-case/1\" is a case, not a trajectory", asTrajectory);
  }

  @Test
  void malformedJsonReportsLineAndColumn() {
    // drop the comma after "steps": 2 -> the parser stops at "probe" on the next line
    String bad = with("\"steps\": 2,", "\"steps\": 2");
    CaseFormatException e =
        assertThrows(CaseFormatException.class, () -> CaseJson.readCase(bad));
    String[] lines = bad.split("\n", -1);
    int line = 0;
    while (!lines[line].contains("\"probe\"")) {
      line++;
    }
    int col = lines[line].indexOf('"') + 1;
    assertEquals(line + 1, e.line());
    assertEquals(col, e.column());
    assertStartsWith("steps: malformed JSON at " + (line + 1) + ":" + col
        + " (line:column): Unexpected character ('\"'): was expecting comma to separate Object"
        + " entries", e.getMessage());

    CaseFormatException nan = assertThrows(CaseFormatException.class,
        () -> CaseJson.readCase(with("[0.0, 0.1]", "[0.0, NaN]")));
    assertStartsWith("parameters[1].values[1]: malformed JSON at ", nan.getMessage());
    assertTrue(nan.getMessage().contains("NaN and Infinity are not JSON numbers"), nan.getMessage());

    CaseFormatException dup = assertThrows(CaseFormatException.class,
        () -> CaseJson.readCase(with("\"steps\": 2,", "\"steps\": 2, \"steps\": 3,")));
    assertTrue(dup.getMessage().contains("Duplicate field 'steps'"), dup.getMessage());
    assertStartsWith("steps: malformed JSON", dup.getMessage());

    CaseFormatException truncated = assertThrows(CaseFormatException.class,
        () -> CaseJson.readCase(BASE.substring(0, BASE.indexOf("0.4"))));
    assertStartsWith("parameters[0].values[3]: malformed JSON at ", truncated.getMessage());
  }

  @Test
  void expectedMustFitTheCase() {
    String steps = "\"steps\": 2,";
    String m = readError(with(steps, steps + " \"expected\": {\"loss\": [1.0]},"));
    assertStartsWith("expected.loss: has 1 values but steps is 2", m);
    m = readError(with(steps, steps + " \"expected\": {\"backend\": \"x\"},"));
    assertStartsWith("expected.loss: missing field, required when steps > 0", m);
    m = readError(with(steps, steps + " \"expected\": {\"loss\": [1, 2], \"losses\": []},"));
    assertStartsWith("expected.losses: unknown field of the expected trajectory", m);
    m = readError(with(steps, steps + " \"expected\": {\"loss\": [1, 2], \"parameters\": ["
        + "{\"name\": \"0.weight\", \"shape\": [2, 3], \"values\": [1, 2, 3, 4, 5, 6]}]},"));
    assertStartsWith("expected.parameters: the model has 3 entries", m);
    m = readError(with(steps, steps + " \"expected\": {\"loss\": [1, 2], \"probe\": {\"loss\": 1,"
        + " \"gradient\": [1], \"hvp\": [1], \"ggnvp\": [1]}},"));
    assertStartsWith("expected.probe.gradient: expected 12 values (one per trainable entry) but has 1", m);
    m = readError(with(steps, steps + " \"expected\": {\"loss\": [1, 2], \"probe\": {\"loss\": 1,"
        + " \"gradient\": [1], \"hvp\": [1, 2], \"ggnvp\": [1]}},"));
    assertStartsWith("expected.probe.hvp: has 2 values but gradient has 1", m);
  }

  @Test
  void trajectoryErrors() {
    String t =
        """
        {"format": "sgdph-trajectory/1", "backend": "reference", "dtype": "float64",
         "loss": [1, 0.5],
         "parameters": [{"name": "w", "shape": [2], "values": [1, 2]},
                        {"name": "w", "shape": [1], "values": [3]}]}
        """;
    String m = assertThrows(CaseFormatException.class, () -> CaseJson.readTrajectory(t)).getMessage();
    assertStartsWith("parameters[1] (w): duplicate entry name; first at parameters[0]", m);
    String t2 = t.replace("\"backend\": \"reference\", ", "");
    m = assertThrows(CaseFormatException.class, () -> CaseJson.readTrajectory(t2)).getMessage();
    assertStartsWith("backend: missing required field", m);
    String t3 = t.replace("\"loss\": [1, 0.5]", "\"loss\": [1, 0.5], \"steps\": 2");
    m = assertThrows(CaseFormatException.class, () -> CaseJson.readTrajectory(t3)).getMessage();
    assertStartsWith("steps: unknown field of a trajectory", m);
  }

  @Test
  void writingNaNOrInfinityIsRefusedNamingTheField() {
    CaseFile c = CaseFixtures.everyLayerCase();
    double[] probe = c.probeVector();
    probe[4] = Double.NaN;
    // a case can no longer even hold a NaN probe: the record refuses it, naming the field
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class,
            () -> new CaseFile(c.dtype(), c.model(), c.parameters(), c.batches(), c.optimizer(),
                c.steps(), probe, null));
    assertStartsWith("probe.vector: value 4 is NaN", e.getMessage());
    String m;

    List<NamedArray> params =
        List.of(new NamedArray("0.weight", new int[] {2}, new double[] {1, Double.POSITIVE_INFINITY}));
    Trajectory t = new Trajectory("reference", DType.FLOAT64, new double[] {1, Double.NaN}, params, null);
    m = assertThrows(CaseFormatException.class, () -> CaseJson.toJson(t)).getMessage();
    assertStartsWith("loss[1]: NaN cannot be written", m);
    Trajectory t2 = new Trajectory("reference", DType.FLOAT64, new double[] {1}, params, null);
    m = assertThrows(CaseFormatException.class, () -> CaseJson.toJson(t2)).getMessage();
    assertStartsWith("parameters[0] (0.weight).values[1]: Infinity cannot be written", m);
    Trajectory t3 = new Trajectory("reference", DType.FLOAT64, new double[] {1}, List.of(),
        new ProbeResult(Double.NEGATIVE_INFINITY, new double[0], new double[0], new double[0]));
    m = assertThrows(CaseFormatException.class, () -> CaseJson.toJson(t3)).getMessage();
    assertStartsWith("probe.loss: -Infinity cannot be written", m);
  }

  @Test
  void writerRefusesWhatTheReaderWouldRefuse(@TempDir Path dir) throws Exception {
    CaseFile c = CaseFixtures.everyLayerCase();
    CaseFile badOpt = new CaseFile(c.dtype(), c.model(), c.parameters(), c.batches(),
        new io.github.sgdph.optim.OptimizerSpec("sgd", java.util.Map.of("lr", -1.0)),
        c.steps(), null, null);
    Path f = dir.resolve("bad.json");
    String m = assertThrows(CaseFormatException.class, () -> CaseJson.writeCase(badOpt, f))
        .getMessage();
    assertStartsWith("optimizer.lr: ", m);
    assertTrue(!Files.exists(f), "nothing is written when the check fails");

    CaseFile badExpected = c.withExpected(
        new Trajectory(null, null, new double[] {1}, List.of(), null));
    m = assertThrows(CaseFormatException.class, () -> CaseJson.toJson(badExpected)).getMessage();
    assertStartsWith("expected.loss: has 1 values but steps is 3", m);

    Trajectory noBackend = new Trajectory(null, DType.FLOAT64, new double[0], List.of(), null);
    m = assertThrows(CaseFormatException.class, () -> CaseJson.toJson(noBackend)).getMessage();
    assertStartsWith("backend: a trajectory file needs the backend's name", m);
  }

  @Test
  void invalidUtf8FileIsACaseFormatException(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("latin1.json");
    Files.write(f, BASE.replace("sgdph-case/1", "sgdph-case/1\u00e9").getBytes(StandardCharsets.ISO_8859_1));
    String m = assertThrows(CaseFormatException.class, () -> CaseJson.readCase(f)).getMessage();
    assertStartsWith("(root): ", m);
    assertTrue(m.contains("not valid UTF-8"), m);
  }
}
