'use strict';
// /api/e2e/probes: what the end-to-end check writes through the public path and reads back. A probe is
// a row in the primary database and a key in Redis; the check deletes it when it is done, and a key
// left behind by an interrupted check expires within the hour.
const { query, withRedis } = require('./checks');
const { HttpError } = require('./http-error');

const ID = /^[A-Za-z0-9-]{8,64}$/;
const MAX_VALUE = 256;
const CACHE_TTL_SECONDS = 3600;
const cacheKey = (id) => `wedsync:e2e-probe:${id}`;

// Created on first use; a concurrent first use that loses the race finds the table there.
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS e2e_probes (
  id text PRIMARY KEY, value text NOT NULL, written_at timestamptz NOT NULL DEFAULT now())`;
const ALREADY_CREATED = new Set(['23505', '42P07']);

function parseProbe(body) {
  let probe;
  try {
    probe = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not JSON: send {"id": "...", "value": "..."}');
  }
  if (!probe || !ID.test(String(probe.id))) throw new HttpError(400, 'id must be 8 to 64 letters, digits or dashes');
  if (typeof probe.value !== 'string' || probe.value.length > MAX_VALUE) {
    throw new HttpError(400, `value must be a string of at most ${MAX_VALUE} characters`);
  }
  return probe;
}

async function write(config, signal, body) {
  const probe = parseProbe(body);
  try {
    await query(config.primary, CREATE_TABLE, signal);
  } catch (error) {
    if (!ALREADY_CREATED.has(error.code)) throw error;
  }
  await query(config.primary, `INSERT INTO e2e_probes (id, value) VALUES ($1, $2)
    ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value, written_at = now()`, signal, [probe.id, probe.value]);
  await withRedis(config.redis, signal, (client) => client.set(cacheKey(probe.id), probe.value, 'EX', CACHE_TTL_SECONDS));
  return [201, { id: probe.id, written: ['database', 'cache'] }];
}

const missingTable = (error) => error.code === '42P01';

async function read(config, signal, id) {
  const row = await query(config.primary, 'SELECT value FROM e2e_probes WHERE id = $1', signal, [id]).catch((error) => {
    if (missingTable(error)) return {};
    throw error;
  });
  const cached = await withRedis(config.redis, signal, (client) => client.get(cacheKey(id)));
  const found = { database: row.value === undefined ? null : row.value, cache: cached };
  return [found.database === null && found.cache === null ? 404 : 200, { id, ...found }];
}

async function remove(config, signal, id) {
  const row = await query(config.primary, 'DELETE FROM e2e_probes WHERE id = $1', signal, [id]).catch((error) => {
    if (missingTable(error)) return { rowCount: 0 };
    throw error;
  });
  const keys = await withRedis(config.redis, signal, (client) => client.del(cacheKey(id)));
  return [200, { id, deleted: { database: row.rowCount, cache: keys } }];
}

// The answer to a probe request, [status, body], or null when the path is not a probe's.
async function probeRoute(config, signal, method, path, body) {
  if (path === '/api/e2e/probes') {
    if (method !== 'POST') throw new HttpError(405, `${method} ${path}: use POST`, 'POST');
    return write(config, signal, body);
  }
  const match = /^\/api\/e2e\/probes\/([^/]+)$/.exec(path);
  if (!match) return null;
  if (!ID.test(match[1])) throw new HttpError(400, 'id must be 8 to 64 letters, digits or dashes');
  if (method === 'GET') return read(config, signal, match[1]);
  if (method === 'DELETE') return remove(config, signal, match[1]);
  throw new HttpError(405, `${method} ${path}: use GET or DELETE`, 'GET, DELETE');
}

module.exports = { probeRoute };
