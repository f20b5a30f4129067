// Runs a Flink SQL script in a local mini-cluster, in streaming mode, for
// bench/run's declared views stage: the statements of the file named by the
// first argument, separated by lines holding only ";". `SET 'key' = 'value'`
// sets the table configuration; the INSERTs run together as one job (one
// statement set, so the source is read once), and the program exits when
// that job ends (its Kafka source is bounded).

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableEnvironment;

public final class FlinkViews {
  private static final Pattern SET = Pattern.compile("(?s)\\s*SET\\s+'([^']+)'\\s*=\\s*'([^']*)'\\s*");

  public static void main(String[] args) throws Exception {
    String script = Files.readString(Path.of(args[0]), StandardCharsets.UTF_8);
    TableEnvironment env = TableEnvironment.create(EnvironmentSettings.inStreamingMode());
    env.getConfig().set("parallelism.default", "1");
    StatementSet inserts = env.createStatementSet();
    for (String statement : script.split("(?m)^;\\s*$")) {
      if (statement.isBlank()) continue;
      Matcher set = SET.matcher(statement);
      if (set.matches()) {
        env.getConfig().set(set.group(1), set.group(2));
      } else if (statement.strip().toUpperCase().startsWith("INSERT")) {
        inserts.addInsertSql(statement);
      } else {
        env.executeSql(statement);
      }
    }
    inserts.execute().await();
    System.exit(0);
  }
}
