// Checks broker properties the way Kafka 3.9.1 itself does at start, without
// starting a broker: every key must be a broker setting (a misspelt one would
// be ignored with a warning), and KafkaConfig's own validation must pass
// (KRaft roles, listeners, controller quorum, replication settings).
// Run with the broker's classpath:
//   java -cp "$(cat $STATE/kafka.classpath)" KafkaConfigCheck.java a.properties [...]
import java.io.FileReader;
import java.util.Properties;
import java.util.Set;
import kafka.server.KafkaConfig;

public class KafkaConfigCheck {
  public static void main(String[] args) throws Exception {
    Set<String> known = KafkaConfig.configDef().names();
    int failures = 0;
    for (String path : args) {
      Properties props = new Properties();
      try (FileReader in = new FileReader(path)) {
        props.load(in);
      }
      for (String key : props.stringPropertyNames()) {
        if (!known.contains(key)) {
          System.out.println(path + ": " + key + " is not a Kafka broker setting");
          failures++;
        }
      }
      try {
        KafkaConfig.fromProps(props, false);
        System.out.println(path + ": valid (" + props.size() + " settings)");
      } catch (RuntimeException e) {
        System.out.println(path + ": " + e);
        failures++;
      }
    }
    System.exit(failures == 0 ? 0 : 1);
  }
}
