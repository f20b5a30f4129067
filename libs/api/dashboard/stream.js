// The dashboard's connection: GET /v1/stream as an EventSource, opened again
// when it fails or falls silent, and the sign-in form when the API's reads
// need a token. Imported by app.js, which says what each event does.
import { $ } from './dom.js';

const STREAM_URL = '/v1/stream';
const SESSION_URL = '/v1/session';
// Answered without the database: whether this browser may read, and the
// views served (the declared kinds' panels).
export const ACCESS_URL = '/v1/views';
const MAX_RETRY_MS = 5000;
// health comes every 2 s: a stream silent for this long is dead even if the
// socket says otherwise, and is opened again.
const SILENCE_MS = 20000;

const STATUS_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  // The page never gives up (so never says "Disconnected"): it retries
  // with backoff up to MAX_RETRY_MS for as long as it is open.
  reconnecting: 'Reconnecting…',
  // The API's reads need its read token (MILLRACE_API_READ_TOKEN).
  signin: 'Sign in to see the figures',
};
let source = null;
let attempt = 0;
let retryTimer = null;
let silenceTimer = null;
// What the page does with each event: {snapshot, views, health}, from follow().
let on = null;

function setStatus(name) {
  const node = $('status');
  if (node.dataset.state === name) return;
  node.dataset.state = name;
  node.textContent = STATUS_TEXT[name];
}

function connect() {
  retryTimer = null;
  const es = new EventSource(STREAM_URL);
  source = es;
  // Events of a source given up on are ignored.
  const handle = (fn) => (event) => {
    if (es !== source) return;
    try {
      fn(event);
    } finally {
      attempt = 0;
      setStatus('live');
      watchSilence();
    }
  };
  es.addEventListener('snapshot', handle(on.snapshot));
  es.addEventListener('views', handle(on.views));
  es.addEventListener('health', handle(on.health));
  es.addEventListener('error', () => {
    if (es !== source) return;
    if (es.readyState === EventSource.CLOSED) {
      // A non-200 or non-event-stream answer: the browser gives up on this
      // source, the page does not. EventSource does not say which status
      // it was: a 401 means signing in first.
      source.close();
      source = null;
      clearTimeout(silenceTimer);
      mayRead().then((may) => (may ? reopen() : askToSignIn()));
    } else {
      // A dropped connection: the browser reconnects by itself, sending
      // Last-Event-ID.
      setStatus('reconnecting');
      watchSilence();
    }
  });
  watchSilence();
}

function reopen() {
  if (source) source.close();
  source = null;
  clearTimeout(silenceTimer);
  setStatus('reconnecting');
  const delay = Math.min(MAX_RETRY_MS, 500 * 2 ** attempt);
  attempt += 1;
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay);
}

// False only on a 401: any other failure is the connection's, and the
// page retries.
function mayRead() {
  return fetch(ACCESS_URL, { cache: 'no-store', credentials: 'same-origin' })
    .then((response) => response.status !== 401)
    .catch(() => true);
}

function askToSignIn() {
  setStatus('signin');
  const form = $('signin');
  form.hidden = false;
  $('signin-token').focus();
}

function signIn(event) {
  event.preventDefault();
  const form = $('signin');
  const input = $('signin-token');
  const error = $('signin-error');
  error.textContent = '';
  fetch(SESSION_URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: input.value }),
    credentials: 'same-origin',
  })
    .then((response) => {
      if (response.ok) {
        input.value = '';
        form.hidden = true;
        attempt = 0;
        setStatus('connecting');
        connect();
      } else if (response.status === 401) {
        error.textContent = 'That token was not accepted.';
        input.select();
      } else {
        error.textContent = `Sign-in failed (HTTP ${response.status}).`;
      }
    })
    .catch(() => {
      error.textContent = 'The server could not be reached.';
    });
}

function watchSilence() {
  clearTimeout(silenceTimer);
  silenceTimer = setTimeout(reopen, SILENCE_MS);
}

// Follows the stream, handing each event to `handlers` (its snapshot, views
// and health events), for as long as the page is open.
export function follow(handlers) {
  on = handlers;
  $('signin').addEventListener('submit', signIn);
  connect();
}
