// millrace-api, which the test starts (with dashboard_test.sh's environment),
// stops and starts again on the same port, and a stand-in that answers 503
// on that port while it is down.

import http from 'node:http';

import { URL_, check, env, sleep, spawnService, stopService } from './harness.mjs';

let api = null;

// `extraEnv`: settings on top of the test's environment (a read token).
export async function startApi(extraEnv = {}) {
  const [bin, logFile, pidFile] = ['BIN', 'LOG', 'PID_FILE'].map((v) => env(`DASHBOARD_API_${v}`));
  api = spawnService(bin, logFile, pidFile, extraEnv);
  const { exited } = api;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(new URL('/readyz', URL_)).then((r) => r.ok, () => false);
    if (ready) return;
    const gone = await Promise.race([exited, sleep(200)]);
    check(gone === undefined, `millrace-api exited at start (${JSON.stringify(gone)}); see its log`);
    check(Date.now() < deadline, 'millrace-api did not become ready in 60 s');
  }
}

export async function stopApi() {
  if (!api) return;
  const proc = api;
  api = null;
  await stopService(proc, env('DASHBOARD_API_PID_FILE'), 'millrace-api');
}

// Answers 503 on millrace-api's port for `ms`; returns how many times the
// stream was asked for.
export async function answer503For(ms) {
  let attempts = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/v1/stream') attempts += 1;
    res.writeHead(503, { 'Content-Type': 'application/problem+json', 'Retry-After': '1' });
    res.end('{"title":"Service Unavailable","status":503}');
  });
  const { hostname, port } = new URL(URL_);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), hostname, resolve);
  });
  await sleep(ms);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  return attempts;
}

// At the test's end whatever happened: millrace-api, if it runs, told to stop.
export function killApi() {
  if (api) api.kill('SIGTERM');
}
