package io.github.sgdph.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.data.ArrayDataset;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxFilesTest {
  @TempDir Path dir;

  static byte[] idx(int magic, int[] dims, int values) {
    ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + values);
    b.putInt(magic);
    for (int d : dims) {
      b.putInt(d);
    }
    for (int i = 0; i < values; i++) {
      b.put((byte) (i % 10));
    }
    return b.array();
  }

  static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(out)) {
      z.write(data);
    }
    return out.toByteArray();
  }

  Path file(String name, byte[] data) throws IOException {
    return Files.write(dir.resolve(name), data);
  }

  @Test
  void readsPlainAndGzippedImagesAndLabels() throws IOException {
    Path im = file("im.gz", gzip(idx(0x803, new int[] {3, 2, 2}, 12)));
    Path lb = file("lb", idx(0x801, new int[] {3}, 3));
    ArrayDataset d = IdxFiles.classification(im, lb, 0.5, 10);
    assertEquals(3, d.size());
    assertArrayEquals(new int[] {4}, d.sampleShape());
    ArrayBatch b = d.batch(1);
    assertArrayEquals(new double[] {2, 2.5, 3, 3.5}, b.x());
    assertArrayEquals(new double[] {1}, b.y());
  }

  private void fails(Path f, String expected) {
    DataFileException e = assertThrows(DataFileException.class, () -> IdxFiles.read(f));
    assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertEquals(f, e.file());
  }

  @Test
  void badFilesAreNamedWithTheirProblem() throws IOException {
    fails(file("magic", idx(0x12340803, new int[] {1, 1, 1}, 1)), "wrong magic number");
    fails(file("type", idx(0x0D01, new int[] {1}, 4)), "value type 0x0D");
    fails(file("trunc", java.util.Arrays.copyOf(idx(0x803, new int[] {2, 2, 2}, 8), 19)),
        "truncated: the header [2, 2, 2] promises 8 values but the file holds 3");
    fails(file("trail", idx(0x801, new int[] {2}, 3)), "1 bytes after the 2 values");
    fails(file("short", new byte[] {0, 0}), "too short");
    fails(file("badgz.gz", new byte[] {0x1f, (byte) 0x8b, 1, 2, 3}), "corrupt gzip");
    fails(dir.resolve("missing"), "no such file");
  }

  @Test
  void imagesAndLabelsMustPairUp() throws IOException {
    Path im = file("im", idx(0x803, new int[] {3, 2, 2}, 12));
    Path lb2 = file("lb2", idx(0x801, new int[] {2}, 2));
    DataFileException e = assertThrows(DataFileException.class,
        () -> IdxFiles.classification(im, lb2, 1, 10));
    assertTrue(e.getMessage().contains("2 labels for the 3 images"), e.getMessage());
    Path flat = file("flat", idx(0x802, new int[] {3, 4}, 12));
    Path lb = file("lb", idx(0x801, new int[] {3}, 3));
    e = assertThrows(DataFileException.class, () -> IdxFiles.classification(flat, lb, 1, 10));
    assertTrue(e.getMessage().contains("must be [count, rows, cols]"), e.getMessage());
    e = assertThrows(DataFileException.class, () -> IdxFiles.classification(im, lb, 1, 2));
    assertTrue(e.getMessage().contains("label 2 is 2 but there are 2 classes"), e.getMessage());
  }

  @Test
  void fashionMnistMissingSaysHowToGetIt() {
    DataFileException e = assertThrows(DataFileException.class,
        () -> FashionMnist.load(dir, FashionMnist.Split.TEST));
    assertTrue(e.getMessage().contains("apt-get install dataset-fashion-mnist"), e.getMessage());
    assertTrue(e.getMessage().contains(FashionMnist.PROPERTY), e.getMessage());
  }

  @Test
  void fashionMnistTestSetWhenInstalled() {
    Path d = FashionMnist.defaultDirectory();
    Assumptions.assumeTrue(Files.isDirectory(d), "Fashion-MNIST not installed at " + d);
    ArrayDataset t = FashionMnist.load(d, FashionMnist.Split.TEST);
    assertEquals(10_000, t.size());
    assertArrayEquals(new int[] {784}, t.sampleShape());
    int[] counts = new int[10];
    for (double y : t.range(0, 10_000).yView()) {
      counts[(int) y]++;
    }
    for (int c : counts) {
      assertEquals(1000, c); // the test set is balanced
    }
  }
}
