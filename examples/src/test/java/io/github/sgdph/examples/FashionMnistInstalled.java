package io.github.sgdph.examples;

import io.github.sgdph.io.FashionMnist;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Skips a test, saying so, when Fashion-MNIST is not installed. */
final class FashionMnistInstalled {
  private FashionMnistInstalled() {}

  static void assume() {
    Path d = FashionMnist.defaultDirectory();
    for (FashionMnist.Split s : FashionMnist.Split.values()) {
      for (String f : new String[] {s.imageFile(), s.labelFile()}) {
        Assumptions.assumeTrue(
            Files.isRegularFile(d.resolve(f))
                || Files.isRegularFile(d.resolve(f.substring(0, f.length() - 3))),
            "Fashion-MNIST is not installed at " + d
                + " (apt-get install dataset-fashion-mnist, or -D"
                + FashionMnist.PROPERTY + "=DIR)");
      }
    }
  }
}
