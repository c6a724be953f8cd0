package io.github.sgdph.io;

import io.github.sgdph.data.ArrayDataset;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 60 000 training and 10 000 test images of
 * 28×28 grey pixels in 10 classes, read from its four IDX files ({@link IdxFiles}).
 *
 * <p>The directory is the one named by the system property {@value #PROPERTY}, else the
 * environment variable {@value #ENV}, else {@value #DEFAULT_DIR}, where Debian's and Ubuntu's
 * {@code dataset-fashion-mnist} package installs it ({@code apt-get install
 * dataset-fashion-mnist}). Pixels are scaled to {@code [0, 1]} (divided by 255, as
 * torchvision's {@code ToTensor}); inputs are flat {@code [784]} samples ({@link
 * ArrayDataset#reshaped} gives {@code [1, 28, 28]} images).
 */
public final class FashionMnist {
  private FashionMnist() {}

  /** System property naming the dataset directory. */
  public static final String PROPERTY = "sgdph.fashion-mnist";

  /** Environment variable naming the dataset directory (after {@link #PROPERTY}). */
  public static final String ENV = "SGDPH_FASHION_MNIST";

  /** The directory of Debian's {@code dataset-fashion-mnist} package. */
  public static final String DEFAULT_DIR = "/usr/share/datasets/fashion-mnist";

  /** The number of classes. */
  public static final int CLASSES = 10;

  /** The two halves of the dataset. */
  public enum Split {
    /** The 60 000 training images. */
    TRAIN("train"),
    /** The 10 000 test images. */
    TEST("t10k");

    private final String prefix;

    Split(String prefix) {
      this.prefix = prefix;
    }

    /**
     * The image file's name.
     *
     * @return e.g. {@code train-images-idx3-ubyte.gz}
     */
    public String imageFile() {
      return prefix + "-images-idx3-ubyte.gz";
    }

    /**
     * The label file's name.
     *
     * @return e.g. {@code train-labels-idx1-ubyte.gz}
     */
    public String labelFile() {
      return prefix + "-labels-idx1-ubyte.gz";
    }
  }

  /**
   * The directory the dataset is read from by default.
   *
   * @return {@value #PROPERTY}, else {@value #ENV}, else {@value #DEFAULT_DIR}
   */
  public static Path defaultDirectory() {
    String p = System.getProperty(PROPERTY);
    if (p == null || p.isBlank()) {
      p = System.getenv(ENV);
    }
    return Path.of(p == null || p.isBlank() ? DEFAULT_DIR : p);
  }

  /**
   * One split from the default directory.
   *
   * @param split training or test set
   * @return the samples, flat {@code [784]} pixels in {@code [0, 1]}, class labels 0..9
   * @throws DataFileException naming the file and how to install the dataset if it is
   *     missing, or what is wrong with it
   */
  public static ArrayDataset load(Split split) {
    return load(defaultDirectory(), split);
  }

  /**
   * One split from a directory holding the four {@code *-ubyte.gz} files (or the same names
   * without {@code .gz}).
   *
   * @param dir the directory
   * @param split training or test set
   * @return the samples, flat {@code [784]} pixels in {@code [0, 1]}, class labels 0..9
   * @throws DataFileException naming the file and how to install the dataset if it is
   *     missing, or what is wrong with it
   */
  public static ArrayDataset load(Path dir, Split split) {
    Path images = existing(dir, split.imageFile());
    Path labels = existing(dir, split.labelFile());
    ArrayDataset d = IdxFiles.classification(images, labels, 1 / 255.0, CLASSES);
    if (d.sampleShape()[0] != 28 * 28) {
      throw new DataFileException(images, "Fashion-MNIST images are 28×28, these have "
          + d.sampleShape()[0] + " pixels");
    }
    return d;
  }

  private static Path existing(Path dir, String name) {
    Path gz = dir.resolve(name);
    if (Files.isRegularFile(gz)) {
      return gz;
    }
    Path plain = dir.resolve(name.substring(0, name.length() - 3));
    if (Files.isRegularFile(plain)) {
      return plain;
    }
    throw new DataFileException(gz, "not found. Fashion-MNIST is read from " + dir
        + ": install it with `sudo apt-get install dataset-fashion-mnist` (Debian, Ubuntu),"
        + " or download the four files from https://github.com/zalandoresearch/fashion-mnist"
        + " into a directory and name it with -D" + PROPERTY + "=DIR or " + ENV + "=DIR");
  }
}
