package io.github.sgdph.cli;

import io.github.sgdph.data.ArrayBatch;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST's training set (Xiao, Rasul, Vollgraf 2017), read from its IDX files for the
 * bundled cases at realistic size. Only {@code generate-cases} reads it: the images a case uses
 * are written into the case file, so replaying a case never needs the dataset.
 *
 * <p>The files are {@code train-images-idx3-ubyte.gz} and {@code train-labels-idx1-ubyte.gz} in
 * the directory named by the system property {@value #PROPERTY}, else the environment variable
 * {@value #ENV}, else {@value #DEFAULT_DIR} (where Debian's {@code dataset-fashion-mnist}
 * installs them). Their decompressed contents must have the SHA-256 below, measured on Debian's
 * {@code dataset-fashion-mnist} 0.0~git20200523.55506a9-1 (the decompressed contents, because a
 * gzip file's bytes depend on how it was compressed: Debian's differ from the upstream
 * downloads' published MD5).
 *
 * <p>A pixel {@code p} in 0..255 becomes {@code p / 256} (not {@code p / 255}): a multiple of
 * 2⁻⁸, exactly representable in float32 and printed with at most 8 decimals, so a float32
 * backend computes on exactly the case's inputs.
 */
final class FashionMnist {
  /** System property naming the dataset directory. */
  static final String PROPERTY = "sgdph.fashion-mnist";

  /** Environment variable naming the dataset directory (after {@link #PROPERTY}). */
  static final String ENV = "SGDPH_FASHION_MNIST";

  /** The directory of Debian's {@code dataset-fashion-mnist} package. */
  static final String DEFAULT_DIR = "/usr/share/datasets/fashion-mnist";

  static final String IMAGES = "train-images-idx3-ubyte.gz";
  static final String LABELS = "train-labels-idx1-ubyte.gz";
  static final String IMAGES_SHA256 =
      "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888";
  static final String LABELS_SHA256 =
      "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9";

  static final int ROWS = 28;
  static final int COLS = 28;
  static final int CLASSES = 10;
  private static final int TRAINING_SIZE = 60_000;

  private static volatile FashionMnist loaded;

  private final byte[] images;
  private final byte[] labels;

  private FashionMnist(byte[] images, byte[] labels) {
    this.images = images;
    this.labels = labels;
  }

  /** The training set, read once per process. */
  static FashionMnist trainingSet() {
    FashionMnist f = loaded;
    if (f == null) {
      synchronized (FashionMnist.class) {
        f = loaded;
        if (f == null) {
          loaded = f = read(directory());
        }
      }
    }
    return f;
  }

  static Path directory() {
    String p = System.getProperty(PROPERTY);
    if (p == null || p.isBlank()) {
      p = System.getenv(ENV);
    }
    return Path.of(p == null || p.isBlank() ? DEFAULT_DIR : p);
  }

  private static FashionMnist read(Path dir) {
    byte[] images = gunzip(dir.resolve(IMAGES), IMAGES_SHA256);
    byte[] labels = gunzip(dir.resolve(LABELS), LABELS_SHA256);
    header(images, dir.resolve(IMAGES), 2051, TRAINING_SIZE, ROWS, COLS);
    header(labels, dir.resolve(LABELS), 2049, TRAINING_SIZE);
    return new FashionMnist(images, labels);
  }

  private static byte[] gunzip(Path file, String sha256) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalStateException(
          "Fashion-MNIST: " + file + " not found. The bundled cases at realistic size use its"
              + " training images: install them (Debian/Ubuntu: apt-get install"
              + " dataset-fashion-mnist) or name their directory with -D" + PROPERTY + "=DIR or "
              + ENV + "=DIR");
    }
    byte[] data;
    try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
      ByteArrayOutputStream out = new ByteArrayOutputStream(48_000_000);
      in.transferTo(out);
      data = out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException("Fashion-MNIST: cannot read " + file, e);
    }
    String actual;
    try {
      actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    if (!actual.equals(sha256)) {
      throw new IllegalStateException(
          "Fashion-MNIST: " + file + " decompresses to SHA-256 " + actual + ", expected " + sha256
              + " (the published training set)");
    }
    return data;
  }

  private static void header(byte[] data, Path file, int magic, int... dims) {
    ByteBuffer b = ByteBuffer.wrap(data);
    int m = b.getInt();
    if (m != magic) {
      throw new IllegalStateException("Fashion-MNIST: " + file + " has magic " + m + ", not " + magic);
    }
    for (int d : dims) {
      int actual = b.getInt();
      if (actual != d) {
        throw new IllegalStateException("Fashion-MNIST: " + file + " has a dimension " + actual
            + " where " + d + " was expected");
      }
    }
  }

  /**
   * Training samples {@code first .. first + n − 1} as a batch.
   *
   * @param first the index of the first sample
   * @param n the number of samples
   * @param flat inputs {@code [n, 784]} (row-major pixels) if true, else {@code [n, 1, 28, 28]}
   * @return pixels {@code p / 256} and class labels 0..9
   */
  ArrayBatch batch(int first, int n, boolean flat) {
    int px = ROWS * COLS;
    double[] x = new double[n * px];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < px; j++) {
        x[i * px + j] = (images[16 + (first + i) * px + j] & 0xff) / 256.0;
      }
      y[i] = labels[8 + first + i] & 0xff;
    }
    int[] xShape = flat ? new int[] {n, px} : new int[] {n, 1, ROWS, COLS};
    return new ArrayBatch(x, xShape, y, new int[] {n});
  }
}
