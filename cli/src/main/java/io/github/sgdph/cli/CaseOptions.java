package io.github.sgdph.cli;

import io.github.sgdph.cases.CaseFile;
import io.github.sgdph.cases.json.BundledCases;
import io.github.sgdph.cases.json.CaseJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The cases a command works on, the same in every command: case files as parameters and
 * {@code --bundled[=NAME]}, a flag (every bundled case) or a name (that one, repeatable).
 */
final class CaseOptions {

  @Parameters(paramLabel = "CASE.json", arity = "0..*", description = "Case files (sgdph-case/1).")
  List<Path> files = new ArrayList<>();

  /** The value of a {@code --bundled} without a name: every bundled case. */
  static final String ALL = "*";

  @Option(names = "--bundled", paramLabel = "NAME", arity = "0..1", fallbackValue = ALL,
      description = "A bundled example case by name (repeatable), e.g. --bundled"
          + " mlp-tanh-sgd.json; without a name every bundled case.")
  List<String> bundled = new ArrayList<>();

  /** A case and the name it is reported under (the file name). */
  record Named(String name, CaseFile caseFile) {}

  /**
   * Loads the cases in order: bundled ones first, then the files.
   *
   * @param command the command, for the message when there is none
   * @return at least one case
   * @throws IllegalArgumentException naming the file or bundled name and the problem
   */
  List<Named> load(String command) {
    List<Named> out = new ArrayList<>();
    List<String> all = BundledCases.names();
    for (String n : bundled) {
      if (n.equals(ALL)) {
        for (String b : all) {
          out.add(new Named(b, BundledCases.load(b)));
        }
      } else {
        String name = n.endsWith(".json") ? n : n + ".json";
        if (!all.contains(name)) {
          throw new IllegalArgumentException("--bundled: no bundled case '" + n + "'; bundled: "
              + String.join(", ", all) + " (give a case file as CASE.json, not after --bundled)");
        }
        out.add(new Named(name, BundledCases.load(name)));
      }
    }
    for (Path p : files) {
      out.add(new Named(p.getFileName().toString(), read(p)));
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(command + ": give a case file or --bundled[=NAME]");
    }
    return out;
  }

  /**
   * Reads a case file.
   *
   * @param p the file
   * @return the case
   * @throws IllegalArgumentException naming the file: missing, unreadable or invalid (with the
   *     JSON path of the offending field)
   */
  static CaseFile read(Path p) {
    if (!Files.exists(p)) {
      throw new IllegalArgumentException(p + ": no such file");
    }
    try {
      return CaseJson.readCase(p);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(p + ": no such file", e);
    } catch (IOException e) {
      throw new IllegalArgumentException(p + ": cannot read: " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(p + ": " + e.getMessage(), e);
    }
  }
}
