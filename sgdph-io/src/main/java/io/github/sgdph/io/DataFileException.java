package io.github.sgdph.io;

import java.nio.file.Path;

/**
 * A dataset or checkpoint file that is missing or not what its format says: the message names
 * the file and the problem.
 */
public final class DataFileException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;

  /**
   * An error about a file.
   *
   * @param file the file
   * @param problem what is wrong with it
   */
  public DataFileException(Path file, String problem) {
    super(file + ": " + problem);
    this.file = file;
  }

  /**
   * The file the error is about.
   *
   * @return the path as given
   */
  public Path file() {
    return file;
  }
}
