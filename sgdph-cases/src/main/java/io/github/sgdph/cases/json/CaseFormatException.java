package io.github.sgdph.cases.json;

/**
 * A case or trajectory file (CASES.md) that cannot be read or written: malformed JSON, a wrong
 * format tag, an unknown or missing field, a wrong JSON type, a value count that does not match
 * a shape, or a value that JSON cannot represent (NaN, infinity).
 *
 * <p>The message always starts with the JSON path of the offending field, followed by a colon:
 * {@code model.layers[2].kernel: ...}, {@code parameters[3] (1.bias): ...},
 * {@code data.batches[0].x: ...}; {@code (root)} stands for the document itself. For malformed
 * JSON the path is where the parser was, and {@link #line()} and {@link #column()} give the
 * position (1-based, columns in UTF-16 code units), which the message repeats as
 * {@code line:column}.
 */
public class CaseFormatException extends IllegalArgumentException {
  /** The path used for the document as a whole. */
  public static final String ROOT = "(root)";

  /** The 1-based line of a JSON syntax error, or -1. */
  private final int line;
  /** The 1-based column of a JSON syntax error, or -1. */
  private final int column;

  /**
   * A format error without a text position.
   *
   * @param message the message, starting with the JSON path of the offending field
   */
  public CaseFormatException(String message) {
    this(message, null);
  }

  /**
   * A format error without a text position, with its cause.
   *
   * @param message the message, starting with the JSON path of the offending field
   * @param cause the underlying exception, or null
   */
  public CaseFormatException(String message, Throwable cause) {
    super(message, cause);
    this.line = -1;
    this.column = -1;
  }

  /**
   * A syntax error at a position of the JSON text.
   *
   * @param path where the parser was ({@code ""} for the document)
   * @param line the 1-based line
   * @param column the 1-based column
   * @param detail what is wrong
   */
  public CaseFormatException(String path, int line, int column, String detail) {
    super(
        (path.isEmpty() ? ROOT : path) + ": malformed JSON at " + line + ":" + column
            + " (line:column): " + detail);
    this.line = line;
    this.column = column;
  }

  /** A message {@code "<path>: <detail>"}, with {@link #ROOT} for an empty path. */
  static CaseFormatException at(String path, String detail) {
    return new CaseFormatException((path.isEmpty() ? ROOT : path) + ": " + detail);
  }

  /**
   * The 1-based line of a JSON syntax error, or -1 for other errors.
   *
   * @return the line, or -1
   */
  public int line() {
    return line;
  }

  /**
   * The 1-based column of a JSON syntax error, or -1 for other errors.
   *
   * @return the column in UTF-16 code units, or -1
   */
  public int column() {
    return column;
  }
}
