package io.github.sgdph.cli;

import io.github.sgdph.optim.NonFiniteException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code sgdph} command-line tool.
 *
 * <p>Exit codes (docs/CLI.md): {@value #EXIT_OK} success; {@value #EXIT_DEVIATION} a numerical
 * failure (a replay beyond its tolerance, backends that disagree, a non-finite step);
 * {@value #EXIT_USAGE} bad usage or bad input (a missing or unreadable file, invalid JSON or
 * case, an unknown option, backend or optimizer, a native library that does not load), with a
 * one-line message naming the thing and the problem; {@value #EXIT_INTERNAL} an unexpected
 * error (a bug). Stack traces only with {@code --verbose}.
 */
@Command(
    name = "sgdph",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Second-order optimizers and curvature tools for Java deep learning.",
    subcommands = {
      ReplayCommand.class, CompareCommand.class, AnalyzeCommand.class, TrainCommand.class,
      BackendsCommand.class, GenerateCasesCommand.class
    })
public final class Main implements Runnable {

  /** Exit code of success. */
  public static final int EXIT_OK = 0;

  /** Exit code of a numerical failure: a deviation beyond the tolerance, a disagreement. */
  public static final int EXIT_DEVIATION = 1;

  /** Exit code for bad usage or bad input. */
  public static final int EXIT_USAGE = 2;

  /** Exit code of an unexpected error (a bug; the message says to rerun with --verbose). */
  public static final int EXIT_INTERNAL = 3;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--verbose", scope = ScopeType.INHERIT,
      description = "Show the frameworks' log output (CUDA, absl, oneDNN, JavaCPP) and stack"
          + " traces of errors.")
  boolean verbose;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /**
   * Runs the tool and returns its exit code (for tests and embedding).
   *
   * <p>Errors are printed to {@code err} as one line, {@code error: <message>}; with {@code
   * --verbose} the stack trace follows. Both writers are flushed before returning. Unlike
   * {@link #main(String[])}, this method never calls {@link System#exit(int)}.
   *
   * @param out where the tool writes its normal output (help, reports)
   * @param err where the tool writes diagnostics and error messages
   * @param args the command-line arguments, without the program name
   * @return the exit code: {@link #EXIT_OK}, {@link #EXIT_DEVIATION}, {@link #EXIT_USAGE} or
   *     {@link #EXIT_INTERNAL}
   */
  public static int execute(PrintWriter out, PrintWriter err, String... args) {
    boolean verbose = verbose(args);
    Logging.configure(verbose);
    CommandLine cl = new CommandLine(new Main());
    cl.setOut(out);
    cl.setErr(err);
    cl.setParameterExceptionHandler((ex, a) -> {
      CommandLine c = ex.getCommandLine();
      String cmd = c.getCommandSpec().qualifiedName();
      String msg = ex.getMessage() == null ? ex.toString() : ex.getMessage();
      c.getErr().println("error: " + oneLine(msg) + " (" + cmd + " --help lists the options)");
      c.getErr().flush();
      return EXIT_USAGE;
    });
    cl.setExecutionExceptionHandler((ex, c, parseResult) -> {
      int code = exitCode(ex);
      c.getErr().println("error: " + message(ex, code));
      if (verbose) {
        ex.printStackTrace(c.getErr());
      }
      c.getErr().flush();
      return code;
    });
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  private static boolean verbose(String[] args) {
    for (String a : args) {
      if (a.equals("--")) {
        return false;
      }
      if (a.equals("--verbose")) {
        return true;
      }
    }
    return false;
  }

  /** The exit code of an exception thrown by a command. */
  static int exitCode(Throwable ex) {
    for (Throwable t = ex; t != null; t = t.getCause()) {
      if (t instanceof NonFiniteException) {
        return EXIT_DEVIATION;
      }
    }
    if (ex instanceof IllegalArgumentException || ex instanceof IllegalStateException
        || ex instanceof IOException || ex instanceof UncheckedIOException
        || ex instanceof LinkageError || ex instanceof UnsupportedOperationException) {
      return EXIT_USAGE;
    }
    return EXIT_INTERNAL;
  }

  private static String message(Throwable ex, int code) {
    if (code == EXIT_INTERNAL) {
      return "internal error: " + oneLine(ex.toString())
          + " (rerun with --verbose for the stack trace)";
    }
    Throwable t = ex instanceof UncheckedIOException && ex.getCause() != null ? ex.getCause() : ex;
    if (t instanceof NoSuchFileException f) {
      return f.getFile() + ": no such file";
    }
    if (t instanceof AccessDeniedException f) {
      return f.getFile() + ": permission denied";
    }
    if (t instanceof LinkageError) {
      return "a native library does not load: " + oneLine(String.valueOf(t.getMessage()));
    }
    String m = t.getMessage();
    return oneLine(m == null ? t.toString() : m);
  }

  /** The first line of a message (frameworks' messages can span many). */
  static String oneLine(String m) {
    String s = m.strip();
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl).strip() + " …";
  }

  /**
   * Entry point of the {@code sgdph} executable: runs {@link #execute} with UTF-8 writers on
   * {@link System#out} and {@link System#err}, then terminates the JVM with its exit code.
   *
   * @param args the command-line arguments
   */
  public static void main(String[] args) {
    // the launcher filters the native libraries' stderr lines (descriptor 2) and hands Java the
    // original stderr here, so that Java's messages and progress bar bypass the filter
    String direct = System.getProperty("sgdph.stderr");
    if (direct != null) {
      try {
        System.setErr(new java.io.PrintStream(new java.io.FileOutputStream(direct), true,
            java.nio.charset.StandardCharsets.UTF_8));
      } catch (IOException e) {
        // keep System.err
      }
    }
    Logging.configure(Arrays.asList(args).contains("--verbose"));
    PrintWriter out =
        new PrintWriter(
            new java.io.OutputStreamWriter(System.out, java.nio.charset.StandardCharsets.UTF_8),
            true);
    PrintWriter err =
        new PrintWriter(
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
