package io.github.sgdph.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.sgdph.data.ArrayDataset;
import io.github.sgdph.model.DefaultInitializer;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.model.SpecModel;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.train.Training;
import io.github.sgdph.train.TrainingState;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointFileTest {
  @TempDir Path dir;

  static final ModelSpec SPEC = new ModelSpec(new int[] {4},
      List.of(new LayerSpec.Dense(4, 5, true),
          new LayerSpec.BatchNorm(5, 1e-5, 0.1, LayerSpec.Mode.TRAIN),
          new LayerSpec.Activation(LayerSpec.ActivationKind.RELU),
          new LayerSpec.Dense(5, 3, true)),
      LossKind.SOFTMAX_CROSS_ENTROPY);

  static ArrayDataset data() {
    SplittableRandom r = new SplittableRandom(3);
    double[] x = new double[40 * 4];
    double[] y = new double[40];
    for (int i = 0; i < 40; i++) {
      for (int j = 0; j < 4; j++) {
        x[i * 4 + j] = r.nextGaussian();
      }
      y[i] = x[i * 4] > 0 ? (x[i * 4 + 1] > 0 ? 2 : 1) : 0;
    }
    return new ArrayDataset("d", x, new int[] {4}, y, new int[0]);
  }

  static SpecModel model(long seed) {
    return SpecBackend.find("reference").build(SPEC,
        DefaultInitializer.initialize(SPEC, new SplittableRandom(seed)), DType.FLOAT64);
  }

  static Training.Builder run(SpecModel m, String opt) {
    return Training.builder().model(m).trainingData(data()).batchSize(8).seed(5).epochs(3)
        .optimizer(Optimizers.create(new OptimizerSpec(opt, Map.of())));
  }

  @Test
  void aRunResumedFromTheFileEndsBitIdenticalToTheUninterruptedOne() {
    for (String opt : List.of("sgdph", "sgn", "bdhf", "adam")) {
      List<NamedArray> expected;
      try (SpecModel m = model(1)) {
        run(m, opt).build().run();
        expected = m.exportParameters();
      }
      Path ck = dir.resolve(opt + ".ckpt");
      try (SpecModel m = model(1)) {
        run(m, opt).epochs(1).checkpoints(CheckpointFile.sink(ck), 3).build().run();
      }
      TrainingState s = CheckpointFile.read(ck);
      assertEquals(1, s.epoch());
      assertEquals(0, s.batch());
      assertEquals(5, s.step());
      try (SpecModel m = model(2)) {
        run(m, opt).resume(s).build().run();
        List<NamedArray> got = m.exportParameters();
        for (int i = 0; i < expected.size(); i++) {
          assertArrayEquals(expected.get(i).values(), got.get(i).values(), 0.0,
              opt + ": " + expected.get(i).name());
        }
      }
    }
  }

  @Test
  void stateRoundTripsExactly() throws IOException {
    List<TrainingState> saved = new java.util.ArrayList<>();
    try (SpecModel m = model(1)) {
      run(m, "sgdph").checkpoints(saved::add, 2).build().run();
    }
    for (TrainingState s : saved) {
      Path f = dir.resolve("s.ckpt");
      CheckpointFile.write(s, f);
      TrainingState r = CheckpointFile.read(f);
      assertEquals(s.optimizer(), r.optimizer());
      assertEquals(s.spec(), r.spec());
      assertEquals(s.epochLossSum(), r.epochLossSum(), 0.0);
      assertEquals(List.of(s.epoch(), s.batch(), (int) s.step()),
          List.of(r.epoch(), r.batch(), (int) r.step()));
      for (int i = 0; i < s.parameters().size(); i++) {
        assertArrayEquals(s.parameters().get(i).values(), r.parameters().get(i).values(), 0.0);
      }
      for (int i = 0; i < s.runningStatistics().size(); i++) {
        assertArrayEquals(s.runningStatistics().get(i).values(),
            r.runningStatistics().get(i).values(), 0.0);
      }
      try (var files = Files.list(dir)) {
        assertEquals(List.of(f), files.toList(), "no temporary file is left behind");
      }
    }
  }

  private TrainingState saved() {
    List<TrainingState> saved = new java.util.ArrayList<>();
    try (SpecModel m = model(1)) {
      run(m, "sgd").epochs(1).checkpoints(saved::add, 0).build().run();
    }
    return saved.get(0);
  }

  /** The archive with one entry's bytes changed. */
  private Path edited(Path f, String entry, java.util.function.UnaryOperator<byte[]> edit)
      throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(f));
        ZipOutputStream z = new ZipOutputStream(out)) {
      ZipEntry e;
      while ((e = in.getNextEntry()) != null) {
        byte[] b = in.readAllBytes();
        z.putNextEntry(new ZipEntry(e.getName()));
        z.write(e.getName().equals(entry) ? edit.apply(b) : b);
        z.closeEntry();
      }
    }
    return Files.write(dir.resolve("edited.ckpt"), out.toByteArray());
  }

  private void fails(Path f, String expected) {
    DataFileException e = assertThrows(DataFileException.class, () -> CheckpointFile.read(f));
    assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void corruptOrForeignFilesAreNamed() throws IOException {
    Path f = dir.resolve("c.ckpt");
    CheckpointFile.write(saved(), f);
    fails(edited(f, "arrays.bin", b -> {
      b[17] ^= 1;
      return b;
    }), "corrupt: the arrays' SHA-256 is");
    fails(edited(f, "checkpoint.json", b -> new String(b).replace("\"version\" : 1",
        "\"version\" : 7").getBytes()), "format version 7 is not supported");
    fails(edited(f, "checkpoint.json", b -> new String(b).replace("sgdph-checkpoint",
        "something").getBytes()), "format is 'something'");
    fails(edited(f, "checkpoint.json", b -> java.util.Arrays.copyOf(b, b.length / 2)),
        "corrupt checkpoint.json");
    byte[] whole = Files.readAllBytes(f);
    fails(Files.write(dir.resolve("t.ckpt"), java.util.Arrays.copyOf(whole, whole.length / 3)),
        "not");
    fails(Files.writeString(dir.resolve("x.ckpt"), "hello"), "not an sgdph checkpoint");
    fails(dir.resolve("none.ckpt"), "no such checkpoint");
  }

  @Test
  void aCheckpointOfAnotherOptimizerIsRefusedByTheRun() {
    TrainingState s = saved();
    try (SpecModel m = model(1)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> run(m, "adam").resume(s).build().run());
      assertTrue(e.getMessage().contains("optimizer: saved sgd, this run's adam"),
          e.getMessage());
    }
  }

  @Test
  void aFailedWriteLeavesThePreviousCheckpoint() throws IOException {
    Path f = dir.resolve("keep.ckpt");
    TrainingState s = saved();
    CheckpointFile.write(s, f);
    byte[] before = Files.readAllBytes(f);
    Path missingDir = dir.resolve("no/such/dir/keep.ckpt");
    assertThrows(java.io.UncheckedIOException.class, () -> CheckpointFile.write(s, missingDir));
    assertArrayEquals(before, Files.readAllBytes(f));
  }
}
