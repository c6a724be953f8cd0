package io.github.sgdph.cases.json;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.github.sgdph.model.ModelSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The graph model of docs/CASE-FORMAT.md reads as described there. */
class DocsCaseFormatExampleTest {

  @Test
  void theDocumentedGraphModelReads() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "CASE-FORMAT.md"), StandardCharsets.UTF_8);
    int start = doc.indexOf("```json\n") + "```json\n".length();
    String json = doc.substring(start, doc.indexOf("```", start));
    ModelSpec m = CaseJson.readModel(json);
    assertFalse(m.isSequential());
    assertEquals(14, m.nodes().size());
    assertEquals(List.of("relu"), m.nodes().get(m.indexOf("block.downsample.0")).inputs());
    assertEquals(List.of("block.conv1"), m.nodes().get(m.indexOf("block.bn1")).inputs());
    assertArrayEquals(new int[] {8, 4, 4}, m.outputShapeOf(m.indexOf("block.add")));
    List<String> names = m.entries().stream().map(ModelSpec.Entry::name).toList();
    assertEquals("conv1.weight", names.get(0));
    assertEquals(List.of("conv1.weight", "bn1.weight", "bn1.bias", "block.conv1.weight"),
        names.subList(0, 4));
    assertEquals("fc.bias", names.get(names.size() - 1));
    assertEquals(m, CaseJson.readModel(CaseJson.toJson(m)));
  }
}
