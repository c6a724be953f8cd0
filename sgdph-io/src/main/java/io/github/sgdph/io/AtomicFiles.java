package io.github.sgdph.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes files atomically: the content goes to a temporary file beside the target, is forced to
 * the disk, and is renamed over the target, so a reader (or a crash) sees the old file or the
 * new one, never a part. The new file gets the usual permissions (the umask's), unlike {@link
 * Files#createTempFile}'s owner-only ones.
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  /** What writes the content. */
  @FunctionalInterface
  public interface Content {
    /**
     * Writes the file's content.
     *
     * @param out the stream (closed by the caller)
     * @throws IOException if writing fails
     */
    void writeTo(OutputStream out) throws IOException;
  }

  /**
   * Writes {@code file} atomically.
   *
   * @param file the target; its directory must exist
   * @param content what to write
   * @throws IOException if it cannot be written; the previous file is then unchanged and no
   *     temporary file is left
   */
  public static void write(Path file, Content content) throws IOException {
    Objects.requireNonNull(content, "content");
    Path abs = Objects.requireNonNull(file, "file").toAbsolutePath();
    Path tmp = abs.resolveSibling("." + abs.getFileName() + "."
        + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE)) {
        OutputStream out = Channels.newOutputStream(ch);
        content.writeTo(out);
        out.flush();
        ch.force(true);
      }
      try {
        Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * Writes {@code bytes} to {@code file} atomically.
   *
   * @param file the target; its directory must exist
   * @param bytes the content
   * @throws IOException if it cannot be written; the previous file is then unchanged
   */
  public static void write(Path file, byte[] bytes) throws IOException {
    Objects.requireNonNull(bytes, "bytes");
    write(file, out -> out.write(bytes));
  }
}
