package io.github.sgdph.cases.json;

import io.github.sgdph.cases.CaseFile;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The example cases bundled with sgdph (the repository's {@code cases/} folder, packaged as
 * classpath resources under {@code io/github/sgdph/cases/} by the CLI and the conformance kit).
 * {@code INDEX} lists their file names, one per line.
 */
public final class BundledCases {
  /** The classpath folder of the bundled cases. */
  public static final String RESOURCE_DIR = "io/github/sgdph/cases/";

  private BundledCases() {}

  /**
   * The file names of the bundled cases, in index order.
   *
   * @return the names listed in {@code INDEX}, without blank lines and {@code #} comments
   * @throws IllegalStateException if no bundled cases are on the classpath
   */
  public static List<String> names() {
    try (InputStream in = open("INDEX")) {
      List<String> out = new ArrayList<>();
      BufferedReader r = new BufferedReader(new InputStreamReader(in, strictUtf8()));
      for (String line; (line = r.readLine()) != null; ) {
        line = line.strip();
        if (!line.isEmpty() && !line.startsWith("#")) {
          out.add(line);
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Reads the bundled case {@code name} (e.g. {@code mlp-tanh-sgd.json}).
   *
   * @param name the file name of a bundled case, as listed by {@link #names()}
   * @return the parsed and validated case
   * @throws IllegalStateException if no bundled case of that name is on the classpath
   * @throws IllegalArgumentException prefixed with {@code name} if the case file is invalid
   * @throws java.io.UncheckedIOException if the resource cannot be read
   */
  public static CaseFile load(String name) {
    try (InputStream in = open(name)) {
      return CaseJson.readCase(new InputStreamReader(in, strictUtf8()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
    }
  }

  private static java.nio.charset.CharsetDecoder strictUtf8() {
    return StandardCharsets.UTF_8
        .newDecoder()
        .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
        .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
  }

  private static InputStream open(String name) {
    ClassLoader cl = Thread.currentThread().getContextClassLoader();
    if (cl == null) {
      cl = BundledCases.class.getClassLoader();
    }
    InputStream in = cl.getResourceAsStream(RESOURCE_DIR + name);
    if (in == null) {
      throw new IllegalStateException(
          "no bundled case '" + name + "' on the classpath (" + RESOURCE_DIR
              + "); add sgdph-cli or sgdph-conformance-tests to the classpath");
    }
    return in;
  }
}
