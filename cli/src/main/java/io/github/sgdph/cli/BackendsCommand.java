package io.github.sgdph.cli;

import io.github.sgdph.model.BackendDescription;
import io.github.sgdph.model.SpecBackend;
import io.github.sgdph.optim.Optimizers;
import io.github.sgdph.tensor.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sgdph backends}: every backend, whether it is usable here (its native library loads)
 * and why not, framework and native library versions, dtypes, devices, layers and optimizers.
 */
@Command(
    name = "backends",
    mixinStandardHelpOptions = true,
    description = {
      "Lists the backends: available or not (and why), framework and native library versions,"
          + " dtypes, the devices found (CPU, CUDA GPUs) and the one models run on, the layers"
          + " and losses they build, whether they build graph models (residual networks), and the"
          + " optimizers that run on them. Loads each native"
          + " library to find out.",
      "Exit code 0 (also when a backend is unavailable), 2 for bad usage."
    })
final class BackendsCommand implements Callable<Integer> {

  /** The format tag of {@code --json}'s result. */
  static final String FORMAT = "sgdph-backends/1";

  @Option(names = "--json", paramLabel = "FILE",
      description = "Also write the list as JSON (" + FORMAT + ", docs/CLI.md).")
  Path json;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    PrintWriter o = spec.commandLine().getOut();
    List<String> names = new ArrayList<>(Backends.KNOWN);
    for (SpecBackend b : ServiceLoader.load(SpecBackend.class)) {
      if (!names.contains(b.name())) {
        names.add(b.name());
      }
    }
    String optimizers = String.join(", ", Optimizers.names());
    List<Object> list = new ArrayList<>();
    for (String n : names) {
      Backends.Probe p = Backends.probe(n);
      Map<String, Object> j = new LinkedHashMap<>();
      j.put("name", n);
      j.put("available", p.available());
      if (!p.available()) {
        o.printf(Locale.ROOT, "%s: unavailable: %s%n%n", n, p.reason());
        j.put("reason", p.reason());
        list.add(j);
        continue;
      }
      BackendDescription d = p.description().restrictedTo(p.backend());
      List<String> dtypes = p.backend().supportedDTypes().stream().map(DType::jsonName).sorted()
          .toList();
      o.printf(Locale.ROOT, "%s: available%n", n);
      o.printf(Locale.ROOT, "  framework:      %s%n", d.framework());
      o.printf(Locale.ROOT, "  native library: %s%n", d.nativeLibrary());
      o.printf(Locale.ROOT, "  dtypes:         %s%n", String.join(", ", dtypes));
      o.printf(Locale.ROOT, "  devices:        %s (models run on %s)%n",
          String.join(", ", d.devices()), d.device());
      boolean graphs = p.backend().supportsGraphModels();
      o.printf(Locale.ROOT, "  models:         %s%n",
          graphs ? "sequential and graph (residual networks)" : "sequential only");
      o.printf(Locale.ROOT, "  layers:         %s%n", String.join(", ", d.layers()));
      o.printf(Locale.ROOT, "  losses:         %s%n", String.join(", ", d.losses()));
      o.printf(Locale.ROOT, "  optimizers:     %s (every one runs on every backend)%n%n",
          optimizers);
      j.put("framework", d.framework());
      j.put("native_library", d.nativeLibrary());
      j.put("dtypes", dtypes);
      j.put("devices", d.devices());
      j.put("device", d.device());
      j.put("graph_models", graphs);
      j.put("layers", d.layers());
      j.put("losses", d.losses());
      j.put("optimizers", Optimizers.names());
      list.add(j);
    }
    if (json != null) {
      Map<String, Object> root = new LinkedHashMap<>();
      root.put("format", FORMAT);
      root.put("backends", list);
      JsonResult.write(root, json);
    }
    return Main.EXIT_OK;
  }
}
