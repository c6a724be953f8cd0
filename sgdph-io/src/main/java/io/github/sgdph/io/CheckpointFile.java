package io.github.sgdph.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.sgdph.cases.json.CaseJson;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.optim.OptimizerState;
import io.github.sgdph.tensor.DType;
import io.github.sgdph.train.CheckpointSink;
import io.github.sgdph.train.TrainingState;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * Training checkpoints ({@link TrainingState}) as files: format {@value #FORMAT}, version
 * {@value #VERSION}, documented in {@code docs/CHECKPOINTS.md}. A checkpoint is a ZIP archive of
 * two entries: {@code checkpoint.json} (the run's identity, counters and a table of arrays) and
 * {@code arrays.bin} (every number of the state as little-endian float64, in table order, with
 * its SHA-256 in the JSON), so parameters and optimizer state round-trip bit for bit.
 *
 * <p>Writes are atomic: the archive is written to a temporary file in the same directory,
 * forced to the disk and renamed over the target, so a crash mid-write leaves the previous
 * checkpoint intact. Reading checks the format name, the version, the checksum and the table,
 * and names the file and the problem ({@link DataFileException}); whether the checkpoint
 * belongs to the run resuming from it is checked by {@code Training} (model, backend, dtype,
 * optimizer, seed, batch size, training-set size).
 */
public final class CheckpointFile {
  private CheckpointFile() {}

  /** The {@code format} field of every checkpoint. */
  public static final String FORMAT = "sgdph-checkpoint";

  /** The version this build writes and reads. */
  public static final int VERSION = 1;

  private static final String JSON_ENTRY = "checkpoint.json";
  private static final String ARRAYS_ENTRY = "arrays.bin";
  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * A sink that writes every checkpoint of a run to {@code file}, replacing the previous one
   * atomically.
   *
   * @param file the checkpoint file
   * @return the sink
   */
  public static CheckpointSink sink(Path file) {
    Objects.requireNonNull(file, "file");
    return s -> write(s, file);
  }

  /**
   * Writes a checkpoint atomically (temporary file, force, rename).
   *
   * @param state the state
   * @param file the target; its directory must exist
   * @throws UncheckedIOException if it cannot be written; the previous file is then unchanged
   */
  public static void write(TrainingState state, Path file) {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(file, "file");
    try {
      AtomicFiles.write(file, encode(state));
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint: cannot write " + file, e);
    }
  }

  /**
   * Reads a checkpoint.
   *
   * @param file the checkpoint file
   * @return the state it holds
   * @throws DataFileException naming the file and the problem: missing, not a checkpoint,
   *     another format version, a checksum mismatch (corrupt), or an inconsistent table
   */
  public static TrainingState read(Path file) {
    Objects.requireNonNull(file, "file");
    byte[] json = null;
    byte[] bin = null;
    try (InputStream raw = Files.newInputStream(file);
        ZipInputStream zip = new ZipInputStream(raw)) {
      ZipEntry e;
      while ((e = zip.getNextEntry()) != null) {
        if (e.getName().equals(JSON_ENTRY)) {
          json = zip.readAllBytes();
        } else if (e.getName().equals(ARRAYS_ENTRY)) {
          bin = zip.readAllBytes();
        }
      }
    } catch (NoSuchFileException e) {
      throw new DataFileException(file, "no such checkpoint");
    } catch (ZipException | java.io.EOFException e) {
      throw new DataFileException(file, "not a checkpoint, or corrupt: " + e.getMessage());
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint: cannot read " + file, e);
    }
    if (json == null || bin == null) {
      throw new DataFileException(file, "not an sgdph checkpoint (it must hold " + JSON_ENTRY
          + " and " + ARRAYS_ENTRY + ")");
    }
    try {
      return decode(file, MAPPER.readTree(json), bin);
    } catch (JsonProcessingException e) {
      throw new DataFileException(file, "corrupt " + JSON_ENTRY + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (DataFileException e) {
      throw e;
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new DataFileException(file, "inconsistent checkpoint: " + e.getMessage());
    }
  }

  // ----------------------------------------------------------------------------- encoding

  private static final class Arrays {
    final ArrayNode table = MAPPER.createArrayNode();
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    long offset;

    ObjectNode add(String group, String name, double[] v) {
      ObjectNode n = table.addObject();
      n.put("group", group);
      n.put("name", name);
      n.put("offset", offset);
      n.put("length", v.length);
      ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
      b.asDoubleBuffer().put(v);
      bytes.writeBytes(b.array());
      offset += v.length;
      return n;
    }
  }

  private static byte[] encode(TrainingState s) throws IOException {
    Arrays a = new Arrays();
    for (NamedArray p : s.parameters()) {
      ObjectNode n = a.add("parameters", p.name(), p.valuesView());
      shape(n, p.shape());
      n.put("trainable", p.trainable());
    }
    for (NamedArray p : s.runningStatistics()) {
      shape(a.add("running_statistics", p.name(), p.valuesView()), p.shape());
    }
    a.add("training", "epoch_loss_sum", new double[] {s.epochLossSum()});
    OptimizerState o = s.optimizer();
    for (Map.Entry<String, Double> e : o.scalars().entrySet()) {
      a.add("optimizer_scalar", e.getKey(), new double[] {e.getValue()});
    }
    for (String name : o.buffers().keySet()) {
      double[][] rows = o.buffer(name);
      if (rows == null) {
        ObjectNode n = a.table.addObject();
        n.put("group", "optimizer_buffer");
        n.put("name", name);
        n.putNull("row");
        continue;
      }
      for (int r = 0; r < rows.length; r++) {
        if (rows[r] == null) {
          ObjectNode n = a.table.addObject();
          n.put("group", "optimizer_buffer");
          n.put("name", name);
          n.put("row", r);
          n.put("rows", rows.length);
          n.putNull("offset");
        } else {
          ObjectNode n = a.add("optimizer_buffer", name, rows[r]);
          n.put("row", r);
          n.put("rows", rows.length);
        }
      }
    }
    byte[] bin = a.bytes.toByteArray();
    ObjectNode root = MAPPER.createObjectNode();
    root.put("format", FORMAT);
    root.put("version", VERSION);
    root.put("backend", s.backend());
    root.put("dtype", s.dtype().name().toLowerCase(java.util.Locale.ROOT));
    root.put("seed", s.seed());
    root.put("batch_size", s.batchSize());
    root.put("training_size", s.trainingSize());
    root.put("epoch", s.epoch());
    root.put("batch", s.batch());
    root.put("step", s.step());
    root.put("optimizer", o.optimizer());
    root.set("model", CaseJson.modelTree(s.spec()));
    root.put("arrays_sha256", sha256(bin));
    root.set("arrays", a.table);
    ByteArrayOutputStream out = new ByteArrayOutputStream(bin.length + 4096);
    try (ZipOutputStream zip = new ZipOutputStream(out)) {
      entry(zip, JSON_ENTRY, MAPPER.writeValueAsBytes(root));
      entry(zip, ARRAYS_ENTRY, bin);
    }
    return out.toByteArray();
  }

  private static void shape(ObjectNode n, int[] shape) {
    ArrayNode s = n.putArray("shape");
    for (int d : shape) {
      s.add(d);
    }
  }

  private static void entry(ZipOutputStream zip, String name, byte[] data) throws IOException {
    ZipEntry e = new ZipEntry(name);
    e.setTime(0); // reproducible bytes: no wall-clock time in the archive
    zip.putNextEntry(e);
    zip.write(data);
    zip.closeEntry();
  }

  private static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  // ----------------------------------------------------------------------------- decoding

  private static TrainingState decode(Path file, JsonNode root, byte[] bin) throws IOException {
    String format = root.path("format").asText(null);
    if (!FORMAT.equals(format)) {
      throw new DataFileException(file, "format is '" + format + "', not '" + FORMAT + "'");
    }
    int version = root.path("version").asInt(-1);
    if (version != VERSION) {
      throw new DataFileException(file, "format version " + version
          + " is not supported: this build reads version " + VERSION);
    }
    String sum = sha256(bin);
    if (!sum.equals(root.path("arrays_sha256").asText())) {
      throw new DataFileException(file, "corrupt: the arrays' SHA-256 is " + sum
          + " but the checkpoint records " + root.path("arrays_sha256").asText());
    }
    if (bin.length % 8 != 0) {
      throw new DataFileException(file, "corrupt: " + ARRAYS_ENTRY + " has " + bin.length
          + " bytes, not a whole number of float64 values");
    }
    double[] all = new double[bin.length / 8];
    ByteBuffer.wrap(bin).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(all);
    ModelSpec spec = CaseJson.readModel(required(file, root, "model"));
    List<NamedArray> params = new ArrayList<>();
    List<NamedArray> stats = new ArrayList<>();
    Map<String, Double> scalars = new LinkedHashMap<>();
    Map<String, double[][]> buffers = new LinkedHashMap<>();
    double epochLossSum = Double.NaN;
    for (JsonNode n : required(file, root, "arrays")) {
      String group = n.path("group").asText();
      String name = n.path("name").asText();
      boolean absent = n.path("offset").isNull() || n.path("offset").isMissingNode();
      double[] v = absent ? null : slice(file, all, n);
      switch (group) {
        case "parameters" -> params.add(new NamedArray(name, ints(n.path("shape")), v,
            n.path("trainable").asBoolean()));
        case "running_statistics" ->
            stats.add(new NamedArray(name, ints(n.path("shape")), v, false));
        case "training" -> epochLossSum = v[0];
        case "optimizer_scalar" -> scalars.put(name, v[0]);
        case "optimizer_buffer" -> {
          if (n.path("row").isNull()) {
            buffers.put(name, null);
          } else {
            double[][] rows = buffers.computeIfAbsent(name,
                k -> new double[n.path("rows").asInt()][]);
            rows[n.path("row").asInt()] = v;
          }
        }
        default -> throw new DataFileException(file, "unknown array group '" + group + "'");
      }
    }
    return new TrainingState(
        spec,
        required(file, root, "backend").asText(),
        DType.valueOf(required(file, root, "dtype").asText().toUpperCase(java.util.Locale.ROOT)),
        required(file, root, "seed").asLong(),
        required(file, root, "batch_size").asInt(),
        required(file, root, "training_size").asInt(),
        required(file, root, "epoch").asInt(),
        required(file, root, "batch").asInt(),
        required(file, root, "step").asLong(),
        epochLossSum,
        params,
        stats,
        new OptimizerState(required(file, root, "optimizer").asText(), scalars, buffers));
  }

  private static JsonNode required(Path file, JsonNode root, String field) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      throw new DataFileException(file, "the field '" + field + "' is missing");
    }
    return n;
  }

  private static double[] slice(Path file, double[] all, JsonNode n) {
    long off = n.path("offset").asLong(-1);
    long len = n.path("length").asLong(-1);
    if (off < 0 || len < 0 || off + len > all.length) {
      throw new DataFileException(file, "corrupt: array '" + n.path("name").asText()
          + "' lies outside " + ARRAYS_ENTRY);
    }
    return java.util.Arrays.copyOfRange(all, (int) off, (int) (off + len));
  }

  private static int[] ints(JsonNode a) {
    int[] r = new int[a.size()];
    for (int i = 0; i < r.length; i++) {
      r[i] = a.get(i).asInt();
    }
    return r;
  }
}
