'use strict';
// /api/health/deep: each dependency asked for real, on a connection of its own, within a deadline of
// its own; a check abandoned (its deadline, or the request's) has its connection destroyed.
const { Client } = require('pg');
const Redis = require('ioredis');

const CHECK_TIMEOUT_MS = 2000;

function rejectOnAbort(signal) {
  return new Promise((_resolve, reject) => {
    const fail = () => reject(signal.reason instanceof Error ? signal.reason : new Error('abandoned'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

async function query(target, sql, signal, params = []) {
  const client = new Client({ ...target, connectionTimeoutMillis: 0 });
  client.on('error', () => {}); // a failure reaches the awaited call; this only keeps it from crashing the worker
  const kill = () => client.connection.stream.destroy();
  signal.addEventListener('abort', kill, { once: true });
  try {
    await client.connect();
    const { rows, rowCount } = await client.query(sql, params);
    await client.end();
    return rows[0] || { rowCount };
  } catch (error) {
    kill();
    throw error;
  } finally {
    signal.removeEventListener('abort', kill);
  }
}

const ROLE_SQL = 'SELECT 1 AS one, pg_is_in_recovery() AS in_recovery';

async function checkPrimary(config, signal) {
  if (config.primary.error) throw new Error(config.primary.error);
  const { host, port } = config.primary;
  const row = await query(config.primary, ROLE_SQL, signal);
  if (row.in_recovery) throw new Error(`${host}:${port} is in recovery: a read replica, not the primary`);
  return { endpoint: `${host}:${port}` };
}

async function checkReplica(config, signal) {
  const { readers } = config;
  if (readers.error) throw new Error(readers.error);
  const endpoints = readers.targets.map((t) => `${t.host}:${t.port}`);
  const rows = await Promise.all(readers.targets.map((target) => query(target, ROLE_SQL, signal)));
  if (readers.writerOnly) return { endpoints, note: 'no read replica: DB_READER_ENDPOINTS names the writer' };
  const primaries = endpoints.filter((_endpoint, i) => !rows[i].in_recovery);
  if (primaries.length) throw new Error(`not in recovery (a primary, not a read replica): ${primaries.join(', ')}`);
  return { endpoints };
}

// `work(client)` on a connection of its own, authenticated; the connection is destroyed on abort or failure.
async function withRedis(settings, signal, work) {
  if (settings.error) throw new Error(settings.error);
  const client = new Redis({
    host: settings.host,
    port: settings.port,
    tls: settings.tls ? {} : undefined, // verified against the system's CAs plus NODE_EXTRA_CA_CERTS
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let lastError = null;
  client.on('error', (error) => {
    lastError = error;
  });
  const kill = () => client.disconnect();
  signal.addEventListener('abort', kill, { once: true });
  try {
    await client.connect();
    if (settings.password) {
      await (settings.username ? client.auth(settings.username, settings.password) : client.auth(settings.password));
    }
    const result = await work(client);
    await client.quit();
    return result;
  } catch (error) {
    kill();
    // ioredis reports a refused or failed TLS connection as "Connection is closed"; the cause is the event before.
    throw lastError && /Connection is closed/.test(error.message) ? lastError : error;
  } finally {
    signal.removeEventListener('abort', kill);
  }
}

async function checkRedis(config, signal) {
  const settings = config.redis;
  const pong = await withRedis(settings, signal, (client) => client.ping());
  if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
  return { endpoint: `${settings.host}:${settings.port}`, tls: settings.tls, auth: Boolean(settings.password) };
}

async function checkS3(config, signal, s3) {
  if (!config.s3.bucket) throw new Error('not configured: S3_BUCKET is not set');
  return { bucket: config.s3.bucket, ...(await s3.headBucket(config.s3.bucket, signal)) };
}

const CHECKS = { primary: checkPrimary, replica: checkReplica, redis: checkRedis, s3: checkS3 };

async function runCheck(check, config, s3, requestSignal, redact) {
  const controller = new AbortController();
  const abandon = () => controller.abort(requestSignal.reason);
  if (requestSignal.aborted) abandon();
  else requestSignal.addEventListener('abort', abandon, { once: true });
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  const started = Date.now();
  try {
    const detail = await Promise.race([check(config, controller.signal, s3), rejectOnAbort(controller.signal)]);
    return { status: 'ok', ms: Date.now() - started, ...detail };
  } catch (error) {
    return { status: 'error', ms: Date.now() - started, error: redact(error.message || String(error)) };
  } finally {
    clearTimeout(timer);
    requestSignal.removeEventListener('abort', abandon);
  }
}

async function deepHealth(config, s3, signal, redact) {
  const names = Object.keys(CHECKS);
  const results = await Promise.all(names.map((name) => runCheck(CHECKS[name], config, s3, signal, redact)));
  const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]));
  const failing = names.filter((name) => checks[name].status !== 'ok');
  return { failing, checks };
}

module.exports = { deepHealth, query, withRedis, CHECK_TIMEOUT_MS };
