"""tests/deploy/compose_check.py's checks, by subject (its docstring says
what they check):

  cli               the command line: each file set's checks, then the rehearsals
  compose           docker-compose's resolved configuration, passwords, mounts
  image             the Dockerfile's targets, each service's configuration, packages
  kafka             the brokers' settings, by Kafka's own KafkaConfig
  monitoring        Prometheus' scrapes, the secure monitoring files
  tls, secure       the secure profile's certificates, clients and PostgreSQL
  rehearsal         compose's start played against the local stack, and its
  rehearsal_checks  checks once the services run; broker: the secure one's Kafka
  failures          the problems found

Free ports, psql, HTTP and metrics scraping are tests/pysupport's, shared
with bench/run.
"""
