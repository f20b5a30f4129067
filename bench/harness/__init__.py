"""bench/run's harness, by job (bench/README.md says what it measures):

  cli            the command line, and a run of the selected stages
  common         paths, running commands (kept for the report), waiting, figures
  stack          the stack on free ports, the services started on it
  cpu            CPU per component, steal, the wake probe
  wrk, nginx     the HTTP load generator and the HTTP reference
  redis_client   the cache stages' Redis client
  stages/        the stages, one module per kind
  report/        the markdown report (docs/benchmarks.md's page)
  docs           docs/benchmarks.md's hand-written section, and its update

The ports, psql, HTTP and metrics helpers it shares with the compose check
are tests/pysupport's.
"""
