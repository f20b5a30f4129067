// What the dashboard's browser test (dashboard.test.mjs) and its modules
// share: the environment dashboard_test.sh sets, failing with a message,
// SQL through psql, the services the test starts and stops, and waiting on
// PostgreSQL's locks and on a condition.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`dashboard.test: ${name} is not set (run it through dashboard_test.sh)`);
  return v;
};
export const URL_ = env('DASHBOARD_URL');
export const SCHEMA = env('MILLRACE_PG_SCHEMA');
export const PG = env('MILLRACE_PG');
export const AGG_GROUP = env('MILLRACE_AGGREGATOR_GROUP');
export const SINK_GROUP = env('MILLRACE_SINK_GROUP');
export const DLQ = env('MILLRACE_DLQ_TOPIC');
export const LOGS = env('DASHBOARD_LOG_DIR');
export const DEADLINE_MS = 120_000;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const log = (...args) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);

export class Failure extends Error {}
export function check(ok, message) {
  if (!ok) throw new Failure(message);
}

// ---- SQL ------------------------------------------------------------------------

export function sql(query) {
  const r = spawnSync('psql', ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', PG, '-c', query], {
    encoding: 'utf8',
    env: { ...process.env, PGOPTIONS: `-c search_path=${SCHEMA}` },
  });
  if (r.status !== 0) throw new Error(`psql failed (${query}): ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('|'));
}


// ---- the services the test starts ------------------------------------------------------

// Starts `bin` with the test's environment and `extraEnv`, its output
// appended to `logFile` and its pid in `pidFile` (for the shell's cleanup);
// `exited` says how it ended.
export function spawnService(bin, logFile, pidFile, extraEnv = {}) {
  const out = fs.openSync(logFile, 'a');
  const proc = spawn(bin, [], { stdio: ['ignore', out, out], env: { ...process.env, ...extraEnv } });
  fs.closeSync(out);
  fs.writeFileSync(pidFile, String(proc.pid));
  proc.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return proc;
}

// SIGTERM, on which it must exit 0.
export async function stopService(proc, pidFile, what) {
  proc.kill('SIGTERM');
  const { code, signal } = await proc.exited;
  fs.writeFileSync(pidFile, '');
  check(code === 0, `${what} did not exit 0 on SIGTERM (code ${code}, signal ${signal})`);
}


export function run(args, what) {
  const r = spawnSync(env('DASHBOARD_MILLRACE_BIN'), args, { encoding: 'utf8' });
  check(r.status === 0, `${what} failed: ${r.stdout} ${r.stderr}`);
}

// A psql session of its own that runs `statements` in a transaction and
// holds what they lock until release(). Held once the session names itself
// `marker` (its last statement): pg_stat_activity says so.
export async function holdLocks(statements, what) {
  const marker = `dashboard-test-${process.pid}-${Date.now()}`;
  const psql = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', PG], {
    env: { ...process.env, PGOPTIONS: `-c search_path=${SCHEMA}` },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  psql.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => psql.once('exit', (code) => resolve(code)));
  psql.stdin.write(`BEGIN;\n${statements}\nSET application_name = '${marker}';\n`);
  const deadline = Date.now() + 60_000;
  while (sql(`SELECT count(*) FROM pg_stat_activity WHERE application_name = '${marker}'`)[0][0] !== '1') {
    const code = await Promise.race([exited, sleep(100)]);
    check(code === undefined, `psql holding ${what} exited (${code}): ${stderr}`);
    check(Date.now() < deadline, `psql did not hold ${what} within 60 s: ${stderr}`);
  }
  return async () => {
    psql.stdin.end('COMMIT;\n');
    const code = await exited;
    check(code === 0, `psql holding ${what} ended with ${code}: ${stderr}`);
  };
}

// Whether a process is gone: exited and reaped, or a zombie its parent (the
// shell script, which waits for node) has not reaped yet.
export function gone(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch {
    return true;
  }
}

// Polls until `problems()` finds none (deadline 120 s).
export async function waitUntil(what, problems) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const found = await problems();
    if (!found.length) return;
    check(Date.now() < deadline, `${what}: ${found.join('; ')}`);
    await sleep(300);
  }
}
