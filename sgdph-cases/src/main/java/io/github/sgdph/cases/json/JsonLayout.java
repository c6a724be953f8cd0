package io.github.sgdph.cases.json;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.PrettyPrinter;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The layout of case and trajectory files as a Jackson {@link PrettyPrinter}: a container is
 * either inline ({@code {"a": 1, "b": [1.0, 2.0]}}, members separated by {@code ", "}) or
 * indented by two spaces per level, one member or element per line. Which one is decided by
 * the tree walker of {@link JsonText#write}, which knows the contents and calls
 * {@link #nextContainerInline} before each container it starts; this printer only keeps a
 * stack of those decisions. One instance per generator (it is stateful).
 */
final class JsonLayout implements PrettyPrinter {
  private final Deque<Boolean> inline = new ArrayDeque<>();
  private boolean next;

  /** Sets whether the container started next goes on one line. */
  void nextContainerInline(boolean oneLine) {
    next = oneLine;
  }

  private void open(JsonGenerator g, char c) throws IOException {
    g.writeRaw(c);
    inline.push(next);
  }

  private void close(JsonGenerator g, char c, int entries) throws IOException {
    boolean oneLine = inline.pop();
    if (!oneLine && entries > 0) {
      newline(g);
    }
    g.writeRaw(c);
  }

  private void separator(JsonGenerator g) throws IOException {
    g.writeRaw(',');
    if (inline.peek()) {
      g.writeRaw(' ');
    } else {
      newline(g);
    }
  }

  private void first(JsonGenerator g) throws IOException {
    if (!inline.peek()) {
      newline(g);
    }
  }

  private void newline(JsonGenerator g) throws IOException {
    g.writeRaw('\n');
    for (int i = 0; i < inline.size(); i++) {
      g.writeRaw("  ");
    }
  }

  @Override
  public void writeRootValueSeparator(JsonGenerator g) {
    // one document per text
  }

  @Override
  public void writeStartObject(JsonGenerator g) throws IOException {
    open(g, '{');
  }

  @Override
  public void writeEndObject(JsonGenerator g, int nrOfEntries) throws IOException {
    close(g, '}', nrOfEntries);
  }

  @Override
  public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
    separator(g);
  }

  @Override
  public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
    g.writeRaw(": ");
  }

  @Override
  public void writeStartArray(JsonGenerator g) throws IOException {
    open(g, '[');
  }

  @Override
  public void writeEndArray(JsonGenerator g, int nrOfValues) throws IOException {
    close(g, ']', nrOfValues);
  }

  @Override
  public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
    separator(g);
  }

  @Override
  public void beforeArrayValues(JsonGenerator g) throws IOException {
    first(g);
  }

  @Override
  public void beforeObjectEntries(JsonGenerator g) throws IOException {
    first(g);
  }
}
