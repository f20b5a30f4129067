// Runs a Flink SQL script in a local mini-cluster, in streaming mode: the
// statements of the file named by the first argument, separated by lines
// holding only ";". The last one (an INSERT) runs until the process is
// stopped. Compiled and run by tests/peers/mirror_test.sh.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;

public final class FlinkMirror {
  public static void main(String[] args) throws Exception {
    String script = Files.readString(Path.of(args[0]), StandardCharsets.UTF_8);
    String[] statements = script.split("(?m)^;\\s*$");
    TableEnvironment env = TableEnvironment.create(EnvironmentSettings.inStreamingMode());
    env.getConfig().set("parallelism.default", "1");
    // Debezium input that may repeat a row's state (an initial snapshot's
    // or a backfill's row after a change the stream carried): Flink keeps
    // the last row per declared key instead of counting each (its
    // documentation of the debezium-json format, "Duplicate change events").
    env.getConfig().set("table.exec.source.cdc-events-duplicate", "true");
    TableResult last = null;
    for (String statement : statements) {
      if (statement.isBlank()) continue;
      last = env.executeSql(statement);
    }
    System.err.println("FlinkMirror: the job runs");
    if (last != null) last.await();
  }
}
