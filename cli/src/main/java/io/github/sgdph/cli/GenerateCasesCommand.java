package io.github.sgdph.cli;

import io.github.sgdph.cases.json.CaseJson;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/** {@code sgdph generate-cases}: writes the bundled example cases (maintainers' command). */
@Command(
    name = "generate-cases",
    mixinStandardHelpOptions = true,
    description =
        "Writes the bundled example cases, with expected trajectories from the reference"
            + " backend, and their INDEX into a directory (the repository's cases/). Every"
            + " expectation is replayed on the DJL backend in float64 first, and nothing is"
            + " written unless it reproduces all of them to 1e-10 (run with ./sgdph, which has"
            + " DJL on the classpath); a model DJL does not build yet (an LSTM) is checked"
            + " against central differences instead. The cases on Fashion-MNIST read its training set from"
            + " /usr/share/datasets/fashion-mnist (-Dsgdph.fashion-mnist=DIR or"
            + " SGDPH_FASHION_MNIST=DIR).")
final class GenerateCasesCommand implements Callable<Integer> {

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Target directory.")
  Path out;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    PrintWriter o = spec.commandLine().getOut();
    List<ExampleCases.Example> all = ExampleCases.all(); // every case cross-checked first
    Files.createDirectories(out);
    StringBuilder index = new StringBuilder("# Bundled example cases (sgdph generate-cases)\n");
    for (ExampleCases.Example e : all) {
      CaseJson.writeCase(e.caseFile(), out.resolve(e.fileName()));
      index.append(e.fileName()).append('\n');
      String field = e.djlDeviation().field();
      boolean fd = field.startsWith(ExampleCases.FINITE_DIFFERENCES);
      o.println("wrote " + out.resolve(e.fileName()) + String.format(java.util.Locale.ROOT,
          fd
              ? " (DJL does not build this model yet; the reference's probe matches central"
                  + " differences to %.1e, largest in %s)"
              : " (DJL float64 reproduces it to %.1e, largest in %s)",
          e.djlDeviation().relative(),
          fd ? field.substring(ExampleCases.FINITE_DIFFERENCES.length()) : field));
    }
    Files.writeString(out.resolve("INDEX"), index, StandardCharsets.UTF_8);
    return 0;
  }
}
