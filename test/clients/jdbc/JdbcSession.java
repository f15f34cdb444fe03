// One scripted session through the Strata proxy with the PostgreSQL JDBC driver:
// SCRAM over TLS, catalog metadata, simple and extended queries with parameters, a
// prepared statement reused past prepareThreshold (server-side named statements), a
// transaction, COPY in and out, cancel of a long pg_sleep, a server error and recovery.
import java.io.StringReader;
import java.io.StringWriter;
import java.sql.*;
import java.util.Properties;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

public class JdbcSession {
  static void ok(String step) { System.out.println("ok " + step); }
  static void check(String step, boolean cond, Object got) {
    if (!cond) { System.out.println("FAIL " + step + ": got " + got); System.exit(1); }
    ok(step);
  }

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.setProperty("user", System.getenv("STRATA_TEST_USER"));
    props.setProperty("password", System.getenv("STRATA_TEST_PASSWORD"));
    props.setProperty("sslmode", "require");
    props.setProperty("prepareThreshold", "2");
    String url = "jdbc:postgresql://127.0.0.1:" + System.getenv("STRATA_TEST_PORT") + "/" + System.getenv("STRATA_TEST_DB");
    try (Connection c = DriverManager.getConnection(url, props)) {
      ok("connect scram tls");
      try (ResultSet rs = c.getMetaData().getTables(null, "pg_catalog", "pg_class", null)) {
        check("catalog metadata", rs.next(), "no pg_class");
      }
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE jdbc_items (id int primary key, name text)");
        s.execute("INSERT INTO jdbc_items SELECT g, 'n' || g FROM generate_series(1, 10) g; SELECT 1");
        ok("simple multi-statement");
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM jdbc_items")) {
          rs.next();
          check("simple query", rs.getInt(1) == 10, rs.getInt(1));
        }
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT name FROM jdbc_items WHERE id = ?")) {
        for (int i = 1; i <= 6; i++) {
          ps.setInt(1, i);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            check("prepared reuse " + i, rs.getString(1).equals("n" + i), rs.getString(1));
          }
        }
      }
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.executeUpdate("UPDATE jdbc_items SET name = 'changed' WHERE id = 1");
      }
      c.rollback();
      c.setAutoCommit(true);
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT name FROM jdbc_items WHERE id = 1")) {
        rs.next();
        check("transaction rolled back", rs.getString(1).equals("n1"), rs.getString(1));
      }
      CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
      long in = copy.copyIn("COPY jdbc_items FROM STDIN", new StringReader("300\tcopied\n301\tcopied\n"));
      check("copy in", in == 2, in);
      StringWriter out = new StringWriter();
      long outRows = copy.copyOut("COPY (SELECT * FROM jdbc_items WHERE id >= 300 ORDER BY id) TO STDOUT", out);
      check("copy out", outRows == 2 && out.toString().equals("300\tcopied\n301\tcopied\n"), out);
      try (Statement s = c.createStatement()) {
        long started = System.currentTimeMillis();
        Thread t = new Thread(() -> {
          try { Thread.sleep(500); s.cancel(); } catch (Exception e) { throw new RuntimeException(e); }
        });
        t.start();
        try {
          s.execute("SELECT pg_sleep(30)");
          check("cancel pg_sleep", false, "no error");
        } catch (SQLException e) {
          check("cancel pg_sleep", "57014".equals(e.getSQLState()) && System.currentTimeMillis() - started < 10000, e.getSQLState());
        }
        t.join();
      }
      try (Statement s = c.createStatement()) {
        try {
          s.executeQuery("SELECT * FROM no_such_table");
          check("server error", false, "no error");
        } catch (SQLException e) {
          check("server error", "42P01".equals(e.getSQLState()), e.getSQLState());
        }
        try (ResultSet rs = s.executeQuery("SELECT 1")) {
          rs.next();
          check("recovery", rs.getInt(1) == 1, rs.getInt(1));
        }
      }
    }
    System.out.println("--- done");
  }
}
