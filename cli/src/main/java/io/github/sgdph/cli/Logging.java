package io.github.sgdph.cli;

/**
 * Quiet by default, everything with {@code --verbose}: sets the switches of slf4j-simple (the
 * tool's SLF4J binding), of JavaCPP (whose version-mismatch warning then goes through SLF4J) and
 * of DJL before any logger exists. The native libraries' own lines (TensorFlow's absl and oneDNN
 * messages) are written by C++ to the process's stderr before Java can intervene: the {@code
 * sgdph} launcher sets {@code TF_CPP_MIN_LOG_LEVEL} and filters absl's pre-initialisation lines
 * unless {@code --verbose} is given (docs/CLI.md).
 */
final class Logging {
  private static final String SIMPLE = "org.slf4j.simpleLogger.";

  private Logging() {}

  /**
   * Sets the logging switches (JavaCPP's logger only if the user has not chosen one).
   *
   * @param verbose whether to show the frameworks' information and warnings
   */
  static void configure(boolean verbose) {
    // JavaCPP's Loader warns through SLF4J instead of System.err ("Versions of ... do not match")
    setDefault("org.bytedeco.javacpp.logger", "slf4j");
    if (verbose) {
      set(SIMPLE + "defaultLogLevel", "info");
      set(SIMPLE + "log.ai.djl", "info");
      set(SIMPLE + "log.org.bytedeco", "info");
      set(SIMPLE + "log.org.nd4j", "info");
      set(SIMPLE + "log.org.deeplearning4j", "info");
      set(SIMPLE + "log.org.tensorflow", "info");
    } else {
      // the CUDA-missing warning of DJL's CudaUtils, JavaCPP's version check, ND4J's banner
      set(SIMPLE + "log.ai.djl", "error");
      set(SIMPLE + "log.org.bytedeco", "error");
      set(SIMPLE + "log.org.nd4j", "error");
      set(SIMPLE + "log.org.deeplearning4j", "error");
      set(SIMPLE + "log.org.tensorflow", "error");
    }
  }

  private static void set(String key, String value) {
    System.setProperty(key, value);
  }

  private static void setDefault(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }
}
