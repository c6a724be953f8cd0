package io.github.sgdph.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code sgdph} command-line tool.
 *
 * <p>Exit codes: 0 success; 1 a replay deviated from its expected trajectory beyond the
 * tolerance; 2 bad usage or an invalid case file.
 */
@Command(
    name = "sgdph",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Second-order optimizers and curvature tools for Java deep learning.",
    subcommands = {
      ReplayCommand.class, GenerateCasesCommand.class, AnalyzeCommand.class, TrainCommand.class
    })
public final class Main implements Runnable {

  /** Exit code when a replay deviates beyond the tolerance. */
  public static final int EXIT_DEVIATION = 1;

  /** Exit code for bad usage or an invalid input file. */
  public static final int EXIT_USAGE = 2;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /**
   * Runs the tool and returns its exit code (for tests and embedding).
   *
   * <p>An {@link IllegalArgumentException} or {@link IllegalStateException} raised by a
   * subcommand is printed to {@code err} as {@code error: <message>} and mapped to {@link
   * #EXIT_USAGE}. Both writers are flushed before returning. Unlike {@link #main(String[])}, this
   * method never calls {@link System#exit(int)}.
   *
   * @param out where the tool writes its normal output (help, reports, JSON)
   * @param err where the tool writes diagnostics and error messages
   * @param args the command-line arguments, without the program name
   * @return the exit code: 0 on success, {@link #EXIT_DEVIATION} when a replay deviates beyond
   *     its tolerance, {@link #EXIT_USAGE} for bad usage or an invalid input file
   */
  public static int execute(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
    CommandLine cl = new CommandLine(new Main());
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          if (ex instanceof IllegalArgumentException || ex instanceof IllegalStateException) {
            commandLine.getErr().println("error: " + ex.getMessage());
            commandLine.getErr().flush();
            return EXIT_USAGE;
          }
          throw ex;
        });
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /**
   * Entry point of the {@code sgdph} executable: runs {@link #execute} with UTF-8 writers on
   * {@link System#out} and {@link System#err}, then terminates the JVM with its exit code.
   *
   * @param args the command-line arguments
   */
  public static void main(String[] args) {
    java.io.PrintWriter out =
        new java.io.PrintWriter(
            new java.io.OutputStreamWriter(System.out, java.nio.charset.StandardCharsets.UTF_8),
            true);
    java.io.PrintWriter err =
        new java.io.PrintWriter(
            new java.io.OutputStreamWriter(System.err, java.nio.charset.StandardCharsets.UTF_8),
            true);
    System.exit(execute(out, err, args));
  }

  /** The version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"sgdph " + (v == null ? "(development build)" : v)};
    }
  }
}
