'use strict';
// The twin's stand-in for the WedSync application (docs/twin.md, "The application"): the seed's
// server settings, /api/health and /api/health/deep against the real dependencies, and failure on
// demand through a fault file.
const cluster = require('node:cluster');
const fs = require('node:fs/promises');
const http = require('node:http');

const { load, redactor, ConfigError } = require('./lib/config');
const { HttpError } = require('./lib/http-error');
const { version } = require('./package.json');

const log = (message) => console.log(`wedsync ${version} [${process.pid}] ${message}`);

function startPrimary(config) {
  log(`starting ${config.workers} worker(s) on ${config.host || '*'}:${config.port}`);
  let stopping = false;
  const listening = new Set();
  cluster.on('listening', (worker) => listening.add(worker.id));
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A worker that never listened (a port in use, say) would fail again: stop, so the unit fails.
    if (!listening.has(worker.id)) {
      log(`worker ${worker.process.pid} exited (${signal || code}) before listening: stopping`);
      process.exit(1);
    }
    log(`worker ${worker.process.pid} exited (${signal || code}): starting another`);
    cluster.fork();
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 5000).unref();
    cluster.on('exit', () => Object.keys(cluster.workers).length || process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (let i = 0; i < config.workers; i += 1) cluster.fork();
}

function send(request, response, status, body, headers = {}) {
  if (response.headersSent || response.writableEnded) return;
  const closing = !request.complete; // an unread body is not read: the connection ends with the answer
  response.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...(closing ? { connection: 'close' } : {}),
    ...headers,
  });
  response.end(request.method === 'HEAD' ? undefined : `${JSON.stringify(body)}\n`);
  if (closing) response.on('finish', () => request.socket.destroy());
}

// The body, refused with 413 once it is over the limit: by its Content-Length before any of it is
// read, or as it streams in.
function readBody(request, limit) {
  const declared = Number(request.headers['content-length'] || 0);
  const tooLarge = (what) => new HttpError(413, `request body ${what} MAX_REQUEST_SIZE (${limit} bytes)`);
  if (declared > limit) return Promise.reject(tooLarge(`of ${declared} bytes is over`));
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        request.pause();
        reject(tooLarge('goes over'));
      } else {
        chunks.push(chunk);
      }
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

// The twin makes a release fail by writing {"status": 500, "health_check": false} to the fault file
// (as its control API's app-responses): every request but the health checks is answered with that
// status, and the health checks too with "health_check": true. No file, no fault.
async function readFault(file, warned) {
  let fault;
  try {
    fault = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    fault = { error };
  }
  const valid = fault && Number.isInteger(fault.status) && fault.status >= 100 && fault.status <= 599;
  if (valid) return { status: fault.status, healthCheck: fault.health_check === true };
  const reason = fault && fault.error ? fault.error.message : 'it must hold {"status": <100..599>, "health_check": <bool>}';
  if (!warned.has(reason)) {
    warned.add(reason);
    log(`fault file ${file} ignored: ${reason}`);
  }
  return null;
}

const HEALTH = new Set(['/api/health', '/api/health/deep']);

function startWorker(config) {
  // Only the workers load the clients: the primary stays small.
  const { deepHealth } = require('./lib/checks');
  const { probeRoute } = require('./lib/probes');
  const { S3 } = require('./lib/aws');
  const s3 = new S3(config.s3);
  const redact = redactor(() => [...config.secrets, ...s3.secrets()]);
  const warned = new Set();

  async function route(request, response, signal, body) {
    const path = request.url.split('?')[0];
    const fault = await readFault(config.faultFile, warned);
    if (fault && (fault.healthCheck || !HEALTH.has(path))) {
      throw new HttpError(fault.status, `failure injected through ${config.faultFile}`);
    }
    const probe = await probeRoute(config, signal, request.method, path, body);
    if (probe) return signal.aborted ? undefined : send(request, response, probe[0], { ...probe[1], version, worker: process.pid });
    if (!HEALTH.has(path)) throw new HttpError(404, `no route ${path}`);
    if (!['GET', 'HEAD'].includes(request.method)) throw new HttpError(405, `${request.method} ${path}: use GET`, 'GET, HEAD');
    const base = { version, worker: process.pid };
    if (path === '/api/health') return send(request, response, 200, { status: 'ok', ...base });
    const { failing, checks } = await deepHealth(config, s3, signal, redact);
    if (signal.aborted) return undefined; // answered already, by the request timeout
    if (failing.length) log(`deep health failing: ${failing.map((name) => `${name}: ${checks[name].error}`).join('; ')}`);
    const status = failing.length ? 'error' : 'ok';
    return send(request, response, failing.length ? 503 : 200, { status, ...base, failing, checks });
  }

  async function handle(request, response) {
    const controller = new AbortController();
    // REQUEST_TIMEOUT: answered 503 and the work abandoned (the checks' connections are destroyed).
    const timer = setTimeout(() => {
      controller.abort(new Error(`the request timed out after ${config.requestTimeout} ms`));
      send(request, response, 503, { status: 'error', error: `request timed out after ${config.requestTimeout} ms` });
    }, config.requestTimeout);
    response.on('close', () => {
      clearTimeout(timer);
      controller.abort(new Error('the client went away'));
    });
    try {
      const body = await readBody(request, config.maxRequestSize);
      await route(request, response, controller.signal, body);
    } catch (error) {
      const known = error instanceof HttpError;
      const status = known ? error.status : 500;
      if (!known) log(`error: ${redact(error.stack || error)}`);
      const headers = error.allow ? { allow: error.allow } : {};
      send(request, response, status, { status: 'error', error: redact(error.message), version, worker: process.pid }, headers);
    }
  }

  const server = http.createServer((request, response) => {
    handle(request, response);
  });
  server.on('error', (error) => {
    log(`cannot listen on port ${config.port}: ${error.message}`);
    process.exit(1);
  });
  server.listen(config.port, config.host);
  process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 4000).unref();
  });
}

function main() {
  let config;
  try {
    config = load(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`wedsync: ${error.message}`);
    process.exit(1);
  }
  if (cluster.isPrimary) startPrimary(config);
  else startWorker(config);
}

main();
