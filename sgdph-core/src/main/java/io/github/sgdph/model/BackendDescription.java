package io.github.sgdph.model;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Objects;
import java.util.Properties;

/**
 * What a {@link SpecBackend} runs on, as {@code sgdph backends} reports it: the framework and
 * its native library with their versions, the devices it found and the one its models use, and
 * the layer types and losses of the neutral spec it builds. Optimizers are not listed here:
 * every optimizer of the core runs on every backend (they see only the curvature SPI).
 *
 * @param framework the framework and its version, e.g. {@code DJL 0.35.1 (PyTorch engine)}
 * @param nativeLibrary the native library and its version, or {@code none}
 * @param devices every device found, e.g. {@code [cpu]} or {@code [cpu, gpu0]}
 * @param device the device models are built on by default
 * @param layers the spec layer types the backend builds, as in case files
 * @param losses the losses, as in case files
 */
public record BackendDescription(
    String framework,
    String nativeLibrary,
    List<String> devices,
    String device,
    List<String> layers,
    List<String> losses) {

  /**
   * Every layer type of the neutral spec, as in case files: the {@code type} of every
   * {@link LayerSpec}, the ops of graph models ({@code global_avgpool2d}, {@code identity} and
   * the residual merge {@code add}, case format {@code sgdph-case/2}) included.
   */
  public static final List<String> ALL_LAYERS = List.of("dense", "conv2d", "batchnorm", "relu",
      "tanh", "sigmoid", "softplus", "flatten", "maxpool2d", "avgpool2d", "global_avgpool2d",
      "identity", "add", "lstm");

  /**
   * The ops that came with graph models (case format {@code sgdph-case/2}): global average
   * pooling, the identity shortcut and the residual merge. A backend that does not {@linkplain
   * SpecBackend#supportsGraphModels() build graph models} builds none of them.
   */
  public static final List<String> GRAPH_OPS = List.of("global_avgpool2d", "identity", "add");

  /**
   * The recurrent layers (case format {@code sgdph-case/2}): {@code lstm}. A backend that does
   * not {@linkplain SpecBackend#supportsRecurrentModels() build recurrent models} builds none.
   */
  public static final List<String> RECURRENT_LAYERS = List.of("lstm");

  /**
   * The layer types of {@code sgdph-case/1} files, as in case files: {@link #ALL_LAYERS} without
   * the {@link #GRAPH_OPS} and the {@link #RECURRENT_LAYERS}.
   */
  public static final List<String> SEQUENTIAL_LAYERS = layers(false, false);

  /** Every loss of the neutral spec, as in case files. */
  public static final List<String> ALL_LOSSES = java.util.Arrays.stream(LossKind.values())
      .map(LossKind::jsonName).toList();

  /**
   * Copies the lists.
   *
   * @param framework the framework and its version
   * @param nativeLibrary the native library and its version, or {@code none}
   * @param devices every device found
   * @param device the device models are built on by default
   * @param layers the spec layer types the backend builds
   * @param losses the losses
   * @throws NullPointerException naming a missing component
   */
  public BackendDescription {
    Objects.requireNonNull(framework, "framework");
    Objects.requireNonNull(nativeLibrary, "nativeLibrary");
    Objects.requireNonNull(device, "device");
    devices = List.copyOf(Objects.requireNonNull(devices, "devices"));
    layers = List.copyOf(Objects.requireNonNull(layers, "layers"));
    losses = List.copyOf(Objects.requireNonNull(losses, "losses"));
  }

  /**
   * The layer types a backend builds: {@link #ALL_LAYERS}, without the {@link #GRAPH_OPS} when it
   * does not build graph models and without the {@link #RECURRENT_LAYERS} when it does not build
   * recurrent ones.
   *
   * @param graphModels whether the backend {@linkplain SpecBackend#supportsGraphModels() builds
   *     graph models}
   * @param recurrentModels whether it {@linkplain SpecBackend#supportsRecurrentModels() builds
   *     LSTMs}
   * @return an unmodifiable list, in {@link #ALL_LAYERS}' order
   */
  public static List<String> layers(boolean graphModels, boolean recurrentModels) {
    return ALL_LAYERS.stream().filter(l -> graphModels || !GRAPH_OPS.contains(l))
        .filter(l -> recurrentModels || !RECURRENT_LAYERS.contains(l)).toList();
  }

  /**
   * This description as it holds for {@code backend}, whatever its own description says: its
   * layers without the {@link #GRAPH_OPS} if the backend does not build graph models, and without
   * the {@link #RECURRENT_LAYERS} if it does not build recurrent ones.
   *
   * @param backend the backend described
   * @return a new description, the same but for {@link #layers()}
   */
  public BackendDescription restrictedTo(SpecBackend backend) {
    List<String> buildable = layers(backend.supportsGraphModels(),
        backend.supportsRecurrentModels());
    return new BackendDescription(framework, nativeLibrary, devices, device,
        layers.stream().filter(buildable::contains).toList(), losses);
  }

  /**
   * The version of a Maven artifact on the class path of {@code anchor}, from the
   * {@code META-INF/maven/<group>/<artifact>/pom.properties} that Maven puts in every jar.
   *
   * @param anchor a class whose class loader sees the artifact
   * @param groupId the artifact's group, e.g. {@code ai.djl}
   * @param artifactId the artifact, e.g. {@code api}
   * @return the version, or {@code ?} if the jar carries none
   */
  public static String mavenVersion(Class<?> anchor, String groupId, String artifactId) {
    String resource = "META-INF/maven/" + groupId + "/" + artifactId + "/pom.properties";
    ClassLoader cl = anchor.getClassLoader();
    try (InputStream in = cl == null ? null : cl.getResourceAsStream(resource)) {
      if (in == null) {
        return "?";
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "?");
    } catch (IOException e) {
      return "?";
    }
  }
}
