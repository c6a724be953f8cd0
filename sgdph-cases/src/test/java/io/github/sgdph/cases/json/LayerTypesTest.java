package io.github.sgdph.cases.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.sgdph.model.BackendDescription;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The layer types {@code sgdph backends} reports ({@link BackendDescription#ALL_LAYERS}) are
 * exactly those a case file may use, in the order the reader lists them.
 */
class LayerTypesTest {

  @Test
  void backendDescriptionsListTheCaseFormatsLayerTypes() {
    String model = """
        {"input_shape": [2], "layers": [{"type": "no-such-layer"}], "loss": "mse"}
        """;
    String m = assertThrows(CaseFormatException.class, () -> CaseJson.readModel(model))
        .getMessage();
    String known = m.substring(m.indexOf("known: ") + "known: ".length());
    List<String> types = Arrays.asList(known.split(", "));
    assertEquals(BackendDescription.ALL_LAYERS, types, m);
    assertEquals(BackendDescription.SEQUENTIAL_LAYERS,
        types.subList(0, BackendDescription.SEQUENTIAL_LAYERS.size()));
  }
}
