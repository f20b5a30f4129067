-- The kinds of consumer group: a table instead of a CHECK that every new
-- consumer service widened (0003, 0005, 0009). `millrace migrate` adds the
-- kind of each consumer-group service of services/registry.json after the
-- migrations, so a new service needs no migration of its own; a group of a
-- kind this schema does not know is refused (foreign key) until a build
-- that knows it migrates.
CREATE TABLE consumer_group_kinds (
  kind text PRIMARY KEY
);
INSERT INTO consumer_group_kinds (kind)
  VALUES ('sink'), ('aggregator'), ('webhooks'), ('archiver');
INSERT INTO consumer_group_kinds (kind)
  SELECT DISTINCT kind FROM consumer_groups ON CONFLICT DO NOTHING;
ALTER TABLE consumer_groups DROP CONSTRAINT consumer_groups_kind_check;
ALTER TABLE consumer_groups ADD CONSTRAINT consumer_groups_kind_known
  FOREIGN KEY (kind) REFERENCES consumer_group_kinds (kind);
