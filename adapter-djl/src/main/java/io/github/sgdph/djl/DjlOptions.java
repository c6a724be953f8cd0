package io.github.sgdph.djl;

import ai.djl.Device;
import java.util.Objects;

/**
 * Options of the DJL adapter: the device and the {@link GradientGraph}.
 *
 * <pre>{@code
 * DjlOptions o = DjlOptions.builder().device(Device.gpu(0)).build();
 * }</pre>
 *
 * @param device where models built from the neutral spec and their tensors live (a user's own
 *     block stays on the device of its parameters)
 * @param gradientGraph what a gradient builds for later products
 */
public record DjlOptions(Device device, GradientGraph gradientGraph) {

  /** The system property naming the device of the {@code djl} backend: {@code cpu}, {@code gpu0}, ... */
  public static final String DEVICE_PROPERTY = "sgdph.djl.device";

  /**
   * Options with these values.
   *
   * @param device where models built from the neutral spec and their tensors live
   * @param gradientGraph what a gradient builds for later products
   * @throws NullPointerException naming a missing field
   */
  public DjlOptions {
    Objects.requireNonNull(device, "device");
    Objects.requireNonNull(gradientGraph, "gradientGraph");
  }

  /**
   * The defaults: CPU, or the device named by the system property {@value #DEVICE_PROPERTY};
   * {@link GradientGraph#ADAPTIVE}.
   *
   * @return the default options
   * @throws IllegalArgumentException if the property names no device
   */
  public static DjlOptions defaults() {
    return builder().build();
  }

  /**
   * A builder starting from the defaults.
   *
   * @return the builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /** Builds {@link DjlOptions}; every setter validates its argument. */
  public static final class Builder {
    private Device device;
    private GradientGraph gradientGraph = GradientGraph.ADAPTIVE;

    private Builder() {}

    /**
     * The device, e.g. {@link Device#cpu()} (the default) or {@code Device.gpu(0)}.
     *
     * @param device the device
     * @return this builder
     */
    public Builder device(Device device) {
      this.device = Objects.requireNonNull(device, "device");
      return this;
    }

    /**
     * The device by DJL's name: {@code cpu}, {@code gpu}, {@code gpu1}, ...
     *
     * @param name the device's name
     * @return this builder
     * @throws IllegalArgumentException naming {@code device} if DJL does not know the name
     */
    public Builder device(String name) {
      this.device = parseDevice(name, "device");
      return this;
    }

    /**
     * What a gradient builds for later products (default {@link GradientGraph#ADAPTIVE}).
     *
     * @param graph the graph
     * @return this builder
     */
    public Builder gradientGraph(GradientGraph graph) {
      this.gradientGraph = Objects.requireNonNull(graph, "gradientGraph");
      return this;
    }

    /**
     * The options.
     *
     * @return the options
     */
    public DjlOptions build() {
      Device d = device;
      if (d == null) {
        String p = System.getProperty(DEVICE_PROPERTY);
        d = p == null || p.isBlank() ? Device.cpu() : parseDevice(p, DEVICE_PROPERTY);
      }
      return new DjlOptions(d, gradientGraph);
    }
  }

  static Device parseDevice(String name, String field) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException(field + ": must name a device such as cpu or gpu0");
    }
    String n = name.trim().toLowerCase(java.util.Locale.ROOT);
    if (n.equals("cpu")) {
      return Device.cpu();
    }
    if (n.equals("gpu") || n.equals("cuda")) {
      return Device.gpu();
    }
    String digits = n.startsWith("gpu") ? n.substring(3) : n.startsWith("cuda:") ? n.substring(5)
        : null;
    if (digits != null && !digits.isEmpty() && digits.chars().allMatch(Character::isDigit)) {
      return Device.gpu(Integer.parseInt(digits));
    }
    throw new IllegalArgumentException(
        field + ": unknown device '" + name + "'; expected cpu, gpu, gpu<N> or cuda:<N>");
  }
}
