package io.github.sgdph.cases.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.ProbeResult;
import io.github.sgdph.cases.Trajectory;
import io.github.sgdph.data.ArrayBatch;
import io.github.sgdph.model.LayerSpec;
import io.github.sgdph.model.LossKind;
import io.github.sgdph.model.ModelSpec;
import io.github.sgdph.model.NamedArray;
import io.github.sgdph.optim.OptimizerSpec;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.tensor.DType;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Reads and writes case files ({@code sgdph-case/1}, and {@code sgdph-case/2} for graph
 * models) and trajectory files ({@code sgdph-trajectory/1}) as specified in CASES.md, over
 * Jackson's tree model (RFC 8259), configured strictly.
 *
 * <h2>Reading</h2>
 *
 * Reading is strict; every problem is a {@link CaseFormatException} (an
 * {@link IllegalArgumentException}) whose message starts with the JSON path of the offending
 * field, e.g. {@code model.layers[2].kernel: ...}, {@code parameters[3] (1.bias): ...} or
 * {@code data.batches[0].x: ...}:
 *
 * <ul>
 *   <li>malformed JSON (with line and column), including duplicate member names, {@code NaN},
 *       {@code Infinity}, comments and trailing commas; nesting deeper than 256 levels and
 *       documents longer than 2<sup>30</sup> characters (Jackson's
 *       {@code StreamReadConstraints}); unpaired surrogates in strings and number literals
 *       beyond the range of a double;
 *   <li>a {@code format} other than {@value CaseFile#FORMAT} or {@value CaseFile#FORMAT_GRAPH}
 *       (resp. {@value Trajectory#FORMAT}); a {@code model.nodes} graph in a {@value
 *       CaseFile#FORMAT} file;
 *   <li>an unknown field anywhere except among the optimizer's hyper-parameters, a missing
 *       required field, a value of the wrong JSON type;
 *   <li>integer fields (shapes, {@code in}, {@code out}, {@code kernel}, {@code stride},
 *       {@code padding}, {@code features}, {@code steps}) must be integer literals: {@code 3}, not
 *       {@code 3.0} or {@code 3e0};
 *   <li>a value count that does not match its shape, naming the entry;
 *   <li>an unknown layer type, loss or optimizer, listing the known ones (the optimizers are
 *       those of {@link Optimizers#names()} at run time);
 *   <li>invalid hyper-parameters: the reader builds the optimizer once with
 *       {@link Optimizers#create}, whose messages name {@code optimizer.<key>};
 *   <li>everything {@link CaseFile}'s constructor checks (parameters against the model, batches
 *       against the input shape and the loss, the probe vector's length).
 * </ul>
 *
 * <p>Layer fields and defaults: {@code dense {in, out, bias = true}};
 * {@code conv2d {in, out, kernel, stride = 1, padding = 0, bias = true}} where {@code kernel},
 * {@code stride} and {@code padding} are an integer or {@code [h, w]};
 * {@code batchnorm {features, eps = 1e-5, momentum = 0.1, mode = "train"}} with mode
 * {@code "train"} or {@code "eval"}; {@code relu}, {@code tanh}, {@code sigmoid},
 * {@code softplus}, {@code flatten} take only {@code type};
 * {@code maxpool2d}/{@code avgpool2d {kernel, stride = kernel}}; and, in {@value
 * CaseFile#FORMAT_GRAPH} only, {@code global_avgpool2d}, {@code identity} and {@code add} take
 * only {@code type}, and {@code lstm {in, hidden, num_layers = 1, return_sequences = false}}
 * takes sequences {@code [T, in]} (a batch's {@code x} is {@code [n, T, in]}). A parameter
 * entry is {@code {name, shape, values, trainable = true}}.
 *
 * <p>A model has either {@code layers} (a sequential model) or, in {@value
 * CaseFile#FORMAT_GRAPH} only, {@code nodes}: each node is a layer object with two more
 * fields, {@code name} (required, unique) and {@code inputs} (the names of earlier nodes or
 * {@code "input"}; absent: the previous node), as {@link ModelSpec#graph} takes them
 * (docs/CASE-FORMAT.md).
 *
 * <p>The optimizer is {@code {"name": ..., <hyper-parameter>: <value>, ...}}; numbers become
 * {@link Double}s (also integer literals), arrays become {@link List}s, booleans and strings
 * stay as they are; {@code null} and objects are rejected.
 *
 * <p>A case's optional {@code expected} member has the fields of a trajectory, so that a
 * trajectory file written by {@code sgdph replay --out} can be pasted in unedited: its
 * {@code format} is optional and, when present, must be {@value Trajectory#FORMAT};
 * {@code backend} and {@code dtype} are optional (null when absent);
 * {@code loss} is required when {@code steps > 0} (empty when absent) and must have one value
 * per step; {@code parameters} is optional (an empty list when absent) and, when not empty,
 * must be exactly the model's entries; {@code probe} is optional, needs the case's
 * {@code probe}, and has one value per trainable entry in each of {@code gradient},
 * {@code hvp} and {@code ggnvp}. A trajectory file needs {@code backend}, {@code dtype},
 * {@code loss} and {@code parameters} (unique names); {@code probe} is optional.
 *
 * <h2>Writing</h2>
 *
 * The writer emits {@value CaseFile#FORMAT} with {@code layers} for a {@linkplain
 * ModelSpec#isSequential() sequential} model of version-1 layer types (files of that version are
 * unchanged), {@value CaseFile#FORMAT_GRAPH} with {@code layers} for a sequential model with
 * {@code global_avgpool2d}, {@code identity} or {@code lstm}, and {@value CaseFile#FORMAT_GRAPH} with
 * {@code nodes}, every input listed, for a graph. It
 * emits every field explicitly (all layer fields, {@code trainable} on every entry),
 * one layer, parameter entry or tensor per line with its numbers on that line, and doubles with
 * {@link Double#toString(double)}, so that reading the output gives back an equal
 * {@link CaseFile} or {@link Trajectory}, bit for bit (the optimizer's integer hyper-parameters
 * come back as {@link Double}s). Shapes, layer sizes, {@code steps} and class labels are written
 * as integers. Writing refuses, naming the field, what the reader would refuse: NaN or infinite
 * values, which JSON cannot represent, an invalid optimizer, an {@code expected} member that
 * does not fit the case, a trajectory file without backend or dtype. Nothing is written to a
 * file or writer when the check fails.
 *
 * <p>Unlike the values it writes, a hand-written {@code -0} (an integer literal) reads as
 * {@code 0.0}; {@code -0.0} keeps its sign.
 *
 * <p>Instances do not exist; all methods are static and thread-safe.
 */
public final class CaseJson {
  private static final List<String> CASE_FIELDS =
      List.of(
          "format", "dtype", "model", "parameters", "data", "optimizer", "steps", "probe",
          "expected");
  private static final List<String> TRAJECTORY_FIELDS =
      List.of("format", "backend", "dtype", "loss", "parameters", "probe");
  private static final List<String> EXPECTED_FIELDS =
      List.of("format", "backend", "dtype", "loss", "parameters", "probe");
  private static final List<String> MODEL_FIELDS = List.of("input_shape", "layers", "loss");
  private static final List<String> GRAPH_MODEL_FIELDS =
      List.of("input_shape", "layers", "nodes", "loss");
  private static final List<String> ENTRY_FIELDS = List.of("name", "shape", "values", "trainable");
  private static final List<String> DATA_FIELDS = List.of("batches");
  private static final List<String> BATCH_FIELDS = List.of("x", "y");
  private static final List<String> TENSOR_FIELDS = List.of("shape", "values");
  private static final List<String> PROBE_FIELDS = List.of("vector");
  private static final List<String> PROBE_RESULT_FIELDS =
      List.of("loss", "gradient", "hvp", "ggnvp");

  /** How to read one layer type: its allowed fields and the constructor. */
  private record LayerType(List<String> fields, Function<Fields, LayerSpec> read) {}

  private static final Map<String, LayerType> LAYER_TYPES = layerTypes();

  private static final Pattern FIELD_PATH =
      Pattern.compile("[A-Za-z_\\[][A-Za-z0-9_.\\[\\]]*( \\([^)]*\\))?");

  private CaseJson() {}

  // ------------------------------------------------------------------ reading: public API

  /**
   * Reads a case file (UTF-8).
   *
   * @param file the path of a case file, UTF-8
   * @return the validated case
   * @throws CaseFormatException naming the offending field if the file is not a valid case
   * @throws IOException if the file cannot be read
   */
  public static CaseFile readCase(Path file) throws IOException {
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return caseFrom(parse(in, file));
    }
  }

  /**
   * Reads a case from a character stream, which is read to its end but not closed.
   *
   * @param in the JSON text of a case
   * @return the validated case
   * @throws CaseFormatException naming the offending field if the text is not a valid case
   * @throws IOException if the stream cannot be read
   */
  public static CaseFile readCase(Reader in) throws IOException {
    return caseFrom(JsonText.parse(in));
  }

  /**
   * Reads a case from its JSON text (not a file name: see {@link #readCase(Path)}).
   *
   * @param json the JSON text of a case
   * @return the validated case
   * @throws CaseFormatException naming the offending field if the text is not a valid case
   */
  public static CaseFile readCase(String json) {
    return caseFrom(JsonText.parse(json));
  }

  /**
   * Reads a trajectory file (UTF-8).
   *
   * @param file the path of a trajectory file, UTF-8
   * @return the validated trajectory
   * @throws CaseFormatException naming the offending field if the file is not a valid
   *     trajectory
   * @throws IOException if the file cannot be read
   */
  public static Trajectory readTrajectory(Path file) throws IOException {
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return trajectoryFrom(parse(in, file));
    }
  }

  /**
   * Reads a trajectory from a character stream, which is read to its end but not closed.
   *
   * @param in the JSON text of a trajectory file
   * @return the validated trajectory
   * @throws CaseFormatException naming the offending field if the text is not a valid
   *     trajectory
   * @throws IOException if the stream cannot be read
   */
  public static Trajectory readTrajectory(Reader in) throws IOException {
    return trajectoryFrom(JsonText.parse(in));
  }

  /**
   * Reads a trajectory from its JSON text (not a file name: see {@link #readTrajectory(Path)}).
   *
   * @param json the JSON text of a trajectory file
   * @return the validated trajectory
   * @throws CaseFormatException naming the offending field if the text is not a valid
   *     trajectory
   */
  public static Trajectory readTrajectory(String json) {
    return trajectoryFrom(JsonText.parse(json));
  }

  // ------------------------------------------------------------------ writing: public API

  /**
   * A model spec from JSON: the {@code model} object of a case file ({@code input_shape},
   * {@code layers} or {@code nodes}, {@code loss}), on its own.
   *
   * @param json the text
   * @return the spec
   * @throws CaseFormatException naming the field that is missing or wrong
   */
  public static ModelSpec readModel(String json) {
    return readModel(JsonText.parse(json));
  }

  /**
   * A model spec from a Jackson tree: the {@code model} object of a case file, on its own (for
   * files that embed a model, such as sgdph-io's checkpoints).
   *
   * @param model the object
   * @return the spec
   * @throws CaseFormatException naming the field that is missing or wrong
   */
  public static ModelSpec readModel(JsonNode model) {
    return model(Fields.of(model, "", "a model", GRAPH_MODEL_FIELDS), true);
  }

  /**
   * A model spec as a Jackson tree: the {@code model} object of a case file, as
   * {@link #toJson(ModelSpec)} writes it.
   *
   * @param m the spec
   * @return a new object node that {@link #readModel(JsonNode)} reads back as an equal spec
   */
  public static ObjectNode modelTree(ModelSpec m) {
    ObjectNode out = JsonText.NODES.objectNode();
    out.set("input_shape", ints(m.inputShape()));
    ArrayNode layers = out.arrayNode();
    if (m.isSequential()) {
      for (LayerSpec l : m.layers()) {
        layers.add(layerTree(l, null));
      }
      out.set("layers", layers);
    } else {
      for (ModelSpec.Node n : m.nodes()) {
        layers.add(layerTree(n.op(), n));
      }
      out.set("nodes", layers);
    }
    out.put("loss", m.loss().jsonName());
    return out;
  }

  /**
   * The JSON text of a model spec (a case file's {@code model} object), ending with a newline.
   *
   * @param m the spec
   * @return text that {@link #readModel(String)} reads back as an equal spec
   */
  public static String toJson(ModelSpec m) {
    return JsonText.write(modelTree(m));
  }

  /**
   * The JSON text of a case, ending with a newline.
   *
   * @param c the case
   * @return the case file's text, which {@link #readCase(String)} reads back as an equal case
   * @throws CaseFormatException naming the field if the case cannot be written (see the class
   *     documentation)
   */
  public static String toJson(CaseFile c) {
    return JsonText.write(caseTree(c));
  }

  /**
   * The JSON text of a trajectory file, ending with a newline.
   *
   * @param t the trajectory, with a backend and a dtype
   * @return the trajectory file's text, which {@link #readTrajectory(String)} reads back as an
   *     equal trajectory
   * @throws CaseFormatException naming the field if the trajectory cannot be written (see the
   *     class documentation)
   */
  public static String toJson(Trajectory t) {
    return JsonText.write(trajectoryTree(t));
  }

  /**
   * Writes a case file (UTF-8), replacing an existing file. Nothing is written if the case
   * cannot be written.
   *
   * @param c the case
   * @param file the path to write, created or truncated
   * @throws CaseFormatException naming the field if the case cannot be written
   * @throws IOException if the file cannot be written
   */
  public static void writeCase(CaseFile c, Path file) throws IOException {
    Files.writeString(file, toJson(c), StandardCharsets.UTF_8);
  }

  /**
   * Writes a case to a character stream, which is flushed but not closed. Nothing is written
   * if the case cannot be written.
   *
   * @param c the case
   * @param out the stream the JSON text is written to
   * @throws CaseFormatException naming the field if the case cannot be written
   * @throws IOException if the stream cannot be written
   */
  public static void writeCase(CaseFile c, Writer out) throws IOException {
    out.write(toJson(c));
    out.flush();
  }

  /**
   * Writes a trajectory file (UTF-8), replacing an existing file. Nothing is written if the
   * trajectory cannot be written.
   *
   * @param t the trajectory, with a backend and a dtype
   * @param file the path to write, created or truncated
   * @throws CaseFormatException naming the field if the trajectory cannot be written
   * @throws IOException if the file cannot be written
   */
  public static void writeTrajectory(Trajectory t, Path file) throws IOException {
    Files.writeString(file, toJson(t), StandardCharsets.UTF_8);
  }

  /**
   * Writes a trajectory to a character stream, which is flushed but not closed. Nothing is
   * written if the trajectory cannot be written.
   *
   * @param t the trajectory, with a backend and a dtype
   * @param out the stream the JSON text is written to
   * @throws CaseFormatException naming the field if the trajectory cannot be written
   * @throws IOException if the stream cannot be written
   */
  public static void writeTrajectory(Trajectory t, Writer out) throws IOException {
    out.write(toJson(t));
    out.flush();
  }

  // ------------------------------------------------------------------ reading: cases

  private static CaseFile caseFrom(JsonNode root) {
    boolean graph =
        requireFormat(root, CaseFile.FORMAT, "a case", Trajectory.FORMAT, "a trajectory");
    Fields top = Fields.of(root, "", "a case", CASE_FIELDS);
    DType dtype = dtype(top.string("dtype"), top.pathOf("dtype"));
    Fields modelFields =
        graph
            ? top.object("model", "the model", GRAPH_MODEL_FIELDS)
            : Fields.of(top.required("model"), top.pathOf("model"), "the model",
                List.of("input_shape", "layers", "loss", "nodes"));
    if (!graph && modelFields.has("nodes")) {
      throw CaseFormatException.at(
          modelFields.pathOf("nodes"),
          "a graph model needs \"format\": \"" + CaseFile.FORMAT_GRAPH + "\" (this file is \""
              + CaseFile.FORMAT + "\", whose models are a list of layers)");
    }
    ModelSpec model = model(modelFields, graph);
    List<NamedArray> parameters = entries(top.required("parameters"), top.pathOf("parameters"));
    List<ArrayBatch> batches = batches(top.object("data", "the data", DATA_FIELDS));
    OptimizerSpec optimizer = optimizer(top.required("optimizer"), top.pathOf("optimizer"));
    int steps = top.integer("steps");
    double[] probe =
        top.has("probe")
            ? top.object("probe", "the probe", PROBE_FIELDS).numbers("vector")
            : null;
    CaseFile c =
        labelled(
            "",
            () ->
                new CaseFile(dtype, model, parameters, batches, optimizer, steps, probe, null));
    if (top.has("expected")) {
      Fields ex = top.object("expected", "the expected trajectory", EXPECTED_FIELDS);
      Trajectory e = expected(ex, steps);
      checkExpected(c, e, ex.path());
      c = c.withExpected(e);
    }
    return c;
  }

  /** Checks the format tag; true for a case of the graph version. */
  private static boolean requireFormat(
      JsonNode root, String format, String what, String otherFormat, String otherWhat) {
    JsonNode m = Fields.asObject(root, "", what);
    boolean cases = format.equals(CaseFile.FORMAT);
    String expected =
        "\"" + format + "\"" + (cases ? " or \"" + CaseFile.FORMAT_GRAPH + "\"" : "");
    if (!m.has("format")) {
      throw CaseFormatException.at("format", "missing required field; expected " + expected);
    }
    String f = Fields.asString(m.get("format"), "format");
    if (f.equals(otherFormat) || (!cases && f.equals(CaseFile.FORMAT_GRAPH))) {
      throw CaseFormatException.at(
          "format", "\"" + f + "\" is " + otherWhat + ", not " + what + " (" + expected + ")");
    }
    if (cases && f.equals(CaseFile.FORMAT_GRAPH)) {
      return true;
    }
    if (!f.equals(format)) {
      throw CaseFormatException.at("format", "expected " + expected + " but was \"" + f + "\"");
    }
    return false;
  }

  private static DType dtype(String name, String path) {
    try {
      return DType.parse(name);
    } catch (IllegalArgumentException e) {
      throw new CaseFormatException(
          path + ": expected \"float32\" or \"float64\" but was \"" + name + "\"", e);
    }
  }

  /** The layer types a {@value CaseFile#FORMAT} file may not use. */
  private static final List<String> VERSION_2_TYPES =
      List.of("global_avgpool2d", "identity", "add", "lstm");

  /** Whether {@code m} needs {@value CaseFile#FORMAT_GRAPH}: a graph or a type new in it. */
  static boolean needsVersion2(ModelSpec m) {
    return !m.isSequential()
        || m.layers().stream().anyMatch(l -> VERSION_2_TYPES.contains(l.type()));
  }

  private static ModelSpec model(Fields m, boolean version2) {
    int[] input = m.integers("input_shape");
    if (m.has("nodes") == m.has("layers")) {
      throw CaseFormatException.at(
          m.path().isEmpty() ? "layers" : m.pathOf("layers"),
          m.has("nodes")
              ? "a model has either \"layers\" (sequential) or \"nodes\" (a graph), not both"
              : "missing required field (or \"nodes\" for a graph model)");
    }
    if (m.has("nodes")) {
      List<JsonNode> raw = m.array("nodes");
      List<ModelSpec.Node> nodes = new ArrayList<>(raw.size());
      for (int i = 0; i < raw.size(); i++) {
        nodes.add(node(raw.get(i), m.pathOf("nodes") + "[" + i + "]"));
      }
      String lossName = m.string("loss");
      LossKind loss = labelled(m.path(), () -> LossKind.parse(lossName));
      return labelled(m.path(), () -> ModelSpec.graph(input, nodes, loss));
    }
    List<JsonNode> raw = m.array("layers");
    List<LayerSpec> layers = new ArrayList<>(raw.size());
    for (int i = 0; i < raw.size(); i++) {
      LayerSpec l = layer(raw.get(i), m.pathOf("layers") + "[" + i + "]", List.of());
      if (!version2 && VERSION_2_TYPES.contains(l.type())) {
        throw CaseFormatException.at(
            Fields.child(m.pathOf("layers") + "[" + i + "]", "type"),
            "\"" + l.type() + "\" needs \"format\": \"" + CaseFile.FORMAT_GRAPH + "\"");
      }
      layers.add(l);
    }
    String lossName = m.string("loss");
    LossKind loss = labelled(m.path(), () -> LossKind.parse(lossName));
    return labelled(m.path(), () -> new ModelSpec(input, layers, loss));
  }

  private static final List<String> NODE_FIELDS = List.of("name", "inputs");

  private static ModelSpec.Node node(JsonNode v, String path) {
    JsonNode raw = Fields.asObject(v, path, "a node");
    String namePath = Fields.child(path, "name");
    if (!raw.has("name")) {
      throw CaseFormatException.at(namePath, "missing required field");
    }
    String name = Fields.asString(raw.get("name"), namePath);
    LayerSpec op = layer(v, path, NODE_FIELDS);
    List<String> inputs = new ArrayList<>();
    if (raw.has("inputs")) {
      String ip = Fields.child(path, "inputs");
      List<JsonNode> a = Fields.asArray(raw.get("inputs"), ip);
      if (a.isEmpty()) {
        throw CaseFormatException.at(ip, "must name at least one input (or be left out)");
      }
      for (int k = 0; k < a.size(); k++) {
        inputs.add(Fields.asString(a.get(k), ip + "[" + k + "]"));
      }
    }
    return labelled(path, () -> new ModelSpec.Node(name, op, inputs));
  }

  private static LayerSpec layer(JsonNode v, String path, List<String> extraFields) {
    JsonNode raw = Fields.asObject(v, path, "a layer");
    String typePath = Fields.child(path, "type");
    if (!raw.has("type")) {
      throw CaseFormatException.at(
          typePath, "missing required field; the layer types are " + LAYER_TYPES.keySet());
    }
    String type = Fields.asString(raw.get("type"), typePath);
    LayerType t = LAYER_TYPES.get(type);
    if (t == null) {
      throw CaseFormatException.at(
          typePath,
          "unknown layer type \"" + type + "\"; known: " + String.join(", ", LAYER_TYPES.keySet()));
    }
    List<String> fields = t.fields();
    if (!extraFields.isEmpty()) {
      fields = new ArrayList<>(extraFields);
      fields.addAll(t.fields());
    }
    Fields l =
        Fields.of(v, path, "a " + type + (extraFields.isEmpty() ? " layer" : " node"), fields);
    return labelled(path, () -> t.read().apply(l));
  }

  private static Map<String, LayerType> layerTypes() {
    Map<String, LayerType> m = new LinkedHashMap<>();
    m.put(
        "dense",
        new LayerType(
            List.of("type", "in", "out", "bias"),
            l -> new LayerSpec.Dense(l.integer("in"), l.integer("out"), l.bool("bias", true))));
    m.put(
        "conv2d",
        new LayerType(
            List.of("type", "in", "out", "kernel", "stride", "padding", "bias"),
            l -> {
              int in = l.integer("in");
              int out = l.integer("out");
              int[] k = pair(l, "kernel", null);
              int[] s = pair(l, "stride", new int[] {1, 1});
              int[] p = pair(l, "padding", new int[] {0, 0});
              return new LayerSpec.Conv2d(
                  in, out, k[0], k[1], s[0], s[1], p[0], p[1], l.bool("bias", true));
            }));
    m.put(
        "batchnorm",
        new LayerType(
            List.of("type", "features", "eps", "momentum", "mode"),
            l -> {
              int features = l.integer("features");
              double eps = l.number("eps", 1e-5);
              double momentum = l.number("momentum", 0.1);
              String mode = l.string("mode", "train");
              LayerSpec.Mode md;
              if (mode.equals("train")) {
                md = LayerSpec.Mode.TRAIN;
              } else if (mode.equals("eval")) {
                md = LayerSpec.Mode.EVAL;
              } else {
                throw CaseFormatException.at(
                    l.pathOf("mode"), "expected \"train\" or \"eval\" but was \"" + mode + "\"");
              }
              return new LayerSpec.BatchNorm(features, eps, momentum, md);
            }));
    for (LayerSpec.ActivationKind k : LayerSpec.ActivationKind.values()) {
      m.put(k.jsonName(), new LayerType(List.of("type"), l -> new LayerSpec.Activation(k)));
    }
    m.put("flatten", new LayerType(List.of("type"), l -> new LayerSpec.Flatten()));
    for (LayerSpec.PoolKind k : LayerSpec.PoolKind.values()) {
      String name = k == LayerSpec.PoolKind.MAX ? "maxpool2d" : "avgpool2d";
      m.put(
          name,
          new LayerType(
              List.of("type", "kernel", "stride"),
              l -> {
                int[] kernel = pair(l, "kernel", null);
                int[] stride = pair(l, "stride", kernel);
                return new LayerSpec.Pool2d(k, kernel[0], kernel[1], stride[0], stride[1]);
              }));
    }
    // Since sgdph-case/2 (listed last so that the older types keep their order in messages):
    m.put(
        "global_avgpool2d", new LayerType(List.of("type"), l -> new LayerSpec.GlobalAvgPool()));
    m.put("identity", new LayerType(List.of("type"), l -> new LayerSpec.Identity()));
    m.put("add", new LayerType(List.of("type"), l -> new LayerSpec.Add()));
    m.put("lstm", new LayerType(
        List.of("type", "in", "hidden", "num_layers", "return_sequences"), CaseJson::lstm));
    return Collections.unmodifiableMap(m);
  }

  /**
   * {@code lstm {in, hidden, num_layers = 1, return_sequences = false}} (docs/CASE-FORMAT.md,
   * "LSTM"); its input is a sequence {@code [T, in]} per sample.
   */
  private static LayerSpec lstm(Fields l) {
    int in = l.integer("in");
    int hidden = l.integer("hidden");
    int layers = l.has("num_layers") ? l.integer("num_layers") : 1;
    return new LayerSpec.Lstm(in, hidden, layers, l.bool("return_sequences", false));
  }

  private static void lstmTree(LayerSpec.Lstm r, ObjectNode o) {
    o.put("in", r.in());
    o.put("hidden", r.hidden());
    o.put("num_layers", r.numLayers());
    o.put("return_sequences", r.returnSequences());
  }

  /** An integer or {@code [h, w]}; {@code dflt == null} makes the field required. */
  private static int[] pair(Fields l, String key, int[] dflt) {
    if (!l.has(key) && dflt != null) {
      return dflt;
    }
    JsonNode v = l.required(key);
    String p = l.pathOf(key);
    if (v.isNumber()) {
      int k = Fields.asInt(v, p);
      return new int[] {k, k};
    }
    if (v.isArray() && v.size() == 2) {
      return Fields.asIntegers(v, p);
    }
    throw CaseFormatException.at(p, "expected an integer or [h, w] but was " + JsonText.describe(v));
  }

  /** Parameter entries: {@code [{name, shape, values, trainable}]}. */
  private static List<NamedArray> entries(JsonNode v, String path) {
    List<JsonNode> raw = Fields.asArray(v, path);
    List<NamedArray> out = new ArrayList<>(raw.size());
    for (int i = 0; i < raw.size(); i++) {
      JsonNode el = raw.get(i);
      String p = path + "[" + i + "]";
      if (el.isObject() && el.get("name") != null && el.get("name").isTextual()) {
        p += " (" + el.get("name").textValue() + ")";
      }
      Fields e = Fields.of(el, p, "a parameter entry", ENTRY_FIELDS);
      String name = e.string("name");
      int[] shape = e.integers("shape");
      double[] values = e.numbers("values");
      boolean trainable = e.bool("trainable", true);
      checkCount(p, shape, values.length);
      out.add(new NamedArray(name, shape, values, trainable));
    }
    return out;
  }

  /** A value count that matches the shape, or an error naming {@code path}. */
  private static void checkCount(String path, int[] shape, int count) {
    long size = 1;
    for (int d : shape) {
      if (d < 0) {
        throw CaseFormatException.at(
            Fields.child(path, "shape"),
            "dimensions must be >= 0 but was " + Arrays.toString(shape));
      }
      size *= d;
      if (size > Integer.MAX_VALUE) {
        throw CaseFormatException.at(
            Fields.child(path, "shape"), "too many elements: " + Arrays.toString(shape));
      }
    }
    if (size != count) {
      throw CaseFormatException.at(
          path,
          "shape " + Arrays.toString(shape) + " needs " + size + " values but has " + count);
    }
  }

  private static List<ArrayBatch> batches(Fields data) {
    List<JsonNode> raw = data.array("batches");
    List<ArrayBatch> out = new ArrayList<>(raw.size());
    for (int i = 0; i < raw.size(); i++) {
      String p = data.pathOf("batches") + "[" + i + "]";
      Fields b = Fields.of(raw.get(i), p, "a batch", BATCH_FIELDS);
      Fields x = b.object("x", "a batch's inputs", TENSOR_FIELDS);
      int[] xs = x.integers("shape");
      double[] xv = x.numbers("values");
      checkCount(x.path(), xs, xv.length);
      Fields y = b.object("y", "a batch's targets", TENSOR_FIELDS);
      int[] ys = y.integers("shape");
      double[] yv = y.numbers("values");
      checkCount(y.path(), ys, yv.length);
      out.add(labelled(p, () -> new ArrayBatch(xv, xs, yv, ys)));
    }
    return out;
  }

  private static OptimizerSpec optimizer(JsonNode v, String path) {
    JsonNode m = Fields.asObject(v, path, "the optimizer");
    String namePath = Fields.child(path, "name");
    String known = String.join(", ", Optimizers.names());
    if (!m.has("name")) {
      throw CaseFormatException.at(namePath, "missing required field; known optimizers: " + known);
    }
    String name = Fields.asString(m.get("name"), namePath);
    if (!Optimizers.names().contains(name)) {
      throw CaseFormatException.at(
          namePath, "unknown optimizer \"" + name + "\"; known: " + known);
    }
    Map<String, Object> params = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : m.properties()) {
      if (!e.getKey().equals("name")) {
        params.put(e.getKey(), hyperParameter(e.getValue(), Fields.child(path, e.getKey())));
      }
    }
    OptimizerSpec spec = new OptimizerSpec(name, params);
    labelled(path, () -> Optimizers.create(spec)); // invalid hyper-parameters fail here
    return spec;
  }

  private static Object hyperParameter(JsonNode v, String path) {
    if (v.isNumber()) {
      return v.doubleValue();
    }
    if (v.isBoolean()) {
      return v.booleanValue();
    }
    if (v.isTextual()) {
      return v.textValue();
    }
    if (v.isArray()) {
      List<Object> out = new ArrayList<>(v.size());
      for (int i = 0; i < v.size(); i++) {
        out.add(hyperParameter(v.get(i), path + "[" + i + "]"));
      }
      return Collections.unmodifiableList(out);
    }
    if (v.isNull()) {
      throw CaseFormatException.at(
          path, "null is not a hyper-parameter value; leave the field out for the default");
    }
    throw CaseFormatException.at(
        path, "expected a number, boolean, string or array but was " + JsonText.describe(v));
  }

  private static Trajectory expected(Fields ex, int steps) {
    if (ex.has("format")) {
      String f = ex.string("format");
      if (!f.equals(Trajectory.FORMAT)) {
        throw CaseFormatException.at(ex.pathOf("format"),
            "expected \"" + Trajectory.FORMAT + "\" (or no format) but was \"" + f + "\"");
      }
    }
    String backend = ex.string("backend", null);
    DType dtype = ex.has("dtype") ? dtype(ex.string("dtype"), ex.pathOf("dtype")) : null;
    double[] loss;
    if (ex.has("loss")) {
      loss = ex.numbers("loss");
    } else if (steps > 0) {
      throw CaseFormatException.at(ex.pathOf("loss"), "missing field, required when steps > 0");
    } else {
      loss = new double[0];
    }
    List<NamedArray> parameters =
        ex.has("parameters")
            ? entries(ex.required("parameters"), ex.pathOf("parameters"))
            : List.of();
    ProbeResult probe =
        ex.has("probe")
            ? probeResult(ex.object("probe", "the probe results", PROBE_RESULT_FIELDS))
            : null;
    return new Trajectory(backend, dtype, loss, parameters, probe);
  }

  private static ProbeResult probeResult(Fields p) {
    double loss = p.number("loss");
    double[] g = p.numbers("gradient");
    double[] hv = p.numbers("hvp");
    double[] gv = p.numbers("ggnvp");
    ProbeResult r = new ProbeResult(loss, g, hv, gv);
    checkProbeLengths(r, p.path());
    return r;
  }

  private static void checkProbeLengths(ProbeResult r, String path) {
    int n = r.gradient().length;
    if (r.hvp().length != n) {
      throw CaseFormatException.at(
          Fields.child(path, "hvp"),
          "has " + r.hvp().length + " values but gradient has " + n);
    }
    if (r.ggnvp().length != n) {
      throw CaseFormatException.at(
          Fields.child(path, "ggnvp"),
          "has " + r.ggnvp().length + " values but gradient has " + n);
    }
  }

  /**
   * Checks that a trajectory can serve as the expectation of a case, as a case's
   * {@code expected} member is checked when read: one loss per step, the model's parameter
   * entries (or none), and probe results only if the case has a probe vector, one value per
   * trainable entry each.
   *
   * @param c the case
   * @param expected the trajectory, e.g. read by {@link #readTrajectory(Path)}
   * @throws CaseFormatException naming the field ({@code expected.loss: ...}) if it does not fit
   */
  public static void checkExpectation(CaseFile c, Trajectory expected) {
    checkExpected(c, expected, "expected");
  }

  /** Checks a case's expected trajectory against the case (used when reading and writing). */
  private static void checkExpected(CaseFile c, Trajectory e, String path) {
    int steps = c.steps();
    if (e.loss().length != steps) {
      throw CaseFormatException.at(
          Fields.child(path, "loss"),
          "has " + e.loss().length + " values but steps is " + steps + " (one loss per step)");
    }
    if (!e.parameters().isEmpty()) {
      labelled(
          path,
          () -> {
            c.model().validateParameters(e.parameters());
            return null;
          });
    }
    ProbeResult p = e.probe();
    if (p != null) {
      String pp = Fields.child(path, "probe");
      if (c.probeVector() == null) {
        throw CaseFormatException.at(pp, "the case has no probe.vector to compare with");
      }
      long dim = c.model().layout().dimension();
      Map<String, double[]> parts = new LinkedHashMap<>();
      parts.put("gradient", p.gradient());
      parts.put("hvp", p.hvp());
      parts.put("ggnvp", p.ggnvp());
      for (Map.Entry<String, double[]> part : parts.entrySet()) {
        if (part.getValue().length != dim) {
          throw CaseFormatException.at(
              Fields.child(pp, part.getKey()),
              "expected " + dim + " values (one per trainable entry) but has "
                  + part.getValue().length);
        }
      }
    }
  }

  // ------------------------------------------------------------------ reading: trajectories

  private static Trajectory trajectoryFrom(JsonNode root) {
    requireFormat(root, Trajectory.FORMAT, "a trajectory", CaseFile.FORMAT, "a case");
    Fields t = Fields.of(root, "", "a trajectory", TRAJECTORY_FIELDS);
    String backend = t.string("backend");
    DType dtype = dtype(t.string("dtype"), t.pathOf("dtype"));
    double[] loss = t.numbers("loss");
    List<NamedArray> parameters = entries(t.required("parameters"), t.pathOf("parameters"));
    requireUniqueNames(parameters, t.pathOf("parameters"));
    ProbeResult probe =
        t.has("probe")
            ? probeResult(t.object("probe", "the probe results", PROBE_RESULT_FIELDS))
            : null;
    return new Trajectory(backend, dtype, loss, parameters, probe);
  }

  private static void requireUniqueNames(List<NamedArray> entries, String path) {
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < entries.size(); i++) {
      String name = entries.get(i).name();
      Integer first = seen.putIfAbsent(name, i);
      if (first != null) {
        throw CaseFormatException.at(
            path + "[" + i + "] (" + name + ")",
            "duplicate entry name; first at " + path + "[" + first + "]");
      }
    }
  }

  // ------------------------------------------------------------------ writing

  private static ObjectNode caseTree(CaseFile c) {
    OptimizerSpec opt = c.optimizer();
    String optPath = "optimizer";
    if (opt.params().containsKey("name")) {
      throw CaseFormatException.at(
          Fields.child(optPath, "name"), "\"name\" cannot also be a hyper-parameter");
    }
    if (!Optimizers.names().contains(opt.name())) {
      throw CaseFormatException.at(
          Fields.child(optPath, "name"),
          "unknown optimizer \"" + opt.name() + "\"; known: "
              + String.join(", ", Optimizers.names()));
    }
    labelled(optPath, () -> Optimizers.create(opt));
    if (c.expected() != null) {
      checkExpected(c, c.expected(), "expected");
    }

    ObjectNode root = JsonText.NODES.objectNode();
    root.put("format", needsVersion2(c.model()) ? CaseFile.FORMAT_GRAPH : CaseFile.FORMAT);
    root.put("dtype", c.dtype().jsonName());
    root.set("model", modelTree(c.model()));
    root.set("parameters", entriesTree(c.parameters()));
    ArrayNode batches = root.arrayNode();
    boolean labels = c.model().loss() == LossKind.SOFTMAX_CROSS_ENTROPY;
    for (ArrayBatch b : c.batches()) {
      ObjectNode x = batches.objectNode();
      x.set("shape", ints(b.xShape()));
      x.set("values", doubles(b.xView()));
      ObjectNode y = batches.objectNode();
      y.set("shape", ints(b.yShape()));
      y.set("values", labels ? labels(b.yView()) : doubles(b.yView()));
      ObjectNode bt = batches.addObject();
      bt.set("x", x);
      bt.set("y", y);
    }
    root.putObject("data").set("batches", batches);
    ObjectNode o = root.putObject("optimizer");
    o.put("name", opt.name());
    for (Map.Entry<String, Object> e : opt.params().entrySet()) {
      o.set(e.getKey(), hyperParameterTree(e.getValue(), Fields.child(optPath, e.getKey())));
    }
    root.put("steps", c.steps());
    if (c.probeVector() != null) {
      root.putObject("probe").set("vector", doubles(c.probeVector()));
    }
    if (c.expected() != null) {
      root.set("expected", trajectoryFields(c.expected(), false));
    }
    return root;
  }

  private static JsonNode hyperParameterTree(Object v, String path) {
    if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
      return JsonText.NODES.numberNode(((Number) v).longValue());
    }
    if (v instanceof Number n) {
      return JsonText.NODES.numberNode(n.doubleValue());
    }
    if (v instanceof Boolean b) {
      return JsonText.NODES.booleanNode(b);
    }
    if (v instanceof String s) {
      return JsonText.NODES.textNode(s);
    }
    if (v instanceof List<?> l) {
      ArrayNode out = JsonText.NODES.arrayNode(l.size());
      for (int i = 0; i < l.size(); i++) {
        out.add(hyperParameterTree(l.get(i), path + "[" + i + "]"));
      }
      return out;
    }
    throw CaseFormatException.at(
        path,
        "cannot write a hyper-parameter of type "
            + (v == null ? "null" : v.getClass().getName())
            + "; expected a number, boolean, string or list");
  }

  private static ObjectNode layerTree(LayerSpec l, ModelSpec.Node node) {
    ObjectNode o = JsonText.NODES.objectNode();
    if (node != null) {
      o.put("name", node.name());
    }
    o.put("type", l.type());
    if (l instanceof LayerSpec.Dense d) {
      o.put("in", d.in());
      o.put("out", d.out());
      o.put("bias", d.bias());
    } else if (l instanceof LayerSpec.Conv2d c) {
      o.put("in", c.in());
      o.put("out", c.out());
      o.set("kernel", pairTree(c.kernelH(), c.kernelW()));
      o.set("stride", pairTree(c.strideH(), c.strideW()));
      o.set("padding", pairTree(c.padH(), c.padW()));
      o.put("bias", c.bias());
    } else if (l instanceof LayerSpec.BatchNorm b) {
      o.put("features", b.features());
      o.put("eps", b.eps());
      o.put("momentum", b.momentum());
      o.put("mode", b.mode().jsonName());
    } else if (l instanceof LayerSpec.Pool2d p) {
      o.set("kernel", pairTree(p.kernelH(), p.kernelW()));
      o.set("stride", pairTree(p.strideH(), p.strideW()));
    } else if (l instanceof LayerSpec.Lstm r) {
      lstmTree(r, o);
    }
    // Activation, Flatten, GlobalAvgPool, Identity and Add have only their type.
    if (node != null) {
      ArrayNode inputs = o.putArray("inputs");
      node.inputs().forEach(inputs::add);
    }
    return o;
  }

  private static JsonNode pairTree(int h, int w) {
    return h == w ? JsonText.NODES.numberNode(h) : ints(new int[] {h, w});
  }

  private static ArrayNode entriesTree(List<NamedArray> entries) {
    ArrayNode out = JsonText.NODES.arrayNode(entries.size());
    for (NamedArray a : entries) {
      ObjectNode e = out.addObject();
      e.put("name", a.name());
      e.set("shape", ints(a.shape()));
      e.put("trainable", a.trainable());
      e.set("values", doubles(a.valuesView()));
    }
    return out;
  }

  private static ArrayNode ints(int[] values) {
    ArrayNode out = JsonText.NODES.arrayNode(values.length);
    for (int v : values) {
      out.add(v);
    }
    return out;
  }

  private static ArrayNode doubles(double[] values) {
    ArrayNode out = JsonText.NODES.arrayNode(values.length);
    for (double v : values) {
      out.add(v);
    }
    return out;
  }

  /** Class labels: whole doubles as integer literals (not -0.0, not beyond 2^53). */
  private static ArrayNode labels(double[] values) {
    ArrayNode out = JsonText.NODES.arrayNode(values.length);
    for (double d : values) {
      if (d == Math.rint(d) && Math.abs(d) < 0x1p53
          && Double.doubleToRawLongBits(d) != Double.doubleToRawLongBits(-0.0)) {
        out.add((long) d);
      } else {
        out.add(d);
      }
    }
    return out;
  }

  private static ObjectNode trajectoryTree(Trajectory t) {
    if (t.backend() == null) {
      throw CaseFormatException.at("backend", "a trajectory file needs the backend's name");
    }
    if (t.dtype() == null) {
      throw CaseFormatException.at("dtype", "a trajectory file needs the dtype");
    }
    requireUniqueNames(t.parameters(), "parameters");
    if (t.probe() != null) {
      checkProbeLengths(t.probe(), "probe");
    }
    ObjectNode root = JsonText.NODES.objectNode();
    root.put("format", Trajectory.FORMAT);
    root.setAll(trajectoryFields(t, true));
    return root;
  }

  /** The members of a trajectory; in a case's {@code expected}, backend and dtype may be absent. */
  private static ObjectNode trajectoryFields(Trajectory t, boolean file) {
    ObjectNode o = JsonText.NODES.objectNode();
    if (file || t.backend() != null) {
      o.put("backend", t.backend());
    }
    if (file || t.dtype() != null) {
      o.put("dtype", t.dtype().jsonName());
    }
    o.set("loss", doubles(t.loss()));
    o.set("parameters", entriesTree(t.parameters()));
    ProbeResult p = t.probe();
    if (p != null) {
      ObjectNode po = o.putObject("probe");
      po.put("loss", p.loss());
      po.set("gradient", doubles(p.gradient()));
      po.set("hvp", doubles(p.hvp()));
      po.set("ggnvp", doubles(p.ggnvp()));
    }
    return o;
  }

  // ------------------------------------------------------------------ helpers

  /**
   * Runs {@code f}, turning an {@link IllegalArgumentException} from the model classes into a
   * {@link CaseFormatException} whose message is prefixed with {@code path} (unless it already
   * starts with it). Messages of the model classes start with the field relative to the object
   * they check ({@code "in: must be positive"}, {@code "layers[2]: ..."}).
   */
  private static <T> T labelled(String path, Supplier<T> f) {
    try {
      return f.get();
    } catch (CaseFormatException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new CaseFormatException(prefixed(path, e.getMessage()), e);
    }
  }

  static String prefixed(String path, String message) {
    String m = message == null ? "invalid value" : message;
    if (path.isEmpty()) {
      return m;
    }
    if (m.startsWith(path + ".") || m.startsWith(path + ":") || m.startsWith(path + "[")
        || m.startsWith(path + " ")) {
      return m;
    }
    int colon = m.indexOf(": ");
    if (colon > 0 && FIELD_PATH.matcher(m.substring(0, colon)).matches()) {
      return path + (m.startsWith("[") ? "" : ".") + m;
    }
    return path + ": " + m;
  }

  /** Parses a file's text; bytes that are not UTF-8 are a format error naming the file. */
  private static JsonNode parse(Reader in, Path file) throws IOException {
    try {
      return JsonText.parse(in);
    } catch (CharacterCodingException e) {
      throw new CaseFormatException(
          CaseFormatException.ROOT + ": " + file + " is not valid UTF-8 text", e);
    }
  }
}
