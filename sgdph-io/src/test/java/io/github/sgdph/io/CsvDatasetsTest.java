package io.github.sgdph.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.data.ArrayDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvDatasetsTest {
  @TempDir Path dir;

  Path csv(String text) throws IOException {
    return Files.writeString(dir.resolve("d.csv"), text);
  }

  @Test
  void classificationWithHeaderAndLabelLast() throws IOException {
    ArrayDataset d = CsvDatasets.classification(
        csv("a,b,label\n1,2,0\n\n3.5, -4 ,2\n"), -1, true, ',');
    assertEquals(2, d.size());
    ArrayBatch b = d.range(0, 2);
    assertArrayEquals(new double[] {1, 2, 3.5, -4}, b.x());
    assertArrayEquals(new double[] {0, 2}, b.y());
  }

  @Test
  void regressionWithTwoTargets() throws IOException {
    ArrayDataset d = CsvDatasets.regression(csv("1;2;3;4\n5;6;7;8\n"), new int[] {0, 2}, false,
        ';');
    assertArrayEquals(new int[] {2}, d.sampleShape());
    assertArrayEquals(new int[] {2}, d.labelShape());
    assertArrayEquals(new double[] {2, 4, 6, 8}, d.range(0, 2).x());
    assertArrayEquals(new double[] {1, 3, 5, 7}, d.range(0, 2).y());
  }

  private void fails(String text, String expected) throws IOException {
    Path f = csv(text);
    DataFileException e = assertThrows(DataFileException.class,
        () -> CsvDatasets.classification(f, -1, false, ','));
    assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void badValuesAreNamedByLineAndColumn() throws IOException {
    fails("1,2,0\n1,x,1\n", "line 2, column 2: 'x' is not a number");
    fails("a,b,c\n1,2,0\n", "line 1, column 1: 'a' is not a number (a header line? pass header)");
    fails("1,2,0\n1,2\n", "line 2 has 2 values but the first data line has 3");
    fails("1,2,0.5\n", "line 1, column 3: a class label must be an integer >= 0 but is 0.5");
    fails("1,NaN,0\n", "line 1, column 2: NaN is not finite");
    fails("\n\n", "no data lines");
    DataFileException e = assertThrows(DataFileException.class,
        () -> CsvDatasets.classification(dir.resolve("none.csv"), 0, false, ','));
    assertTrue(e.getMessage().contains("no such file"));
  }
}
