package io.github.sgdph.io;

import io.github.sgdph.data.ArrayDataset;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Reads numeric CSV files (RFC 4180 without quoting: one sample per line, values separated by a
 * delimiter, an optional header line) as datasets: every column is an input feature except the
 * label columns. Blank lines are skipped; every other line must have as many values as the
 * first. A value that is not a finite number is an {@link DataFileException} naming the file,
 * line and column.
 */
public final class CsvDatasets {
  private CsvDatasets() {}

  /**
   * A classification dataset: one column holds integer class labels {@code 0 .. classes − 1}.
   *
   * @param file the file (UTF-8)
   * @param labelColumn the label's 0-based column; negative counts from the end ({@code −1}:
   *     the last)
   * @param header whether the first line names the columns (and is skipped)
   * @param delimiter the separator, e.g. {@code ','} or {@code ';'}
   * @return the dataset: inputs {@code [columns − 1]}, labels class indices
   * @throws DataFileException naming the file, line and column of the first bad value, or a
   *     label that is not an integer ≥ 0
   */
  public static ArrayDataset classification(
      Path file, int labelColumn, boolean header, char delimiter) {
    Table t = read(file, header, delimiter);
    int label = column(file, labelColumn, t.columns);
    double[] y = new double[t.rows.size()];
    for (int i = 0; i < y.length; i++) {
      double v = t.rows.get(i)[label];
      if (v != Math.rint(v) || v < 0) {
        throw new DataFileException(file, "line " + t.lines.get(i) + ", column " + (label + 1)
            + ": a class label must be an integer >= 0 but is " + v);
      }
      y[i] = v;
    }
    return new ArrayDataset(file.toString(), t.inputs(new int[] {label}),
        new int[] {t.columns - 1}, y, new int[0]);
  }

  /**
   * A regression dataset: some columns are targets (for MSE), the others inputs.
   *
   * @param file the file (UTF-8)
   * @param targetColumns the targets' 0-based columns (negative counts from the end), at least
   *     one, distinct
   * @param header whether the first line names the columns (and is skipped)
   * @param delimiter the separator
   * @return the dataset: inputs {@code [columns − targets]}, labels {@code [targets]}
   * @throws DataFileException naming the file, line and column of the first bad value
   * @throws IllegalArgumentException naming {@code targetColumns} if empty or repeated
   */
  public static ArrayDataset regression(
      Path file, int[] targetColumns, boolean header, char delimiter) {
    Objects.requireNonNull(targetColumns, "targetColumns");
    if (targetColumns.length == 0) {
      throw new IllegalArgumentException("targetColumns: at least one is needed");
    }
    Table t = read(file, header, delimiter);
    int[] cols = new int[targetColumns.length];
    for (int i = 0; i < cols.length; i++) {
      cols[i] = column(file, targetColumns[i], t.columns);
    }
    if (Arrays.stream(cols).distinct().count() != cols.length) {
      throw new IllegalArgumentException(
          "targetColumns: " + Arrays.toString(targetColumns) + " names a column twice");
    }
    double[] y = new double[t.rows.size() * cols.length];
    for (int i = 0; i < t.rows.size(); i++) {
      for (int j = 0; j < cols.length; j++) {
        y[i * cols.length + j] = t.rows.get(i)[cols[j]];
      }
    }
    return new ArrayDataset(file.toString(), t.inputs(cols),
        new int[] {t.columns - cols.length}, y, new int[] {cols.length});
  }

  private static int column(Path file, int c, int columns) {
    int r = c < 0 ? columns + c : c;
    if (r < 0 || r >= columns) {
      throw new DataFileException(file, "column " + c + " does not exist: the file has "
          + columns + " columns");
    }
    if (columns < 2) {
      throw new DataFileException(file, "one column: no inputs besides the labels");
    }
    return r;
  }

  private static final class Table {
    final List<double[]> rows = new ArrayList<>();
    final List<Integer> lines = new ArrayList<>();
    int columns = -1;

    double[] inputs(int[] exclude) {
      int f = columns - exclude.length;
      double[] x = new double[rows.size() * f];
      boolean[] skip = new boolean[columns];
      for (int e : exclude) {
        skip[e] = true;
      }
      int o = 0;
      for (double[] r : rows) {
        for (int c = 0; c < columns; c++) {
          if (!skip[c]) {
            x[o++] = r[c];
          }
        }
      }
      return x;
    }
  }

  private static Table read(Path file, boolean header, char delimiter) {
    Objects.requireNonNull(file, "file");
    Table t = new Table();
    String sep = java.util.regex.Pattern.quote(String.valueOf(delimiter));
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      int n = 0;
      boolean skipHeader = header;
      while ((line = in.readLine()) != null) {
        n++;
        if (line.isBlank()) {
          continue;
        }
        if (skipHeader) {
          skipHeader = false;
          continue;
        }
        String[] parts = line.split(sep, -1);
        if (t.columns < 0) {
          t.columns = parts.length;
        } else if (parts.length != t.columns) {
          throw new DataFileException(file, "line " + n + " has " + parts.length
              + " values but the first data line has " + t.columns);
        }
        double[] r = new double[parts.length];
        for (int c = 0; c < parts.length; c++) {
          String s = parts[c].strip();
          try {
            r[c] = Double.parseDouble(s);
          } catch (NumberFormatException e) {
            throw new DataFileException(file, "line " + n + ", column " + (c + 1) + ": '" + s
                + "' is not a number" + (n == 1 && !header ? " (a header line? pass header)" : ""));
          }
          if (!Double.isFinite(r[c])) {
            throw new DataFileException(file, "line " + n + ", column " + (c + 1) + ": " + s
                + " is not finite");
          }
        }
        t.rows.add(r);
        t.lines.add(n);
      }
    } catch (NoSuchFileException e) {
      throw new DataFileException(file, "no such file");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    if (t.rows.isEmpty()) {
      throw new DataFileException(file, "no data lines");
    }
    return t;
  }
}
