package io.github.sgdph.cases.json;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.tensor.DType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** LSTM layers and sequence data in case files (issue 20; docs/CASE-FORMAT.md, "LSTM"). */
class LstmCaseJsonTest {

  private static ModelSpec lstmModel() {
    return new ModelSpec(new int[] {4, 3},
        List.of(new LayerSpec.Lstm(3, 2, 2, false), new LayerSpec.Dense(2, 3, true)),
        LossKind.SOFTMAX_CROSS_ENTROPY);
  }

  private static CaseFile lstmCase() {
    Random rng = new Random(5);
    ModelSpec m = lstmModel();
    List<NamedArray> p = CaseFixtures.parameters(m, rng);
    ArrayBatch b = new ArrayBatch(CaseFixtures.gaussian(2 * 12, rng), new int[] {2, 4, 3},
        new double[] {0, 2}, new int[] {2});
    int dim = (int) m.layout().dimension();
    return new CaseFile(DType.FLOAT64, m, p, List.of(b),
        new OptimizerSpec("bdhf", Map.of("lambda", 1.0)), 2, CaseFixtures.gaussian(dim, rng),
        null);
  }

  @Test
  void anLstmCaseIsWrittenAsVersion2AndRoundTrips() {
    CaseFile c = lstmCase();
    String json = CaseJson.toJson(c);
    assertTrue(json.contains("\"format\": \"sgdph-case/2\""), json.substring(0, 80));
    assertTrue(json.contains("{\"type\": \"lstm\", \"in\": 3, \"hidden\": 2, \"num_layers\": 2,"
        + " \"return_sequences\": false}"), json);
    CaseFile back = CaseJson.readCase(json);
    assertEquals(c, back);
    assertEquals(json, CaseJson.toJson(back));
  }

  @Test
  void aVersion1FileMayNotHoldAnLstm() {
    String json = CaseJson.toJson(lstmCase()).replace("sgdph-case/2", "sgdph-case/1");
    CaseFormatException e = assertThrows(CaseFormatException.class, () -> CaseJson.readCase(json));
    assertEquals("model.layers[0].type: \"lstm\" needs \"format\": \"sgdph-case/2\"",
        e.getMessage());
  }

  @Test
  void defaultsAndNamedErrors() {
    ModelSpec m = CaseJson.readModel("{\"input_shape\": [5, 2], \"layers\": [{\"type\": \"lstm\","
        + " \"in\": 2, \"hidden\": 3}, {\"type\": \"dense\", \"in\": 3, \"out\": 2}],"
        + " \"loss\": \"mse\"}");
    assertEquals(new LayerSpec.Lstm(2, 3, 1, false), m.layers().get(0));
    assertEquals(
        "layers[0].hidden: must be positive but was 0",
        assertThrows(IllegalArgumentException.class, () -> CaseJson.readModel(
            "{\"input_shape\": [5, 2], \"layers\": [{\"type\": \"lstm\", \"in\": 2,"
                + " \"hidden\": 0}], \"loss\": \"mse\"}")).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> CaseJson.readModel(
            "{\"input_shape\": [10], \"layers\": [{\"type\": \"lstm\", \"in\": 2,"
                + " \"hidden\": 3}], \"loss\": \"mse\"}")).getMessage()
        .contains("layers[0]: lstm expects sequences [T, 2] (T time steps of 2 features) but"
            + " gets [10] (rank 1, not 2)"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> CaseJson.readModel(
            "{\"input_shape\": [5, 2], \"layers\": [{\"type\": \"lstm\", \"in\": 2,"
                + " \"hidden\": 3, \"layers\": 2}], \"loss\": \"mse\"}")).getMessage()
        .startsWith("layers[0].layers: unknown field"));
  }

  @Test
  void sequencesOfTheWrongLengthOrWeightsOfTheWrongShapeAreNamed() {
    CaseFile c = lstmCase();
    ArrayBatch shortSeq = new ArrayBatch(new double[2 * 9], new int[] {2, 3, 3},
        new double[] {0, 1}, new int[] {2});
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> CaseFile.validateBatch(c.model(), shortSeq, "data.batches[0]"));
    assertEquals("data.batches[0].x.shape: expected [n, 4, 3] but was [2, 3, 3]", e.getMessage());
    List<NamedArray> p = new java.util.ArrayList<>(c.parameters());
    NamedArray whh = p.get(1);
    p.set(1, new NamedArray(whh.name(), new int[] {8, 3}, new double[24], true));
    e = assertThrows(IllegalArgumentException.class, () -> c.model().validateParameters(p));
    assertEquals("parameters[1] (0.weight_hh_l0): shape [8, 3] but the model needs [8, 2]",
        e.getMessage());
  }

  @Test
  void theDocumentedLstmCaseReads() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "CASE-FORMAT.md"), StandardCharsets.UTF_8);
    int section = doc.indexOf("## LSTM");
    int start = doc.indexOf("```json\n", section) + "```json\n".length();
    CaseFile c = CaseJson.readCase(doc.substring(start, doc.indexOf("```", start)));
    ModelSpec m = c.model();
    assertEquals(List.of("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_l0",
            "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_l1", "head.weight", "head.bias"),
        m.entries().stream().map(ModelSpec.Entry::name).toList());
    assertArrayEquals(new int[] {4, 2}, m.entries().get(0).shape());
    assertArrayEquals(new int[] {4, 1}, m.entries().get(3).shape());
    assertArrayEquals(new int[] {3, 1}, m.outputShapeOf(0));
    assertArrayEquals(new int[] {2, 3, 2}, c.batches().get(0).xShape());
    assertEquals(c, CaseJson.readCase(CaseJson.toJson(c)));
  }
}
