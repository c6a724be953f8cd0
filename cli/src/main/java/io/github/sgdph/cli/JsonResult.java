package io.github.sgdph.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.sgdph.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes a command's machine-readable result (docs/CLI.md) with Jackson: pretty-printed UTF-8,
 * replaced atomically. Non-finite numbers (a deviation of a field that is missing or of another
 * length) are written as the strings {@code "Infinity"} and {@code "NaN"}.
 */
final class JsonResult {
  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private JsonResult() {}

  /**
   * Writes {@code tree} (maps, lists, strings, numbers, booleans, nulls) to {@code file}.
   *
   * @param tree the result, with a {@code format} member first
   * @param file the target; its directory is created
   * @throws IOException if it cannot be written
   */
  static void write(Map<String, Object> tree, Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    if (dir != null) {
      Files.createDirectories(dir);
    }
    byte[] bytes = MAPPER.writeValueAsBytes(tree);
    AtomicFiles.write(file, bytes);
  }

  /** A number for JSON: finite as it is, else its name ("Infinity", "NaN"). */
  static Object number(double v) {
    return Double.isFinite(v) ? (Object) v : (Object) Double.toString(v);
  }
}
