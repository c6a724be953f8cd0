package io.github.sgdph.io;

import io.github.sgdph.data.ArrayDataset;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.zip.GZIPInputStream;

/**
 * Reads IDX files, the format of MNIST and Fashion-MNIST (LeCun et al.): a big-endian header
 * {@code 0x00 0x00 <type> <rank>}, {@code rank} 32-bit dimensions, then the values in row-major
 * order. Unsigned bytes (type {@code 0x08}) are supported, which is what both datasets use.
 * Files may be gzip-compressed ({@code .gz}, recognised by their content, not their name).
 *
 * <p>Every problem is an {@link DataFileException} naming the file and what is wrong: a magic
 * number that is not an IDX header, another value type, a header that promises more values than
 * the file holds (truncated) or fewer (trailing bytes), images and labels that do not pair up.
 */
public final class IdxFiles {
  private IdxFiles() {}

  /** The value type code of unsigned bytes. */
  static final int UBYTE = 0x08;

  /**
   * An IDX file's dimensions and unsigned-byte values.
   *
   * @param file where it was read from
   * @param dims the dimensions, outermost first
   * @param values {@code Π dims} bytes, row-major (read them with {@code & 0xff})
   */
  public record IdxArray(Path file, int[] dims, byte[] values) {
    /**
     * Copies nothing: the record owns the arrays it is given.
     *
     * @param file where it was read from
     * @param dims the dimensions
     * @param values the values
     * @throws NullPointerException if a component is null
     */
    public IdxArray {
      Objects.requireNonNull(file, "file");
      Objects.requireNonNull(dims, "dims");
      Objects.requireNonNull(values, "values");
    }

    /**
     * The number of items: the outermost dimension.
     *
     * @return {@code dims[0]}
     */
    public int count() {
      return dims[0];
    }
  }

  /**
   * Reads an unsigned-byte IDX file, plain or gzip-compressed.
   *
   * @param file the file
   * @return its dimensions and values
   * @throws DataFileException naming the file if it is missing, unreadable or not a valid
   *     unsigned-byte IDX file
   */
  public static IdxArray read(Path file) {
    Objects.requireNonNull(file, "file");
    byte[] data;
    try (InputStream raw = new BufferedInputStream(Files.newInputStream(file))) {
      raw.mark(2);
      int b0 = raw.read();
      int b1 = raw.read();
      raw.reset();
      InputStream in = b0 == 0x1f && b1 == 0x8b ? new GZIPInputStream(raw, 1 << 16) : raw;
      data = in.readAllBytes();
    } catch (NoSuchFileException e) {
      throw new DataFileException(file, "no such file");
    } catch (java.util.zip.ZipException | java.io.EOFException e) {
      throw new DataFileException(file, "corrupt gzip data (" + e.getMessage() + ")");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    return parse(file, data);
  }

  static IdxArray parse(Path file, byte[] data) {
    if (data.length < 4) {
      throw new DataFileException(file, "too short for an IDX header (" + data.length
          + " bytes)");
    }
    ByteBuffer b = ByteBuffer.wrap(data);
    int magic = b.getInt();
    if ((magic >>> 16) != 0) {
      throw new DataFileException(file, String.format(
          "wrong magic number 0x%08X: an IDX file starts with 0x0000 (e.g. 0x00000803 for"
              + " images, 0x00000801 for labels)", magic));
    }
    int type = (magic >>> 8) & 0xff;
    int rank = magic & 0xff;
    if (type != UBYTE) {
      throw new DataFileException(file, String.format(
          "value type 0x%02X is not supported (only unsigned bytes, 0x08)", type));
    }
    if (rank < 1) {
      throw new DataFileException(file, "rank 0: no dimensions");
    }
    if (data.length < 4 + 4L * rank) {
      throw new DataFileException(file, "truncated header: rank " + rank + " needs "
          + (4 + 4 * rank) + " bytes, the file has " + data.length);
    }
    int[] dims = new int[rank];
    long size = 1;
    for (int i = 0; i < rank; i++) {
      dims[i] = b.getInt();
      if (dims[i] < 0) {
        throw new DataFileException(file, "dimension " + i + " is negative (" + dims[i] + ")");
      }
      size *= dims[i];
    }
    long have = data.length - 4L - 4L * rank;
    if (have < size) {
      throw new DataFileException(file, "truncated: the header " + Arrays.toString(dims)
          + " promises " + size + " values but the file holds " + have);
    }
    if (have > size) {
      throw new DataFileException(file, (have - size) + " bytes after the "
          + size + " values the header " + Arrays.toString(dims) + " promises");
    }
    return new IdxArray(file, dims, Arrays.copyOfRange(data, 4 + 4 * rank, data.length));
  }

  /**
   * A classification dataset from an image file ({@code [n, rows, cols]}) and a label file
   * ({@code [n]}): inputs are the pixels times {@code scale} with sample shape {@code [rows ·
   * cols]}; labels are the class indices.
   *
   * @param images the image file
   * @param labels the label file
   * @param scale the factor applied to each byte 0..255 (e.g. {@code 1/255.0})
   * @param classes the number of classes; every label must be below it
   * @return the dataset, named after the image file
   * @throws DataFileException naming the file if one is invalid, the images are not
   *     three-dimensional, the labels not one-dimensional, the counts differ, or a label is out
   *     of range
   */
  public static ArrayDataset classification(Path images, Path labels, double scale, int classes) {
    IdxArray im = read(images);
    IdxArray lb = read(labels);
    if (im.dims().length != 3) {
      throw new DataFileException(images, "images must be [count, rows, cols] but are "
          + Arrays.toString(im.dims()));
    }
    if (lb.dims().length != 1) {
      throw new DataFileException(labels, "labels must be [count] but are "
          + Arrays.toString(lb.dims()));
    }
    if (im.count() != lb.count()) {
      throw new DataFileException(labels, lb.count() + " labels for the " + im.count()
          + " images of " + images);
    }
    if (im.count() == 0) {
      throw new DataFileException(images, "no images");
    }
    int px = im.dims()[1] * im.dims()[2];
    byte[] iv = im.values();
    double[] x = new double[iv.length];
    for (int i = 0; i < iv.length; i++) {
      x[i] = (iv[i] & 0xff) * scale;
    }
    byte[] lv = lb.values();
    double[] y = new double[lv.length];
    for (int i = 0; i < lv.length; i++) {
      int c = lv[i] & 0xff;
      if (c >= classes) {
        throw new DataFileException(labels, "label " + i + " is " + c + " but there are "
            + classes + " classes");
      }
      y[i] = c;
    }
    return new ArrayDataset(images.toString(), x, new int[] {px}, y, new int[0]);
  }
}
