// The differential corpus through the PostgreSQL JDBC driver with autocommit off, as
// JDBC applications and BI tools read:
//
//   java -cp <classes>:/usr/share/java/postgresql.jar JdbcCorpus JDBC_URL USER < entries > outcomes.jsonl
//
// The password, if any, in STRATA_CORPUS_PASSWORD.
//
// stdin: one entry a line, `name<TAB>base64(UTF-8 SQL)`. Each entry is one
// Statement.execute of its whole text (the driver's defaults: extended protocol, BEGIN
// sent before the first statement of a transaction), then commit(), or rollback() after
// an error. One JSON line per entry: the last result set's columns (name, type OID) and
// rows (getString: PostgreSQL's text output), or its SQLSTATE.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.sql.*;
import java.util.Base64;
import java.util.Properties;
import org.postgresql.core.Field;
import org.postgresql.jdbc.PgResultSetMetaData;

public class JdbcCorpus {
  // The driver's public metadata names a column's type (and calls an int4 with a
  // nextval default "serial"); the comparison needs the OID PostgreSQL sent.
  static final Method FIELD;
  static {
    try {
      FIELD = PgResultSetMetaData.class.getDeclaredMethod("getField", int.class);
      FIELD.setAccessible(true);
    } catch (NoSuchMethodException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  static void quote(StringBuilder b, String s) {
    if (s == null) { b.append("null"); return; }
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        case '\r': b.append("\\r"); break;
        case '\t': b.append("\\t"); break;
        default:
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
      }
    }
    b.append('"');
  }

  static String run(Connection c, String name, String sql) throws Exception {
    StringBuilder b = new StringBuilder("{\"name\":");
    quote(b, name);
    try (Statement s = c.createStatement()) {
      boolean isResult = s.execute(sql);
      ResultSet last = null;
      while (true) {
        if (isResult) {
          if (last != null) last.close();
          last = s.getResultSet();
        } else if (s.getUpdateCount() == -1) {
          break;
        }
        isResult = s.getMoreResults(Statement.KEEP_CURRENT_RESULT);
      }
      b.append(",\"ok\":true,\"fields\":[");
      if (last != null) {
        ResultSetMetaData md = last.getMetaData();
        int n = md.getColumnCount();
        for (int i = 1; i <= n; i++) {
          Field f = (Field) FIELD.invoke(md, i);
          if (i > 1) b.append(',');
          b.append("{\"name\":");
          quote(b, md.getColumnLabel(i));
          b.append(",\"typeOid\":").append(f.getOID()).append('}');
        }
        b.append("],\"rows\":[");
        boolean first = true;
        while (last.next()) {
          if (!first) b.append(',');
          first = false;
          b.append('[');
          for (int i = 1; i <= n; i++) {
            if (i > 1) b.append(',');
            quote(b, last.getString(i));
          }
          b.append(']');
        }
        last.close();
      } else {
        b.append("],\"rows\":[");
      }
      b.append("]}");
      c.commit();
      return b.toString();
    } catch (SQLException e) {
      c.rollback();
      StringBuilder f = new StringBuilder("{\"name\":");
      quote(f, name);
      f.append(",\"ok\":false,\"code\":");
      quote(f, e.getSQLState() == null ? "XX000" : e.getSQLState());
      f.append(",\"message\":");
      quote(f, String.valueOf(e.getMessage()));
      return f.append('}').toString();
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: JdbcCorpus JDBC_URL USER < entries (password in STRATA_CORPUS_PASSWORD)");
      System.exit(2);
    }
    Properties props = new Properties();
    props.setProperty("user", args[1]);
    String password = System.getenv("STRATA_CORPUS_PASSWORD");
    if (password != null && !password.isEmpty()) props.setProperty("password", password);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    try (Connection c = DriverManager.getConnection(args[0], props)) {
      c.setAutoCommit(false);
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isEmpty()) continue;
        int tab = line.indexOf('\t');
        String sql = new String(Base64.getDecoder().decode(line.substring(tab + 1)), StandardCharsets.UTF_8);
        System.out.println(run(c, line.substring(0, tab), sql));
      }
    }
    System.out.flush();
  }
}
